"""Shared fixtures. Append new fixtures below; keep each one small and self-contained."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from support_analytics import config, pipeline
from support_analytics.etl import run_etl
from support_analytics.report import render as report_render

REPORT_FIXTURES = Path(__file__).parent / "fixtures" / "report"


@pytest.fixture(scope="session")
def metrics_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made 10-call fixture (tests/fixtures/report/metrics_*) cleaned by the real ETL."""
    out = tmp_path_factory.mktemp("metrics")
    run_etl(
        REPORT_FIXTURES / "metrics_calls.json",
        REPORT_FIXTURES / "metrics_agents.csv",
        out / "calls.parquet",
        out / "manifest.json",
        out / "rejects.jsonl",
        progress=False,
    )
    return out / "calls.parquet"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder holding the site's own files (a `report --root` target)."""
    root = tmp_path / "project"
    root.mkdir()
    for name in config.SITE_FILES:
        shutil.copy(REPO / name, root / name)
    return root


#: Why a browser test is skipped where Debian's chromium is missing.
NO_CHROMIUM = "needs Debian's `chromium` on PATH (apt-get install chromium; .ci/run installs it)"


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module, driven by playwright."""
    pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")
    from support_analytics.report import browser as sb

    if sb.CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    with sb.browser() as b:
        yield b


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the whole run (2 cores, no UI, tiny shuffles): JVM start is slow."""
    import shutil

    pytest.importorskip("pyspark")
    if not shutil.which("java") and not __import__("os").environ.get("JAVA_HOME"):
        pytest.skip("the spark engine needs Java (JAVA_HOME or java on PATH)")
    from support_analytics.etl.spark_engine import spark_session

    # One JVM serves every Spark test of the run; at the default 1g its driver once ran short
    # late in the run ("not enough memory to build and broadcast the table").
    session = spark_session("local[2]", "support-analytics-tests", {"spark.driver.memory": "2g"})
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# --- the report, built once per session (papermill kernels are slow to start) ---------------
REPO = Path(__file__).resolve().parents[1]


class Built:
    """A report built from tests/fixtures/report/site_* into a temp project root."""

    def __init__(self, root: Path, result: pipeline.ReportResult, parquet: Path) -> None:
        self.root = root
        self.result = result
        self.parquet = parquet
        self.reports = root / "reports"

    def nb(self, name: str) -> Any:
        return nbformat.read(self.reports / f"{name}.ipynb", as_version=4)


def report_inputs(root: Path) -> dict[str, Path]:
    """The report's input and output paths for a project root (fixture data in, root/data out)."""
    return {
        "calls": REPORT_FIXTURES / "site_calls.json",
        "agents": REPORT_FIXTURES / "site_agents.csv",
        "output": root / "data" / "cleaned_calls.parquet",
        "manifest": root / "data" / "manifest.json",
        "rejects": root / "data" / "rejected_calls.jsonl",
    }


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Every page executed once; test_notebooks and test_browser_xss read it."""
    root = tmp_path_factory.mktemp("site")
    for name in config.SITE_FILES:
        shutil.copy(REPO / name, root / name)
    inputs = report_inputs(root)
    result = pipeline.build_report(root, **inputs, render=False, progress=False)
    return Built(root, result, inputs["output"])


@pytest.fixture(scope="session")
def site(built: Built) -> Path:
    """The fixture report rendered by the real Quarto into built.root/_site, once."""
    if shutil.which("quarto") is None:
        pytest.skip(
            "quarto is not on PATH: install it from quarto.org (.ci/run puts the Quarto kit "
            "from ../shared/tools/quarto on PATH where it exists)"
        )
    report_render.render_site(built.root)
    return built.root / "_site"


# --- a real S3 API on loopback (moto), for the s3:// tests -----------------------------------
def serve_s3(bucket: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Yield ``s3://bucket`` on a moto server at 127.0.0.1 with dummy credentials (plus
    ``env``) in the environment; module fixtures ``yield from`` it. Skips without s3fs/moto."""
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    mp = pytest.MonkeyPatch()
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        **(env or {}),
    }.items():
        mp.setenv(key, value)
    try:
        from support_analytics.io import storage

        fs, _ = storage.filesystem(f"s3://{bucket}")
        fs.mkdir(bucket)
        yield f"s3://{bucket}"
    finally:
        mp.undo()
        server.stop()


# --- insights: a simulated world with planted events (simulate --plant) ----------------------
PLANTED_SEED = 41  # chosen before looking at this seed's detections (see bench/bench_insights.py)


@pytest.fixture(scope="session")
def planted_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """700,000 calls over 270 days with spikes, drops, level shifts, a mix change and an agent
    who escalates 3x as often planted, cleaned by the real ETL; (Parquet, planted.json)."""
    import json

    from support_analytics.simulate import simulate

    out = tmp_path_factory.mktemp("planted")
    summary = simulate(out, calls=700_000, days=270, seed=PLANTED_SEED, progress=False, plant=True)
    run_etl(
        summary.calls_path,
        summary.agents_path,
        out / "calls.parquet",
        out / "manifest.json",
        out / "rejects.jsonl",
        progress=False,
    )
    truth = json.loads((out / config.SIM_PLANTED_NAME).read_text(encoding="utf-8"))
    return out / "calls.parquet", truth


def simulated_parquet(root: Path, calls: int, days: int) -> Path:
    """Simulated calls (no faults, the simulator's default seed) cleaned by the real ETL."""
    from support_analytics.simulate import simulate

    simulate(root, calls=calls, days=days, dirty_rate=0.0, progress=False)
    out = root / "c.parquet"
    run_etl(
        root / config.SIM_CALLS_NAME,
        root / config.SIM_AGENTS_NAME,
        out,
        root / "m.json",
        root / "r.jsonl",
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def ten_weeks_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten weeks of simulated calls (6,000): enough history for the planning forecasts."""
    return simulated_parquet(tmp_path_factory.mktemp("plan"), 6000, 70)
