"""metrics and `support-analytics report` on s3:// paths, against moto's S3 server on loopback.

The same cleaned data (a single Parquet file and a Hive-partitioned folder) is read from a local
path and from its s3:// copy; every metric must be identical. One report run then puts every
path on S3 (inputs, cleaned output, manifest, rejects) and executes the real notebooks.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import nbformat
import pandas as pd
import pytest
from conftest import serve_s3

from support_analytics import config
from support_analytics.cli import main
from support_analytics.etl import run_etl
from support_analytics.io import storage
from support_analytics.report import metrics

pytestmark = pytest.mark.s3

REPORT_FIXTURES = Path(__file__).parent / "fixtures" / "report"
AGENTS = REPORT_FIXTURES / "metrics_agents.csv"
BUCKET = "support-analytics-metrics-test"
LAYOUTS = ("file", "partitioned")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with dummy credentials, and a private temp folder (so the
    repeat-flag cache of remote data, in tempfile.gettempdir(), stays inside the test)."""
    tmp = tmp_path_factory.mktemp("tmpdir")
    mp = pytest.MonkeyPatch()
    mp.setattr(tempfile, "tempdir", str(tmp))
    try:
        # TMPDIR reaches the notebook kernels' tempfile.gettempdir()
        yield from serve_s3(BUCKET, {"TMPDIR": str(tmp)})
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def calls_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 10-call metrics fixture plus every kind of dirty line (so there are rejects)."""
    path = tmp_path_factory.mktemp("calls") / "calls.json"
    clean = (REPORT_FIXTURES / "metrics_calls.json").read_bytes().rstrip(b"\n") + b"\n"
    dirty = (Path(__file__).parent / "fixtures" / "calls_every_reject.json").read_bytes()
    path.write_bytes(clean + dirty)
    return path


@dataclass(frozen=True)
class Pair:
    """One layout of the cleaned data, locally and on S3 (byte-identical copies)."""

    local: Path
    remote: str
    rejects_local: Path
    rejects_remote: str


@pytest.fixture(scope="module")
def datasets(
    s3_server: str, calls_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Pair]:
    out = tmp_path_factory.mktemp("cleaned")
    pairs = {}
    for layout in LAYOUTS:
        name = "calls" if layout == "partitioned" else "calls.parquet"
        local = out / layout / name
        rejects = out / layout / "rejects.jsonl"
        run_etl(
            calls_file,
            AGENTS,
            local,
            out / layout / "manifest.json",
            rejects,
            progress=False,
            partition_by="call_date" if layout == "partitioned" else None,
        )
        remote = f"{s3_server}/{layout}/cleaned_calls/{name}"
        rejects_remote = f"{s3_server}/{layout}/cleaned_calls/rejected_calls.jsonl"
        storage.upload(local, remote)
        storage.upload(rejects, rejects_remote)
        pairs[layout] = Pair(local, remote, rejects, rejects_remote)
    assert (out / "partitioned" / "calls").is_dir()
    return pairs


def _everything(path: Path | str, region: str | None) -> dict[str, Any]:
    seg = metrics.segment(path, region)
    return {
        "data_range": metrics.data_range(path),
        "regions": metrics.regions(path),
        "period": seg.period,
        "kpi_comparison": metrics.kpi_comparison(seg),
        "daily_volume": metrics.daily_volume(seg),
        "agent_leaderboard": metrics.agent_leaderboard(seg),
        "hour_weekday": metrics.hour_weekday(seg),
        "duration_histogram": metrics.duration_histogram(seg),
        "issue_breakdown": metrics.issue_breakdown(seg),
        "region_comparison": metrics.region_comparison(seg),
    }


def _assert_same(local: dict[str, Any], remote: dict[str, Any]) -> None:
    assert local.keys() == remote.keys()
    for key, want in local.items():
        got = remote[key]
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=key)
        else:
            assert got == want, key


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("region", [None, "North"])
def test_metrics_on_s3_equal_the_local_path(
    datasets: dict[str, Pair], layout: str, region: str | None
) -> None:
    pair = datasets[layout]
    local = _everything(pair.local, region)
    remote = _everything(pair.remote, region)
    assert local["data_range"][2] >= 10 and local["regions"] == ["North", "South"]
    assert local["kpi_comparison"]["calls"].current > 0
    assert len(local["agent_leaderboard"]) > 0 and local["daily_volume"]["calls"].sum() > 0
    _assert_same(local, remote)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rejected_sample_on_s3_equals_the_local_file(
    datasets: dict[str, Pair], layout: str
) -> None:
    pair = datasets[layout]
    local = metrics.rejected_sample(pair.rejects_local)
    assert len(local) > 0
    pd.testing.assert_frame_equal(metrics.rejected_sample(pair.rejects_remote), local)
    empty = metrics.rejected_sample(pair.rejects_remote + ".missing")
    assert list(empty.columns) == list(local.columns) and empty.empty


def test_resolve_path_keeps_urls_intact() -> None:
    assert metrics.resolve_path("s3://bucket/cleaned_calls/x.parquet") == (
        "s3://bucket/cleaned_calls/x.parquet"
    )
    assert metrics.resolve_path("data/x.parquet") == Path("data/x.parquet")


def test_remote_repeat_cache_is_local_and_follows_rewrites(
    datasets: dict[str, Pair], s3_server: str, tmp_path: Path
) -> None:
    url = f"{s3_server}/cache/calls.parquet"
    storage.upload(datasets["file"].local, url)
    first = metrics.prepare(url)
    assert first is not None and first.parent == metrics.remote_cache_dir()
    assert metrics.prepare(url) == first
    seg = metrics.segment(url)
    before = metrics.kpis(seg)
    # Rewrite the object with one call fewer: the ETag changes, so the cache is rebuilt.
    smaller = tmp_path / "smaller.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{datasets['file'].local}') "
        f"WHERE call_id <> (SELECT min(call_id) FROM read_parquet('{datasets['file'].local}'))) "
        f"TO '{smaller}' (FORMAT parquet)"
    )
    con.close()
    storage.upload(smaller, url)
    second = metrics.prepare(url)
    assert second is not None and second != first and not first.exists()
    assert metrics.data_range(url)[2] == metrics.data_range(datasets["file"].local)[2] - 1
    after = metrics.kpis(metrics.segment(url, None, seg.period.start, seg.period.end))
    assert after["calls"] == before["calls"] - 1


def _has_error(nb: Any) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]


@pytest.mark.slow
def test_report_with_every_path_on_s3(
    s3_server: str, calls_file: Path, tmp_path: Path, capsys: Any
) -> None:
    prefix = f"{s3_server}/report"
    calls = f"{prefix}/raw_calls/calls.json"
    agents = f"{prefix}/reference_data/agents.csv"
    storage.upload(calls_file, calls)
    storage.upload(AGENTS, agents)
    argv = ["report", "-q", "--no-render", "--root", str(tmp_path), "--calls", calls]
    argv += ["--agents", agents, "--output", f"{prefix}/cleaned_calls/calls.parquet"]
    argv += ["--manifest", f"{prefix}/cleaned_calls/manifest.json"]
    argv += ["--rejects", f"{prefix}/cleaned_calls/rejected_calls.jsonl"]

    assert main(argv) == 0, capsys.readouterr().err
    assert "3 notebook(s) executed, 0 unchanged" in capsys.readouterr().out
    reports = tmp_path / "reports"
    pages = {p.stem for p in reports.glob("*.ipynb")}
    assert pages == {"data-quality", "overview", "planning"}
    # the overview's filter data was aggregated from the S3 dataset
    assert "North" in (reports / config.SLICES_FILE_NAME).read_text()
    for page in sorted(pages):
        nb = nbformat.read(reports / f"{page}.ipynb", as_version=4)
        assert not _has_error(nb), (page, _has_error(nb))
        params = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
        assert f"{prefix}/cleaned_calls/calls.parquet" in params.source
    quality = (reports / "data-quality.ipynb").read_text()
    assert "redacted" in quality  # the rejected lines came from S3, customer ids masked
    # The kernels read the data through the local cache of the repeat flags.
    assert any(metrics.remote_cache_dir().glob(".*.repeats-*.parquet"))
    # Nothing changed on S3: the manifest (read from S3) keys every page as unchanged.
    assert main(argv) == 0
    assert "0 notebook(s) executed, 3 unchanged" in capsys.readouterr().out
