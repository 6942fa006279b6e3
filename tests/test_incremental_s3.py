"""Daily drops into s3:// outputs (etl/incremental_s3.py), on a moto server.

The promise: one object at a time gives exactly one run over all; a changed ingested object
stops the run; an update cut between any two publish steps leaves the previous manifest
describing a readable, consistent set, and the next run completes the update.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_incremental import AGENTS, call, write

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl import incremental_s3, run_etl, verify_run
from support_analytics.io import storage
from support_analytics.io.manifest import read_manifest
from support_analytics.simulate import simulate

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def s3_root() -> Any:
    from conftest import serve_s3

    yield from serve_s3("support-analytics-drops-out")


def daily_drops(root: Path, calls: int, seed: int) -> Path:
    """Three simulated days (5% dirty) plus a file repeating ids of the first day."""
    simulate(
        root / "drops", calls=calls, days=3, dirty_rate=0.05, seed=seed, progress=False,
        split="daily",
    )  # fmt: skip
    first = sorted((root / "drops").glob("calls-*.json"))[0].read_text().splitlines()
    repeats = [line for line in first if '"call_id":"C' in line][:2]
    write(root / "drops" / "calls-2026-01-09.json", *repeats, call("NEW-1", "2026-01-09"))
    (root / "drops" / "agents.csv").unlink()
    return root / "drops"


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return daily_drops(tmp_path_factory.mktemp("daily-s3"), calls=300, seed=5)


class Remote:
    """One incremental pipeline whose output, manifest and rejects are under an s3:// prefix."""

    def __init__(self, root: str) -> None:
        self.output = f"{root}/cleaned"
        self.manifest = f"{root}/manifest.json"
        self.rejects = f"{root}/rejects.jsonl"

    def etl(self, calls: Path | str, **kwargs: Any) -> Any:
        return run_etl(
            calls, AGENTS, self.output, self.manifest, self.rejects,
            partition_by=s.CALL_DATE, progress=False, **kwargs,
        )  # fmt: skip

    def rows(self) -> list[dict[str, Any]]:
        return storage.read_cleaned(self.output).to_pylist()

    def reject_lines(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in storage.read_bytes(self.rejects).splitlines()]


