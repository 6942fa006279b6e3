"""--partition-by call_date with the local engine: layout, manifest, freshness, readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support_analytics import schema as s
from support_analytics.cli import main
from support_analytics.errors import InputError
from support_analytics.etl import run_etl
from support_analytics.io import storage

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents.csv"
CALLS = FIXTURES / "spark" / "calls_edge_cases.json"


def etl(out: Path, output: str, partition_by: str | None, **kw: object):
    return run_etl(
        CALLS,
        AGENTS,
        out / output,
        out / "manifest.json",
        out / "rejects.jsonl",
        progress=False,
        partition_by=partition_by,
        **kw,
    )


def test_partitioned_output_is_hive_layout_with_the_same_rows(tmp_path: Path) -> None:
    etl(tmp_path / "flat", "calls.parquet", None)
    result = etl(tmp_path / "part", "calls", s.CALL_DATE)
    folder = tmp_path / "part" / "calls"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    dates = sorted({f.split("/")[0] for f in files})
    assert files and all(f.startswith("call_date=") and "/part-" in f for f in files)
    flat = storage.read_cleaned(tmp_path / "flat" / "calls.parquet").sort_by(s.CALL_ID)
    part = storage.read_cleaned(folder).sort_by(s.CALL_ID)
    assert part.equals(flat)
    assert dates == sorted({f"call_date={d}" for d in flat[s.CALL_DATE].to_pylist()})
    assert result.rows_out == flat.num_rows
    assert s.contract_mismatches(storage.read_cleaned_schema(folder)) == []


def test_manifest_fingerprints_every_partition_file(tmp_path: Path) -> None:
    etl(tmp_path, "calls", s.CALL_DATE)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    out = manifest["output"]
    assert out["kind"] == "directory" and manifest["options"]["partition_by"] == s.CALL_DATE
    names = [f["name"] for f in out["files"]]
    on_disk = sorted(
        p.relative_to(tmp_path / "calls").as_posix()
        for p in (tmp_path / "calls").rglob("*.parquet")
    )
    assert names == on_disk and all(len(f["sha256"]) == 64 for f in out["files"])
    assert out["file_size"] == sum(f["size"] for f in out["files"])


def test_rerun_is_up_to_date_until_a_partition_changes(tmp_path: Path) -> None:
    assert not etl(tmp_path, "calls", s.CALL_DATE).up_to_date
    assert etl(tmp_path, "calls", s.CALL_DATE).up_to_date
    extra = tmp_path / "calls" / "call_date=2000-01-01" / "part-9.parquet"
    extra.parent.mkdir()
    extra.write_bytes(b"stray")
    assert not etl(tmp_path, "calls", s.CALL_DATE).up_to_date
    assert not extra.exists()  # the folder was replaced whole, no stale partition left


def test_switching_layout_reruns_and_replaces_the_output(tmp_path: Path) -> None:
    etl(tmp_path, "calls", None)
    assert (tmp_path / "calls").is_file()
    assert not etl(tmp_path, "calls", s.CALL_DATE).up_to_date
    assert (tmp_path / "calls").is_dir()
    assert not etl(tmp_path, "calls", None).up_to_date
    assert (tmp_path / "calls").is_file()


def test_unknown_partition_column_is_one_clear_line(tmp_path: Path, capsys) -> None:
    with pytest.raises(InputError, match="--partition-by call_date"):
        etl(tmp_path, "calls", "region")
    argv = ["etl", "--calls", str(CALLS), "--partition-by", "region"]
    with pytest.raises(SystemExit):
        main(argv)
    assert "invalid choice" in capsys.readouterr().err
