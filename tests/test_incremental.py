"""Daily drops: a folder of call files ingested incrementally (etl/incremental*.py).

The promise: ingesting N files one run at a time gives exactly the rows, rejects and counts
of one run over all N; an update reads only new files and rewrites only the partitions that
receive rows; nothing that changed behind the manifest's back is mixed in silently; a kill
during an update leaves the previous complete set or the new one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from cli_runner import run_cli

from support_analytics import schema as s
from support_analytics.cli import main
from support_analytics.errors import InputError, IntegrityError
from support_analytics.etl import run_etl, verify_run
from support_analytics.etl.incremental_files import list_call_files
from support_analytics.etl.incremental_partitions import id_index_path
from support_analytics.io import storage
from support_analytics.simulate import simulate

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents.csv"


def call(call_id: str, day: str = "2026-01-05", hour: int = 10, agent: str = "A001") -> str:
    return json.dumps(
        {
            "call_id": call_id,
            "agent_id": agent,
            "customer_id": "CU1",
            "start_time": f"{day}T{hour:02d}:00:00Z",
            "end_time": f"{day}T{hour:02d}:05:00Z",
            "issue_type": "billing",
            "resolution": "resolved",
            "rating": 4,
        }
    )


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


class Out:
    """The output set of one incremental pipeline under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.output = root / "cleaned"
        self.manifest = root / "m.json"
        self.rejects = root / "r.jsonl"

    def etl(self, calls: Path | str, **kwargs: Any) -> Any:
        return run_etl(
            calls, AGENTS, self.output, self.manifest, self.rejects,
            partition_by=s.CALL_DATE, progress=False, **kwargs,
        )  # fmt: skip

    def argv(self, calls: Path, *extra: str) -> list[str]:
        return [
            "etl", "--quiet", "--calls", str(calls), "--agents", str(AGENTS),
            "--output", str(self.output), "--manifest", str(self.manifest),
            "--rejects", str(self.rejects), "--partition-by", s.CALL_DATE, *extra,
        ]  # fmt: skip

    def rows(self) -> list[dict[str, Any]]:
        return storage.read_cleaned(self.output).to_pylist()

    def reject_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.rejects.read_text().splitlines()]

    def read_manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest.read_text())


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four simulated days (5% dirty) plus a fifth file repeating ids of earlier days."""
    root = tmp_path_factory.mktemp("daily")
    simulate(
        root / "drops", calls=1200, days=4, dirty_rate=0.05, seed=3, progress=False, split="daily"
    )
    first = sorted((root / "drops").glob("calls-*.json"))[0].read_text().splitlines()
    repeats = [line for line in first if '"call_id":"C' in line][:3]
    write(root / "drops" / "calls-2026-01-09.json", *repeats, call("NEW-1", "2026-01-09"))
    (root / "drops" / "agents.csv").unlink()
    return root / "drops"


def test_a_folder_lists_call_files_in_name_order_and_skips_files_being_written(
    tmp_path: Path,
) -> None:
    for name in ("b.json", "a.jsonl", "c.ndjson.gz", ".hidden.json", "_SUCCESS", "d.json.tmp",
                 "e.json.part", "agents.csv"):  # fmt: skip
        (tmp_path / name).write_text("x\n")
    listing = list_call_files(tmp_path)
    assert [p.name for p in listing.files] == ["a.jsonl", "b.json", "c.ndjson.gz"]
    assert sorted(p.name for p in listing.skipped) == [
        ".hidden.json", "_SUCCESS", "d.json.tmp", "e.json.part",
    ]  # fmt: skip
    assert [p.name for p in listing.others] == ["agents.csv"]


def test_a_glob_takes_what_it_names_in_name_order(tmp_path: Path) -> None:
    for name in ("calls-2.json", "calls-1.json", "other.json", "calls-3.json.part"):
        (tmp_path / name).write_text("x\n")
    listing = list_call_files(str(tmp_path / "calls-*"))
    assert [p.name for p in listing.files] == ["calls-1.json", "calls-2.json"]
    assert [p.name for p in listing.skipped] == ["calls-3.json.part"]


def test_one_file_at_a_time_gives_exactly_one_run_over_all(daily: Path, tmp_path: Path) -> None:
    folder, step = tmp_path / "raw", Out(tmp_path / "step")
    folder.mkdir()
    for path in sorted(daily.iterdir()):
        shutil.copy2(path, folder / path.name)
        result = step.etl(folder)
        assert not result.up_to_date and result.rows_in > 0
    whole = Out(tmp_path / "whole")
    whole.etl(folder)
    assert step.rows() == whole.rows()
    assert step.rejects.read_bytes() == whole.rejects.read_bytes()
    a, b = step.read_manifest(), whole.read_manifest()
    assert a["rows"] == b["rows"] and a["warnings"] == b["warnings"]
    assert a["output"]["sha256"] == b["output"]["sha256"]
    rows = a["rows"]
    assert rows["input"] == rows["output"] + sum(rows["rejected"].values())
    # The same lines as one concatenated file: the same calls kept, the same rejects by reason.
    joined = tmp_path / "joined.json"
    joined.write_bytes(b"".join(p.read_bytes() for p in sorted(folder.iterdir())))
    single = run_etl(
        joined, AGENTS, tmp_path / "one.parquet", tmp_path / "one.json", tmp_path / "one.jsonl",
        progress=False,
    )  # fmt: skip
    assert single.rows_in == rows["input"] and single.rows_out == rows["output"]
    assert single.rejected == rows["rejected"] and rows["rejected"][s.REJECT_DUPLICATE] >= 3
    one = pq.read_table(tmp_path / "one.parquet").to_pylist()
    key = lambda r: r[s.CALL_ID]  # noqa: E731
    assert sorted(one, key=key) == sorted(step.rows(), key=key)
    verify_run(step.output, step.rejects, step.manifest)


def test_a_later_file_repeating_a_kept_call_id_is_rejected_naming_file_and_line(
    tmp_path: Path,
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"), call("C2"))
    out.etl(raw)
    day2 = write(raw / "day2.json", call("C3", "2026-01-06"), call("C1", "2026-01-06"),
                 call("C3", "2026-01-06"))  # fmt: skip
    result = out.etl(raw)
    assert (result.rows_in, result.rows_out) == (3, 1)
    assert result.rejected[s.REJECT_DUPLICATE] == 2
    assert [r[s.CALL_ID] for r in out.rows()] == ["C1", "C2", "C3"]
    assert [(r[s.REJECT_FILE], r[s.REJECT_LINE_NUMBER], r[s.REJECT_REASON])
            for r in out.reject_lines()] == [
        (str(day2), 2, s.REJECT_DUPLICATE), (str(day2), 3, s.REJECT_DUPLICATE),
    ]  # fmt: skip
    assert out.reject_lines()[0][s.REJECT_RAW] == call("C1", "2026-01-06")


def test_an_update_reads_only_new_files_and_rewrites_only_touched_partitions(
    tmp_path: Path,
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1", "2026-01-05"), call("C2", "2026-01-06"))
    out.etl(raw)
    untouched = out.output / "call_date=2026-01-05"
    before = {p.name: p.stat().st_ino for p in untouched.iterdir()}
    kept_file = next((out.output / "call_date=2026-01-06").iterdir())
    write(raw / "day2.json", call("C3", "2026-01-06"), call("C4", "2026-01-07"))
    result = out.etl(raw)
    assert result.rows_in == 2  # day1 was not read again
    assert {p.name: p.stat().st_ino for p in untouched.iterdir()} == before
    touched = sorted(p.name for p in (out.output / "call_date=2026-01-06").iterdir())
    assert touched == [kept_file.name, "part-000001-0.parquet"]
    entries = out.read_manifest()["inputs"]["files"]
    assert [e["partitions"] for e in entries] == [
        ["call_date=2026-01-05", "call_date=2026-01-06"],
        ["call_date=2026-01-06", "call_date=2026-01-07"],
    ]
    assert entries[1]["rows"]["input"] == 2 and entries[1]["file_size"] > 0
    assert entries[1]["sha256"] and entries[1]["mtime_ns"]
    assert sorted(p.name for p in id_index_path(out.output).iterdir()) == [
        "ids-000000.parquet", "ids-000001.parquet",
    ]  # fmt: skip
    again = out.etl(raw)
    assert again.up_to_date and "0 new file(s)" in again.summary()
    verify_run(out.output, out.rejects, out.manifest)


def test_an_update_appends_its_rejects_in_place_and_a_changed_rejects_file_stops_it(
    tmp_path: Path,
) -> None:
    # Copying the whole rejects file on every update made its cost grow with the history.
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"), "not json")
    out.etl(raw)
    inode, head = out.rejects.stat().st_ino, out.rejects.read_bytes()
    write(raw / "day2.json", call("C2"), "{}")
    out.etl(raw)
    assert out.rejects.stat().st_ino == inode and out.rejects.read_bytes().startswith(head)
    assert [r[s.REJECT_REASON] for r in out.reject_lines()] == [
        s.REJECT_MALFORMED, s.REJECT_MISSING_CALL_ID,
    ]  # fmt: skip
    verify_run(out.output, out.rejects, out.manifest)
    with out.rejects.open("ab") as fh:
        fh.write(b'{"not": "from the etl"}\n')
    write(raw / "day3.json", call("C3"))
    with pytest.raises(InputError, match=r"r\.jsonl: differs from the manifest.*--rebuild"):
        out.etl(raw)


def test_the_run_says_how_many_files_it_skipped(tmp_path: Path, capsys: Any) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"))
    write(raw / "day2.json.part", call("C2"))
    write(raw / ".day3.json", call("C3"))
    assert main(out.argv(raw)) == 0
    printed = capsys.readouterr().out
    assert "1 rows in, 1 kept" in printed
    assert "2 skipped as hidden or still being written" in printed


def test_an_update_says_how_many_ingested_files_it_did_not_read_again(
    tmp_path: Path, capsys: Any
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"))
    write(raw / "day2.json", call("C2", "2026-01-06"))
    assert main(out.argv(raw)) == 0
    write(raw / "day3.json", call("C3", "2026-01-07"))
    capsys.readouterr()
    assert main(out.argv(raw)) == 0
    assert "1 new file(s) read, 2 already ingested" in capsys.readouterr().out
    assert main(out.argv(raw)) == 0
    assert "0 new file(s) read, 3 already ingested" in capsys.readouterr().out


def test_an_update_takes_the_layout_from_the_manifest(tmp_path: Path, capsys: Any) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"))
    assert main(out.argv(raw)) == 0
    write(raw / "day2.json", call("C2", "2026-01-06"))
    capsys.readouterr()
    argv = out.argv(raw)
    argv = argv[: argv.index("--partition-by")]  # the daily command, without the layout
    assert main(argv) == 0, capsys.readouterr().err
    assert "1 rows in, 1 kept" in capsys.readouterr().out
    assert sorted(p.parent.name for p in out.output.rglob("*.parquet")) == [
        "call_date=2026-01-05",
        "call_date=2026-01-06",
    ]


def test_an_update_of_a_single_file_output_is_refused_with_the_fix(tmp_path: Path) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"))
    run_etl(day1, AGENTS, out.output, out.manifest, out.rejects, progress=False)
    proc = run_cli(out.argv(raw), tmp_path / "logs")
    assert proc.returncode == 2
    assert "written from a single calls file" in proc.stderr and "--rebuild" in proc.stderr


def test_a_folder_needs_partition_by_call_date(tmp_path: Path) -> None:
    write(tmp_path / "raw" / "day1.json", call("C1"))
    with pytest.raises(InputError, match="--partition-by call_date"):
        run_etl(tmp_path / "raw", AGENTS, tmp_path / "c", tmp_path / "m.json",
                tmp_path / "r.jsonl", progress=False)  # fmt: skip


def test_a_changed_ingested_file_stops_the_run_naming_it_and_the_fix(
    tmp_path: Path, capsys: Any
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"))
    out.etl(raw)
    manifest_before = out.manifest.read_bytes()
    write(day1, call("C1"), call("C9"))
    write(raw / "day2.json", call("C2"))
    assert main(out.argv(raw)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(day1.resolve()) in err and "changed since it was ingested" in err
    assert "--rebuild" in err and "--force" in err
    assert out.manifest.read_bytes() == manifest_before
    assert main(out.argv(raw, "--rebuild")) == 0
    assert [r[s.CALL_ID] for r in out.rows()] == ["C1", "C9", "C2"]
    assert out.read_manifest()["rows"]["input"] == 3


def test_a_late_file_that_sorts_before_ingested_ones_is_taken_after_them_with_a_warning(
    tmp_path: Path, capsys: Any
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day2.json", call("C1"))
    out.etl(raw)
    write(raw / "day1.json", call("C1"), call("C2"))
    result = out.etl(raw)
    assert (result.rows_out, result.rejected[s.REJECT_DUPLICATE]) == (1, 1)
    assert "day1.json sorts before files already ingested" in capsys.readouterr().err


def test_a_touched_but_identical_file_is_not_a_change(tmp_path: Path) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"))
    out.etl(raw)
    os.utime(day1, ns=(1, 1))
    assert out.etl(raw).up_to_date


def test_a_vanished_ingested_file_stops_the_run(tmp_path: Path) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"))
    write(raw / "day2.json", call("C2"))
    out.etl(raw)
    day1.unlink()
    with pytest.raises(InputError, match=r"day1\.json: was ingested .* disappeared.*--rebuild"):
        out.etl(raw)
    result = out.etl(raw, rebuild=True)
    assert [r[s.CALL_ID] for r in out.rows()] == ["C2"] and result.rows_in == 1


def test_the_same_content_under_a_second_name_is_skipped_with_a_warning(
    tmp_path: Path, capsys: Any
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"))
    out.etl(raw)
    shutil.copy(day1, raw / "day1-copy.json")
    write(raw / "day2.json", call("C2"))
    result = out.etl(raw)
    assert result.rows_in == 1 and "1 skipped as copies of ingested files" in result.summary()
    assert "day1-copy.json has the same content (sha256) as" in capsys.readouterr().err
    assert [r[s.CALL_ID] for r in out.rows()] == ["C1", "C2"]
    assert out.reject_lines() == []


def test_changed_agents_stop_the_run(tmp_path: Path) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"))
    agents = tmp_path / "agents.csv"
    shutil.copy(AGENTS, agents)
    run_etl(raw, agents, out.output, out.manifest, out.rejects, partition_by=s.CALL_DATE,
            progress=False)  # fmt: skip
    with agents.open("a") as fh:
        fh.write("A999,New Agent,North\n")
    write(raw / "day2.json", call("C2"))
    with pytest.raises(InputError, match="agents.csv: changed since the last run.*--rebuild"):
        run_etl(raw, agents, out.output, out.manifest, out.rejects, partition_by=s.CALL_DATE,
                progress=False)  # fmt: skip


def test_an_output_changed_behind_the_manifest_stops_the_run(tmp_path: Path) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1", "2026-01-05"), call("C2", "2026-01-06"))
    out.etl(raw)
    shutil.rmtree(out.output / "call_date=2026-01-05")
    write(raw / "day2.json", call("C3"))
    with pytest.raises(InputError, match="partition files differ from the manifest.*--rebuild"):
        out.etl(raw)


def test_verify_names_rebuild_as_the_fix_for_a_tampered_folder_output(tmp_path: Path) -> None:
    # --force on a folder reprocesses changed input files; it does not rewrite a tampered
    # partition, so verify must not suggest it there.
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"))
    out.etl(raw)
    part = next(out.output.rglob("*.parquet"))
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"changed since the ETL wrote it.*etl --rebuild"):
        verify_run(out.output, out.rejects, out.manifest)


def test_an_output_written_from_one_file_is_not_added_to(tmp_path: Path) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"))
    out.etl(day1)
    with pytest.raises(InputError, match="single calls file.*--rebuild"):
        out.etl(raw)


def test_a_file_with_no_calls_is_refused_by_name(tmp_path: Path) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"))
    (raw / "day2.json").write_bytes(b"")
    with pytest.raises(InputError, match=r"day2\.json: calls file is empty"):
        out.etl(raw)
    assert not out.manifest.exists()


# --- --force: a changed or vanished file and the files after it, the rest kept -------------------
def ingest_one_at_a_time(daily: Path, folder: Path, out: Out) -> list[Path]:
    """The daily files copied into ``folder`` and ingested one run each (name order)."""
    folder.mkdir()
    copies = []
    for path in sorted(daily.iterdir()):
        copies.append(Path(shutil.copy2(path, folder / path.name)))
        out.etl(folder)
    return copies


def assert_same_as_a_rebuild(out: Out, folder: Path, tmp_path: Path) -> None:
    """``out`` holds exactly what --rebuild over ``folder`` gives: rows, rejects, counts."""
    rebuilt = Out(tmp_path / "rebuilt")
    rebuilt.etl(folder, rebuild=True)
    assert out.rows() == rebuilt.rows()
    assert out.rejects.read_bytes() == rebuilt.rejects.read_bytes()
    a, b = out.read_manifest(), rebuilt.read_manifest()
    assert a["rows"] == b["rows"] and a["warnings"] == b["warnings"]
    assert [e["path"] for e in a["inputs"]["files"]] == [e["path"] for e in b["inputs"]["files"]]
    assert [(e["rows"], e["partitions"]) for e in a["inputs"]["files"]] == [
        (e["rows"], e["partitions"]) for e in b["inputs"]["files"]
    ]
    ids = sorted(id_index_path(out.output).glob("ids-*.parquet"))
    assert len(ids) == len(a["inputs"]["files"])
    assert sum(pq.read_metadata(p).num_rows for p in ids) == a["rows"]["output"]
    assert sorted(p.name for p in out.output.iterdir()) == sorted(
        p.name for p in rebuilt.output.iterdir()
    )
    verify_run(out.output, out.rejects, out.manifest)


def test_force_reprocesses_a_changed_file_and_those_after_it_like_a_rebuild(
    daily: Path, tmp_path: Path
) -> None:
    out, folder = Out(tmp_path / "out"), tmp_path / "raw"
    files = ingest_one_at_a_time(daily, folder, out)
    first_partition = out.output / out.read_manifest()["inputs"]["files"][0]["partitions"][0]
    before = {p.name: p.stat().st_ino for p in first_partition.iterdir()}
    # The second day loses its first call and gains an id the fifth file repeats, a repeat of
    # the first day's ids, a bad line and a call on a day of its own.
    lines = files[1].read_text().splitlines()
    taken = json.loads(files[4].read_text().splitlines()[-1])["call_id"]
    first_id = next(json.loads(x)["call_id"] for x in files[0].read_text().splitlines()
                    if x.startswith('{"call_id":"C'))  # fmt: skip
    write(files[1], *lines[1:], call(taken, "2026-01-06"), call(first_id, "2026-01-06"),
          "not json", call("ONLY-HERE", "2025-12-31"))  # fmt: skip
    with pytest.raises(InputError, match="changed since it was ingested.*--rebuild.*--force"):
        out.etl(folder)
    result = out.etl(folder, force=True)
    assert result.rows_in == sum(len(f.read_text().splitlines()) for f in files[1:])
    assert "4 file(s) read (4 again: --force from " in result.summary()
    assert_same_as_a_rebuild(out, folder, tmp_path)
    assert {p.name: p.stat().st_ino for p in first_partition.iterdir()} == before
    assert (out.output / "call_date=2025-12-31").is_dir()
    assert out.etl(folder).up_to_date


def test_force_drops_a_vanished_files_rows_and_rejects_and_redoes_the_files_after_it(
    daily: Path, tmp_path: Path
) -> None:
    out, folder = Out(tmp_path / "out"), tmp_path / "raw"
    files = ingest_one_at_a_time(daily, folder, out)
    write(folder / "calls-2026-01-10.json", call("LATE", "2026-01-10"))  # a new file too
    files[2].unlink()
    result = out.etl(folder, force=True)
    assert "(2 again: --force from " in result.summary() and "1 gone" in result.summary()
    assert_same_as_a_rebuild(out, folder, tmp_path)
    assert all(str(files[2]) != r[s.REJECT_FILE] for r in out.reject_lines())


def test_force_on_the_first_file_rebuilds_and_on_nothing_changed_is_a_plain_update(
    tmp_path: Path,
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"), call("C2", "2026-01-06"))
    out.etl(raw)
    write(raw / "day2.json", call("C3", "2026-01-07"))
    assert out.etl(raw, force=True).rows_in == 1  # nothing changed: only the new file read
    assert out.etl(raw, force=True).up_to_date
    write(day1, call("C2", "2026-01-08"), "not json")
    result = out.etl(raw, force=True)
    assert (result.rows_in, result.rows_out) == (3, 2)
    assert [r[s.CALL_ID] for r in out.rows()] == ["C3", "C2"]
    assert not (out.output / "call_date=2026-01-05").exists()
    assert_same_as_a_rebuild(out, raw, tmp_path)


def test_force_on_an_output_with_foreign_part_files_is_refused_with_the_fix(
    tmp_path: Path,
) -> None:
    out, raw = Out(tmp_path / "out"), tmp_path / "raw"
    write(raw / "day1.json", call("C1"))
    day2 = write(raw / "day2.json", call("C2"))
    out.etl(raw)
    part = out.output / "call_date=2026-01-05" / "part-000000-0.parquet"
    part.rename(part.with_name("other.parquet"))
    manifest = out.read_manifest()
    manifest["output"]["files"][0]["name"] = "call_date=2026-01-05/other.parquet"
    out.manifest.write_text(json.dumps(manifest))
    write(day2, call("C2"), call("C3"))
    with pytest.raises(InputError, match="other.parquet: is not a part file.*--rebuild"):
        out.etl(raw, force=True)


@pytest.mark.spark
def test_spark_one_file_at_a_time_gives_what_duckdb_gives_in_one_run(
    spark: Any, tmp_path: Path
) -> None:
    from support_analytics.etl.spark_engine import run_spark_etl

    raw, on_spark, on_duckdb = tmp_path / "raw", Out(tmp_path / "spark"), Out(tmp_path / "duck")
    days = [
        [call("C1", "2026-01-05"), "not json", call("C2", "2026-01-06"), call("C1")],
        [call("C3", "2026-01-06"), call("C2", "2026-01-07"), '{"call_id": "C9"}'],
        [call("C4", "2026-01-07"), call("C3", "2026-01-08"), call("C5", "2026-01-08")],
    ]
    for i, lines in enumerate(days, start=1):
        write(raw / f"day{i}.json", *lines)
        result = run_spark_etl(
            raw, AGENTS, on_spark.output, on_spark.manifest, on_spark.rejects,
            partition_by=s.CALL_DATE, spark=spark, progress=False,
        )  # fmt: skip
        assert result.rows_in == len(lines)  # only the new file was read
    on_duckdb.etl(raw)
    assert on_spark.rows() == on_duckdb.rows()
    assert on_spark.reject_lines() == on_duckdb.reject_lines()
    assert on_spark.read_manifest()["rows"] == on_duckdb.read_manifest()["rows"]
    assert on_spark.read_manifest()["rows"]["rejected"][s.REJECT_DUPLICATE] == 3
    # The DuckDB engine carries on from the manifest the Spark runs wrote, and back.
    write(raw / "day4.json", call("C5", "2026-01-09"), call("C6", "2026-01-09"))
    assert on_spark.etl(raw).rows_out == 1
    write(raw / "day5.json", call("C6", "2026-01-10"), call("C7", "2026-01-10"))
    again = run_spark_etl(
        raw, AGENTS, on_spark.output, on_spark.manifest, on_spark.rejects,
        partition_by=s.CALL_DATE, spark=spark, progress=False,
    )  # fmt: skip
    assert (again.rows_in, again.rows_out) == (2, 1)
    verify_run(on_spark.output, on_spark.rejects, on_spark.manifest)


@pytest.mark.spark
def test_spark_force_reprocesses_a_changed_file_like_a_rebuild(spark: Any, tmp_path: Path) -> None:
    from support_analytics.etl.spark_engine import run_spark_etl

    raw, out = tmp_path / "raw", Out(tmp_path / "out")
    write(raw / "day1.json", call("C1", "2026-01-05"), "not json")
    day2 = write(raw / "day2.json", call("C2", "2026-01-06"), call("C1", "2026-01-06"))
    write(raw / "day3.json", call("C3", "2026-01-07"), call("C4", "2026-01-06"))
    out.etl(raw)
    write(day2, call("C3", "2026-01-08"), '{"call_id": "C9"}')
    result = run_spark_etl(
        raw, AGENTS, out.output, out.manifest, out.rejects,
        partition_by=s.CALL_DATE, spark=spark, progress=False, force=True,
    )  # fmt: skip
    assert (result.rows_in, result.rows_out) == (4, 2)
    assert [r[s.CALL_ID] for r in out.rows()] == ["C1", "C4", "C3"]
    assert_same_as_a_rebuild(out, raw, tmp_path)


@pytest.fixture(scope="module")
def s3_root() -> Any:
    from conftest import serve_s3

    yield from serve_s3("support-analytics-daily")


@pytest.mark.s3
def test_an_s3_folder_one_object_at_a_time_gives_what_a_local_folder_gives(
    s3_root: str, daily: Path, tmp_path: Path
) -> None:
    remote, local = Out(tmp_path / "remote"), Out(tmp_path / "local")
    prefix = f"{s3_root}/raw_calls/"
    storage.upload(AGENTS, f"{prefix}agents.csv")  # not a call file: left alone
    for path in sorted(daily.iterdir()):
        storage.upload(path, prefix + path.name)
        result = remote.etl(prefix)
        assert result.rows_in == len(path.read_bytes().splitlines())  # only the new object
    storage.upload(daily / "calls-2026-01-09.json", f"{prefix}_calls-2026-01-10.json.part")
    assert remote.etl(prefix).up_to_date
    local.etl(daily)
    assert remote.rows() == local.rows()
    assert remote.read_manifest()["rows"] == local.read_manifest()["rows"]
    as_local = [
        {**r, s.REJECT_FILE: str(daily / r[s.REJECT_FILE].rsplit("/", 1)[-1])}
        for r in remote.reject_lines()
    ]
    assert as_local == local.reject_lines()
    entries = remote.read_manifest()["inputs"]["files"]
    assert entries[0]["path"].startswith(prefix) and entries[0]["etag"]
    # An object replaced behind the manifest's back stops the next run.
    storage.upload(daily / "calls-2026-01-09.json", entries[0]["path"])
    with pytest.raises(InputError, match="changed since it was ingested.*--rebuild"):
        remote.etl(prefix)


# --- a kill at every step of an update ---------------------------------------------------------
def complete_set(out: Out) -> tuple[str, ...] | None:
    """The files a complete, consistent set holds, or None for anything mixed."""
    try:
        manifest = out.read_manifest()
        verify_run(out.output, out.rejects, out.manifest, lock_wait=0)
    except Exception:  # noqa: BLE001 - any failure means the set is not complete
        return None
    rows = manifest["rows"]
    files = manifest["inputs"]["files"]
    ids = sorted(id_index_path(out.output).glob("ids-*.parquet"))
    parquet_rows = sum(pq.read_metadata(p).num_rows for p in out.output.rglob("*.parquet"))
    if (
        parquet_rows != rows["output"]
        or len(out.reject_lines()) != sum(rows["rejected"].values())
        or len(ids) != len(files)
        or sum(pq.read_metadata(p).num_rows for p in ids) != rows["output"]
    ):
        return None
    return tuple(Path(f["path"]).name for f in files)


@pytest.mark.slow
def test_sigkill_at_every_step_of_an_update_leaves_the_previous_or_the_new_set(
    tmp_path: Path,
) -> None:
    raw, logs = tmp_path / "raw", tmp_path / "logs"
    write(raw / "day1.json", call("C1", "2026-01-05"), call("C2", "2026-01-06"), "not json")
    before, after = ("day1.json",), ("day1.json", "day2.json")
    step, finished = 0, False
    while not finished:
        step += 1
        assert step < 40, "the update never finished"
        out = Out(tmp_path / f"out{step}")
        (raw / "day2.json").unlink(missing_ok=True)
        assert run_cli(out.argv(raw), logs).returncode == 0
        write(raw / "day2.json", call("C3", "2026-01-06"), call("C1", "2026-01-07"),
              call("C4", "2026-01-07"))  # fmt: skip
        killed = run_cli(out.argv(raw), logs, kill_at_step=step)
        finished = killed.returncode == 0
        if not finished:
            assert killed.returncode == -signal.SIGKILL
        verified = run_cli(
            ["verify", "--output", str(out.output), "--manifest", str(out.manifest),
             "--rejects", str(out.rejects)], logs,
        )  # fmt: skip
        assert verified.returncode == 0, f"step {step}: {verified.stderr}"
        assert complete_set(out) in (before, after), f"step {step}"
        rerun = run_cli(out.argv(raw), logs)
        assert rerun.returncode == 0, rerun.stderr
        assert complete_set(out) == after
        assert [r[s.CALL_ID] for r in out.rows()] == ["C1", "C2", "C3", "C4"]
        assert not list(out.root.glob(".cleaned.*.work"))
    assert step > 5  # the update really had several commit steps to cut
    print(f"update cut at each of its {step - 1} rename steps, all recovered")


@pytest.mark.slow
def test_sigkill_at_every_step_of_a_force_update_leaves_the_previous_or_the_new_set(
    tmp_path: Path,
) -> None:
    raw, logs = tmp_path / "raw", tmp_path / "logs"
    day2_lines = (call("C3", "2026-01-06"), call("C1", "2026-01-07"), call("C4", "2026-01-07"))
    step, finished = 0, False
    while not finished:
        step += 1
        assert step < 40, "the update never finished"
        out = Out(tmp_path / f"out{step}")
        write(raw / "day1.json", call("C1", "2026-01-05"), call("C2", "2026-01-06"), "bad")
        write(raw / "day2.json", *day2_lines)
        assert run_cli(out.argv(raw), logs).returncode == 0
        before = [r[s.CALL_ID] for r in out.rows()]
        write(raw / "day1.json", call("C2", "2026-01-08"), "bad", call("C5", "2026-01-05"))
        killed = run_cli(out.argv(raw, "--force"), logs, kill_at_step=step)
        finished = killed.returncode == 0
        if not finished:
            assert killed.returncode == -signal.SIGKILL
        verified = run_cli(
            ["verify", "--output", str(out.output), "--manifest", str(out.manifest),
             "--rejects", str(out.rejects)], logs,
        )  # fmt: skip
        assert verified.returncode == 0, f"step {step}: {verified.stderr}"
        assert complete_set(out) == ("day1.json", "day2.json"), f"step {step}"
        assert [r[s.CALL_ID] for r in out.rows()] in (before, ["C5", "C3", "C1", "C4", "C2"])
        rerun = run_cli(out.argv(raw, "--force"), logs)
        assert rerun.returncode == 0, rerun.stderr
        assert [r[s.CALL_ID] for r in out.rows()] == ["C5", "C3", "C1", "C4", "C2"]
        assert out.reject_lines()[0][s.REJECT_LINE_NUMBER] == 2
        assert not list(out.root.glob(".cleaned.*.work"))
    assert step > 5
    print(f"--force update cut at each of its {step - 1} rename steps, all recovered")


def test_a_manifest_of_another_output_is_not_taken_over(tmp_path: Path) -> None:
    # The quickstart's data/manifest.json describes data/cleaned_calls.parquet; a folder run to
    # another output with that same manifest must say so, not claim the other output's history.
    first, raw = Out(tmp_path / "first"), tmp_path / "raw"
    day1 = write(raw / "day1.json", call("C1"))
    run_etl(day1, AGENTS, first.output, first.manifest, first.rejects, progress=False)
    other = tmp_path / "daily" / "calls"
    with pytest.raises(InputError, match=r"m\.json: describes the output .*first.*not .*daily"):
        run_etl(raw, AGENTS, other, first.manifest, first.rejects, partition_by=s.CALL_DATE,
                progress=False)  # fmt: skip
    assert not other.exists()


class Cut(Exception):
    """The simulated crash at one rename of an update."""


@pytest.mark.spark
@pytest.mark.slow
def test_spark_update_cut_at_every_rename_leaves_the_previous_or_the_new_set(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process, an exception at the n-th os.replace (staging moves, commit renames, the
    # manifest) instead of the DuckDB test's SIGKILL: a JVM start per step would take minutes.
    # The work dir and its commit record survive an exception as they survive a kill.
    from support_analytics.etl.spark_engine import run_spark_etl

    def on_spark(out: Out) -> Any:
        return run_spark_etl(
            raw, AGENTS, out.output, out.manifest, out.rejects,
            partition_by=s.CALL_DATE, spark=spark, progress=False,
        )  # fmt: skip

    raw = tmp_path / "raw"
    write(raw / "day1.json", call("C1", "2026-01-05"), call("C2", "2026-01-06"), "not json")
    before, after = ("day1.json",), ("day1.json", "day2.json")
    real_replace = os.replace
    step, finished = 0, False
    while not finished:
        step += 1
        assert step < 40, "the update never finished"
        out = Out(tmp_path / f"out{step}")
        (raw / "day2.json").unlink(missing_ok=True)
        out.etl(raw)  # the previous set, by the DuckDB engine (the engines share the manifest)
        write(raw / "day2.json", call("C3", "2026-01-06"), call("C1", "2026-01-07"),
              call("C4", "2026-01-07"))  # fmt: skip
        count = [0]

        def replace(src: Any, dst: Any, count: list[int] = count, step: int = step) -> None:
            count[0] += 1
            if count[0] == step:
                raise Cut(f"cut at rename {step}")
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        try:
            on_spark(out)
            finished = True
        except Cut:
            pass
        finally:
            monkeypatch.setattr(os, "replace", real_replace)
        assert complete_set(out) in (before, after, None), f"step {step}"
        verify_run(out.output, out.rejects, out.manifest)  # replays an interrupted commit
        assert complete_set(out) in (before, after), f"step {step}"
        rerun = on_spark(out)
        assert complete_set(out) == after, f"step {step}"
        assert rerun.up_to_date or (rerun.rows_in, rerun.rows_out) == (3, 2)
        assert [r[s.CALL_ID] for r in out.rows()] == ["C1", "C2", "C3", "C4"]
        assert not list(out.root.glob(".cleaned.*.work"))
    assert step > 5  # the update really had several renames to cut