def listed_rows(remote: Remote, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the objects a manifest lists (what a reader of that manifest sees)."""
    fs, _ = storage.filesystem(remote.output)
    tables = []
    for f in manifest["output"]["files"]:
        with fs.open(f"{remote.output}/{f['name']}", "rb") as fh:
            tables.append(pq.read_table(fh).select([s.CALL_ID]))
    return pa.concat_tables(tables).to_pylist() if tables else []


def test_one_object_at_a_time_gives_exactly_one_run_over_all(
    s3_root: str, daily: Path, tmp_path: Path
) -> None:
    prefix = f"{s3_root}/step/raw_calls/"
    step, whole = Remote(f"{s3_root}/step/out"), Remote(f"{s3_root}/whole/out")
    storage.upload(AGENTS, f"{prefix}agents.csv")  # not a call file: left alone
    for path in sorted(daily.iterdir()):
        storage.upload(path, prefix + path.name)
        result = step.etl(prefix)
        assert result.rows_in == len(path.read_bytes().splitlines())  # only the new object
    assert step.etl(prefix).up_to_date
    whole.etl(prefix)
    assert step.rows() == whole.rows()
    assert step.reject_lines() == whole.reject_lines()
    a, b = read_manifest(step.manifest), read_manifest(whole.manifest)
    assert a["rows"] == b["rows"] and a["rows"]["rejected"][s.REJECT_DUPLICATE] >= 2
    assert a["rows"]["input"] == a["rows"]["output"] + sum(a["rows"]["rejected"].values())
    assert [f["name"] for f in a["output"]["files"]] != [] and a["output"]["path"] == step.output
    verify_run(step.output, step.rejects, step.manifest)
    # The same files in a local folder into local outputs: the same rows and counts.
    local = tmp_path / "local"
    run_etl(daily, AGENTS, local / "c", local / "m.json", local / "r.jsonl",
            partition_by=s.CALL_DATE, progress=False)  # fmt: skip
    assert storage.read_cleaned(local / "c").to_pylist() == step.rows()
    assert json.loads((local / "m.json").read_text())["rows"] == a["rows"]


def test_a_changed_ingested_object_stops_the_run_before_anything_is_published(
    s3_root: str, daily: Path
) -> None:
    prefix = f"{s3_root}/changed/raw_calls/"
    remote = Remote(f"{s3_root}/changed/out")
    first, second = sorted(daily.iterdir())[:2]
    storage.upload(first, prefix + first.name)
    remote.etl(prefix)
    before = storage.read_bytes(remote.manifest)
    storage.upload(second, prefix + first.name)  # replaced behind the manifest's back
    storage.upload(second, prefix + second.name)
    with pytest.raises(InputError, match="changed since it was ingested.*--rebuild") as refused:
        remote.etl(prefix)
    assert "--force" not in str(refused.value)  # not a fix here: see the next test
    assert storage.read_bytes(remote.manifest) == before
    result = remote.etl(prefix, rebuild=True)
    # first.name now holds second's content, second.name is a copy of it: skipped
    assert result.rows_in == len(second.read_bytes().splitlines())


def test_force_on_a_changed_object_is_refused_with_the_rebuild_fix(
    s3_root: str, daily: Path
) -> None:
    # Replacing a file's rows is not an add-only update: the previous manifest's set would
    # not survive a cut, so --force stops before anything is published.
    prefix = f"{s3_root}/forced/raw_calls/"
    remote = Remote(f"{s3_root}/forced/out")
    first, second = sorted(daily.iterdir())[:2]
    storage.upload(first, prefix + first.name)
    remote.etl(prefix)
    before = storage.read_bytes(remote.manifest)
    storage.upload(second, prefix + first.name)
    with pytest.raises(
        InputError, match=r"--force cannot replace its rows in the s3:// output.*--rebuild"
    ):
        remote.etl(prefix, force=True)
    assert storage.read_bytes(remote.manifest) == before
    storage.upload(first, prefix + first.name)  # restored: --force is a plain update again
    storage.upload(second, prefix + second.name)
    assert remote.etl(prefix, force=True).rows_in == len(second.read_bytes().splitlines())


def test_a_folder_run_refuses_a_local_output_with_an_s3_manifest(
    s3_root: str, tmp_path: Path
) -> None:
    write(tmp_path / "raw" / "day1.json", call("C1"))
    with pytest.raises(InputError, match="is local; keep its --manifest and --rejects local"):
        run_etl(tmp_path / "raw", AGENTS, tmp_path / "c", f"{s3_root}/x/m.json",
                tmp_path / "r.jsonl", partition_by=s.CALL_DATE, progress=False)  # fmt: skip


class Cut(Exception):
    """The simulated crash between two publish steps."""


def run_cut_before_publish_step(
    monkeypatch: pytest.MonkeyPatch, step: int, run: Callable[..., Any], *args: Any
) -> bool:
    """``run(*args)``, an update whose ``step``-th publish write (an object or the manifest)
    fails as a crash would; True when the update had fewer steps and finished."""
    real_put, real_manifest = incremental_s3._put, incremental_s3.write_manifest
    calls = [0]

    def counted(real: Any) -> Any:
        def wrapper(*args: Any) -> None:
            calls[0] += 1
            if calls[0] == step:
                raise Cut(f"cut before publish step {step}")
            real(*args)

        return wrapper

    with monkeypatch.context() as patch:
        patch.setattr(incremental_s3, "_put", counted(real_put))
        patch.setattr(incremental_s3, "write_manifest", counted(real_manifest))
        try:
            run(*args)
        except Cut:
            return False
    return True


def assert_previous_set_is_intact(remote: Remote, before: dict[str, Any]) -> None:
    """The manifest a cut update left still describes a consistent, readable set."""
    assert read_manifest(remote.manifest) == before
    assert sorted(r[s.CALL_ID] for r in listed_rows(remote, before)) == ["C1", "C2"]
    head = storage.read_bytes(remote.rejects)[: before["rejects"]["file_size"]]
    assert hashlib.sha256(head).hexdigest() == before["rejects"]["sha256"]


def test_an_update_cut_between_any_two_publish_steps_is_completed_by_the_next_run(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    write(raw / "day1.json", call("C1", "2026-01-05"), call("C2", "2026-01-06"), "not json")
    day2 = [call("C3", "2026-01-06"), call("C1", "2026-01-07"), call("C4", "2026-01-07")]
    # Reference: the update done without a cut.
    ref = Remote(f"{s3_root}/cut-ref")
    ref.etl(raw)
    write(raw / "day2.json", *day2)
    ref.etl(raw)
    want_rows, want_rejects = ref.rows(), ref.reject_lines()
    step, finished = 0, False
    while not finished:
        step += 1
        assert step < 20, "the update never finished"
        remote = Remote(f"{s3_root}/cut{step}")
        (raw / "day2.json").unlink()
        remote.etl(raw)
        before = read_manifest(remote.manifest)
        write(raw / "day2.json", *day2)
        finished = run_cut_before_publish_step(monkeypatch, step, remote.etl, raw)
        if not finished:
            assert_previous_set_is_intact(remote, before)
            result = remote.etl(raw)  # the next run completes the update
            assert (result.rows_in, result.rows_out) == (3, 2)
        assert remote.rows() == want_rows
        assert remote.reject_lines() == want_rejects
        verify_run(remote.output, remote.rejects, remote.manifest)
        assert remote.etl(raw).up_to_date
    # parts of two partitions, one id file, the rejects, the manifest: cut before each
    assert step == 6


def test_objects_changed_behind_the_manifest_stop_the_run(s3_root: str, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write(raw / "day1.json", call("C1", "2026-01-05"), call("C2", "2026-01-06"), "not json")
    remote = Remote(f"{s3_root}/tampered")
    remote.etl(raw)
    storage.remove(f"{remote.output}/call_date=2026-01-05")
    write(raw / "day2.json", call("C3"))
    with pytest.raises(InputError, match="call_date=2026-01-05.*differs from the manifest"):
        remote.etl(raw)
    assert remote.etl(raw, rebuild=True).rows_in == 4
    # An interrupted run's tail on the rejects is cut back even when nothing is new.
    good = storage.read_bytes(remote.rejects)
    storage.write_bytes(remote.rejects, good + b'{"tail": 1}\n')
    assert remote.etl(raw).up_to_date and storage.read_bytes(remote.rejects) == good
    storage.write_bytes(remote.rejects, b"edited\n")
    write(raw / "day3.json", call("C4"))
    with pytest.raises(InputError, match="rejects.jsonl: does not hold the rejects"):
        remote.etl(raw)


def glue_main() -> Any:
    """The Glue entry script's main (glue/ is not a package: loaded from its path)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "glue" / "support_calls_etl.py"
    spec = importlib.util.spec_from_file_location("support_calls_etl", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_the_glue_entry_script_ingests_daily_drops_incrementally_with_duckdb(
    s3_root: str, daily: Path, capsys: Any
) -> None:
    main = glue_main()
    prefix, remote = f"{s3_root}/glue/raw_calls/", Remote(f"{s3_root}/glue/out")
    storage.upload(AGENTS, f"{s3_root}/glue/agents.csv")
    argv = [
        "support_calls_etl.py", "--JOB_NAME", "drops", "--calls", prefix,
        "--agents", f"{s3_root}/glue/agents.csv", "--output", remote.output,
        "--rejects", remote.rejects, "--manifest", remote.manifest,
        "--partition_by", s.CALL_DATE, "--engine", "duckdb",
    ]  # fmt: skip
    first, second = sorted(daily.iterdir())[:2]
    storage.upload(first, prefix + first.name)
    assert main(argv) == 0
    storage.upload(second, prefix + second.name)
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith(f"{len(second.read_bytes().splitlines()):,} rows in")
    assert "1 new file(s) read" in out[-1]  # not forced into a rebuild
    assert main(argv) == 0 and capsys.readouterr().out.startswith("up to date")
    assert main([*argv[:-1], "pandas"]) == 2
    assert "--engine pandas: not supported" in capsys.readouterr().err
