"""s3:// paths end to end against a real S3 API (moto's server on loopback), no patching.

Inputs are uploaded, both engines run with s3:// for every input and output, and what they
wrote is read back from the bucket and compared with a local run of the same input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import serve_s3

from support_analytics import schema as s
from support_analytics.cli import main
from support_analytics.etl import run_etl
from support_analytics.io import storage

pytestmark = pytest.mark.s3

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents.csv"
CALLS = FIXTURES / "spark" / "calls_edge_cases.json"
BUCKET = "support-analytics-test"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with dummy credentials in the environment."""
    yield from serve_s3(BUCKET)


@pytest.fixture
def prefix(s3_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh prefix per test in the seed's bucket layout, with the inputs uploaded."""
    root = f"{s3_server}/{request.node.name}"
    storage.upload(CALLS, f"{root}/raw_calls/calls.json")
    storage.upload(AGENTS, f"{root}/reference_data/agents.csv")
    return root


def paths(root: str, output: str = "cleaned_calls.parquet") -> list[str]:
    return [
        f"{root}/raw_calls/calls.json",
        f"{root}/reference_data/agents.csv",
        f"{root}/cleaned_calls/{output}",
        f"{root}/cleaned_calls/manifest.json",
        f"{root}/cleaned_calls/rejected_calls.jsonl",
    ]


def read_back(calls: str, output: str, manifest: str, rejects: str) -> dict[str, Any]:
    del calls
    return {
        "rows": storage.read_cleaned(output).sort_by(s.CALL_ID).to_pylist(),
        "rejects": [json.loads(x) for x in storage.read_bytes(rejects).decode().splitlines()],
        "manifest": json.loads(storage.read_bytes(manifest)),
    }


def local_run(tmp_path: Path, partition_by: str | None = None) -> dict[str, Any]:
    out = tmp_path / "local"
    target = out / ("cleaned" if partition_by else "cleaned.parquet")
    run_etl(
        CALLS,
        AGENTS,
        target,
        out / "manifest.json",
        out / "rejects.jsonl",
        progress=False,
        partition_by=partition_by,
    )
    return read_back("", str(target), str(out / "manifest.json"), str(out / "rejects.jsonl"))


def test_duckdb_engine_reads_and_writes_s3(prefix: str, tmp_path: Path) -> None:
    calls, agents, output, manifest, rejects = paths(prefix)
    result = run_etl(calls, agents, output, manifest, rejects, progress=False)
    assert not result.up_to_date
    remote = read_back(calls, output, manifest, rejects)
    local = local_run(tmp_path)
    assert remote["rows"] == local["rows"] and remote["rejects"] == local["rejects"]
    assert remote["manifest"]["rows"] == local["manifest"]["rows"]
    assert remote["manifest"]["inputs"]["calls"]["path"] == calls
    assert remote["manifest"]["output"]["etag"]
    # Unchanged objects: up to date, judged from S3 metadata; a changed input reruns.
    assert run_etl(calls, agents, output, manifest, rejects, progress=False).up_to_date
    storage.write_bytes(calls, CALLS.read_bytes() + b'{"call_id": "NEW"}\n')
    assert not run_etl(calls, agents, output, manifest, rejects, progress=False).up_to_date


def test_cli_partitioned_run_on_s3(prefix: str, tmp_path: Path, capsys: Any) -> None:
    calls, agents, output, manifest, rejects = paths(prefix, "calls")
    argv = ["etl", "-q", "--calls", calls, "--agents", agents, "--output", output]
    argv += ["--manifest", manifest, "--rejects", rejects, "--partition-by", "call_date"]
    assert main(argv) == 0
    assert f"wrote {output}" in capsys.readouterr().out
    fs, root = storage.filesystem(output)
    root = root.split("://", 1)[1]
    keys = sorted(k[len(root) + 1 :] for k in fs.find(root))
    assert keys and all(k.startswith("call_date=") and "/part-" in k for k in keys)
    remote = read_back(calls, output, manifest, rejects)
    local = local_run(tmp_path, partition_by="call_date")
    assert remote["rows"] == local["rows"] and remote["rejects"] == local["rejects"]
    assert remote["manifest"]["output"]["kind"] == "directory"
    assert main(argv) == 0 and "up to date" in capsys.readouterr().out


def test_missing_s3_input_is_one_clear_line(prefix: str, capsys: Any) -> None:
    calls, agents, output, manifest, rejects = paths(prefix)
    argv = ["etl", "-q", "--calls", calls + ".missing", "--agents", agents, "--output", output]
    assert main([*argv, "--manifest", manifest, "--rejects", rejects]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not found" in err and "\n" not in err


@pytest.mark.spark
def test_spark_engine_on_s3_matches_local(spark: Any, prefix: str, tmp_path: Path) -> None:
    from support_analytics.etl.spark_engine import run_spark_etl

    calls, agents, output, manifest, rejects = paths(prefix, "calls")
    run_spark_etl(calls, agents, output, manifest, rejects, partition_by="call_date", spark=spark)
    remote = read_back(calls, output, manifest, rejects)
    local = local_run(tmp_path, partition_by="call_date")
    assert remote["rows"] == local["rows"] and remote["rejects"] == local["rejects"]
    assert remote["manifest"]["rows"] == local["manifest"]["rows"]
    assert remote["manifest"]["engine"] == "spark"


def test_verify_takes_s3_paths(prefix: str, capsys: Any) -> None:
    calls, agents, output, manifest, rejects = paths(prefix, "calls")
    argv = ["etl", "-q", "--calls", calls, "--agents", agents, "--output", output]
    assert (
        main([*argv, "--manifest", manifest, "--rejects", rejects, "--partition-by", "call_date"])
        == 0
    )
    verify = ["verify", "-q", "--output", output, "--manifest", manifest, "--rejects", rejects]
    capsys.readouterr()
    assert main(verify) == 0
    assert capsys.readouterr().out.startswith(f"ok: {output}")
    storage.write_bytes(rejects, storage.read_bytes(rejects) + b'{"forged": 1}\n')
    assert main(verify) == 2
    err = capsys.readouterr().err.strip()
    assert "rejected_calls.jsonl changed since the ETL wrote it" in err and "\n" not in err


def test_an_engine_that_stages_on_s3_itself_is_published_and_cleaned_up(
    prefix: str, tmp_path: Path
) -> None:
    """The Glue path (Spark reads s3:// and stages under ``<output>.staging``), with the
    DuckDB engine standing in for Spark: same shell, same outputs, no staging left behind."""
    import dataclasses

    from support_analytics.etl.duckdb_engine import DuckDBEngine
    from support_analytics.etl.engine import Staged, Staging
    from support_analytics.etl.run import run
    from support_analytics.etl.run_steps import REMOTE_STAGING_SUFFIX

    class StagesOnS3(DuckDBEngine):
        reads_remote = True

        def stage(self, job: Staging) -> Staged:
            assert storage.is_remote(job.calls) and storage.is_remote(job.output)
            calls = storage.download(job.calls, job.workdir / "calls.json")
            local = dataclasses.replace(job, calls=calls, output=job.workdir / "out.parquet")
            staged = super().stage(local)
            storage.upload(Path(staged.output), job.output)
            return dataclasses.replace(staged, output=job.output)

    calls, agents, output, manifest, rejects = paths(prefix)
    result = run(StagesOnS3(), calls, agents, output, manifest, rejects, progress=False)
    assert not result.up_to_date
    remote, local = read_back(calls, output, manifest, rejects), local_run(tmp_path)
    assert remote["rows"] == local["rows"] and remote["rejects"] == local["rejects"]
    assert remote["manifest"]["output"]["etag"]
    assert not storage.exists(output + REMOTE_STAGING_SUFFIX)
