"""Daily drops into s3:// outputs with Spark reading and writing S3 itself (``direct_io``, the
Glue script's engine), on a moto server: each new file staged under ``<output>.staging/``
and copied into place in the add-only order of ``incremental_s3``, manifest last.

Local Spark has no S3 connector (hadoop-aws is not a Python package), so the engine here is
``SparkEngine(direct_io=True)`` with its reads and writes of s3:// bridged through s3fs: its
staging asserts that the shell hands it s3:// URLs only (the calls object, the id files of
earlier files, the staging folder), as executors on a cluster need, then runs the real
Spark rules on local copies and uploads what Spark wrote to the s3:// staging folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from test_incremental import AGENTS, call, write
from test_incremental_s3 import (
    Remote,
    assert_previous_set_is_intact,
    daily_drops,
    glue_main,
    run_cut_before_publish_step,
)

from support_analytics import schema as s
from support_analytics.etl import verify_run
from support_analytics.etl.engine import Staged, Staging
from support_analytics.etl.run import run_calls
from support_analytics.etl.run_steps import REMOTE_STAGING_SUFFIX
from support_analytics.io import storage
from support_analytics.io.manifest import read_manifest

pytestmark = [pytest.mark.spark, pytest.mark.s3]


@pytest.fixture(scope="module")
def s3_root() -> Any:
    from conftest import serve_s3

    yield from serve_s3("support-analytics-drops-spark")


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return daily_drops(tmp_path_factory.mktemp("daily-s3-spark"), calls=200, seed=7)


def glue_spark(spark: Any, read: list[str]) -> Any:
    """``SparkEngine(direct_io=True)`` with its S3 reads and writes bridged (see the module
    doc); every calls object it is asked to read is appended to ``read``."""
    from support_analytics.etl.spark_engine import SparkEngine

    class OnS3(SparkEngine):
        def stage(self, job: Staging) -> Staged:
            urls = [job.calls, job.output, *job.seen_ids]
            assert all(storage.is_remote(u) for u in urls), urls
            read.append(str(job.calls))
            bridge = job.workdir / "bridge"
            calls = storage.download(job.calls, bridge / "in" / str(job.calls).rsplit("/", 1)[-1])
            seen = [
                storage.download(u, bridge / "seen" / f"{i}.parquet")
                for i, u in enumerate(job.seen_ids)
            ]
            local = dataclasses.replace(job, calls=calls, output=bridge / "out", seen_ids=seen)
            staged = super().stage(local)
            if Path(staged.output).is_dir():
                storage.upload(Path(staged.output), job.output)
            return dataclasses.replace(staged, output=job.output)

    engine = OnS3(spark, direct_io=True)
    assert engine.reads_remote
    return engine


def etl_on_spark(engine: Any, remote: Remote, calls: str, **kwargs: Any) -> Any:
    return run_calls(
        engine, calls, AGENTS, remote.output, remote.manifest, remote.rejects,
        partition_by=s.CALL_DATE, progress=False, **kwargs,
    )  # fmt: skip


def test_spark_on_s3_one_object_at_a_time_gives_the_duckdb_run_over_all(
    spark: Any, s3_root: str, daily: Path
) -> None:
    prefix = f"{s3_root}/step/raw_calls/"
    step, whole = Remote(f"{s3_root}/step/out"), Remote(f"{s3_root}/whole/out")
    read: list[str] = []
    engine = glue_spark(spark, read)
    storage.upload(AGENTS, f"{prefix}agents.csv")  # not a call file: left alone
    files = sorted(daily.iterdir())
    for path in files:
        storage.upload(path, prefix + path.name)
        # an interrupted run's staging leftovers do not get in the way
        storage.write_bytes(f"{step.output}{REMOTE_STAGING_SUFFIX}/f000000/junk.parquet", b"x")
        read.clear()
        result = etl_on_spark(engine, step, prefix)
        assert read == [prefix + path.name]  # only the new object is read
        assert result.rows_in == len(path.read_bytes().splitlines())
        assert not storage.exists(step.output + REMOTE_STAGING_SUFFIX)
    read.clear()
    assert etl_on_spark(engine, step, prefix).up_to_date and read == []
    whole.etl(prefix)  # the DuckDB engine, one run over every object
    assert step.rows() == whole.rows()
    assert step.reject_lines() == whole.reject_lines()
    a, b = read_manifest(step.manifest), read_manifest(whole.manifest)
    assert a["engine"] == "spark" and b["engine"] == "duckdb"
    assert a["rows"] == b["rows"] and a["rows"]["rejected"][s.REJECT_DUPLICATE] >= 2
    assert a["warnings"] == b["warnings"]
    assert [f["name"] for f in a["output"]["files"]] == [f["name"] for f in b["output"]["files"]]
    per_file = [(f["path"], f["rows"], f["partitions"]) for f in a["inputs"]["files"]]
    assert per_file == [(f["path"], f["rows"], f["partitions"]) for f in b["inputs"]["files"]]
    ids = storage.filesystem(step.output + ".ids")
    assert len(storage.data_files(*ids)) == len(files)
    verify_run(step.output, step.rejects, step.manifest)
    # The DuckDB engine carries on from the manifest Spark wrote, reading only the new file.
    extra = write(daily.parent / "extra" / "calls-2026-01-10.json", call("NEW-2", "2026-01-10"))
    storage.upload(extra, prefix + extra.name)
    assert step.etl(prefix).rows_in == 1
    verify_run(step.output, step.rejects, step.manifest)


def test_a_spark_update_cut_before_any_publish_step_is_completed_by_the_next_run(
    spark: Any, s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day1 = [call("C1", "2026-01-05"), call("C2", "2026-01-06"), "not json"]
    day2 = [call("C3", "2026-01-06"), call("C1", "2026-01-07"), call("C4", "2026-01-07")]
    raw = tmp_path / "raw"
    engine = glue_spark(spark, [])
    prefix = f"{s3_root}/cut-raw/"
    storage.upload(write(raw / "day1.json", *day1), prefix + "day1.json")
    ref = Remote(f"{s3_root}/cut-ref")  # the update done without a cut
    etl_on_spark(engine, ref, prefix)
    storage.upload(write(raw / "day2.json", *day2), prefix + "day2.json")
    etl_on_spark(engine, ref, prefix)
    want_rows, want_rejects = ref.rows(), ref.reject_lines()
    step, finished = 0, False
    while not finished:
        step += 1
        assert step < 20, "the update never finished"
        remote = Remote(f"{s3_root}/cut{step}")
        storage.remove(prefix + "day2.json")
        etl_on_spark(engine, remote, prefix)
        before = read_manifest(remote.manifest)
        storage.upload(raw / "day2.json", prefix + "day2.json")
        finished = run_cut_before_publish_step(
            monkeypatch, step, etl_on_spark, engine, remote, prefix
        )
        if not finished:
            assert_previous_set_is_intact(remote, before)
            result = etl_on_spark(engine, remote, prefix)  # the next run completes the update
            assert (result.rows_in, result.rows_out) == (3, 2)
        assert remote.rows() == want_rows
        assert remote.reject_lines() == want_rejects
        assert not storage.exists(remote.output + REMOTE_STAGING_SUFFIX)
        verify_run(remote.output, remote.rejects, remote.manifest)
        assert etl_on_spark(engine, remote, prefix).up_to_date
    # parts of two partitions, one id file, the rejects, the manifest: cut before each
    assert step == 6


def test_the_glue_entry_script_ingests_daily_drops_with_spark_by_default(
    spark: Any, s3_root: str, daily: Path, capsys: Any
) -> None:
    # Off Glue the script's Spark has no S3 connector (no direct_io): the same incremental
    # run, fed local copies; on Glue it is the direct_io engine tested above.
    main = glue_main()
    prefix, remote = f"{s3_root}/glue/raw_calls/", Remote(f"{s3_root}/glue/out")
    storage.upload(AGENTS, f"{s3_root}/glue/agents.csv")
    argv = [
        "support_calls_etl.py", "--JOB_NAME", "drops", "--calls", prefix,
        "--agents", f"{s3_root}/glue/agents.csv", "--output", remote.output,
        "--rejects", remote.rejects, "--manifest", remote.manifest,
        "--partition_by", s.CALL_DATE,
    ]  # fmt: skip
    first, second = sorted(daily.iterdir())[:2]
    storage.upload(first, prefix + first.name)
    assert main(argv) == 0
    storage.upload(second, prefix + second.name)
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith(f"{len(second.read_bytes().splitlines()):,} rows in")
    assert "1 new file(s) read" in out[-1]
    assert read_manifest(remote.manifest)["engine"] == "spark"
    assert main(argv) == 0 and capsys.readouterr().out.startswith("up to date")
