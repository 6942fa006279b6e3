"""A Firehose export read straight from an s3:// prefix (a local S3 API, moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import serve_s3

from support_analytics import schema as s
from support_analytics.etl import run_etl
from support_analytics.io import storage
from support_analytics.simulate.connect import (
    ConnectWorld,
    agents_csv,
    contact_records,
    write_firehose,
)

pytestmark = pytest.mark.s3
WORLD = ConnectWorld(contacts=80, seed=2)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    yield from serve_s3("sources-test", {"SUPPORT_ANALYTICS_PSEUDONYM_KEY": "k" * 24})


def test_connect_records_under_an_s3_prefix_equal_the_local_run(
    s3_server: str, tmp_path: Path
) -> None:
    local = tmp_path / "in"
    write_firehose(contact_records(WORLD), local)
    fs, _ = storage.filesystem(s3_server)
    fs.put(str(local) + "/", f"{s3_server}/ctr/", recursive=True)
    (tmp_path / "agents.csv").write_text(agents_csv(WORLD))
    outs = {}
    for name, calls in (("local", local), ("s3", f"{s3_server}/ctr/")):
        out = tmp_path / name
        run_etl(calls, tmp_path / "agents.csv", out / "c.parquet", out / "m.json",
                out / "r.jsonl", source="connect-ctr", progress=False)  # fmt: skip
        outs[name] = out
    assert pq.read_table(outs["s3"] / "c.parquet").equals(
        pq.read_table(outs["local"] / "c.parquet")
    )
    rejects = {n: (o / "r.jsonl").read_text() for n, o in outs.items()}
    assert rejects["s3"] == rejects["local"]
    assert json.loads(rejects["s3"].splitlines()[0])[s.REJECT_FILE].startswith("2026/")
    manifest = json.loads((outs["s3"] / "m.json").read_text())
    assert manifest["inputs"]["calls"]["path"] == f"{s3_server}/ctr/"
    again = run_etl(f"{s3_server}/ctr/", tmp_path / "agents.csv", outs["s3"] / "c.parquet",
                    outs["s3"] / "m.json", outs["s3"] / "r.jsonl", source="connect-ctr",
                    progress=False)  # fmt: skip
    assert again.up_to_date
