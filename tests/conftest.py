"""Shared fixtures. Append new fixtures below; keep each one small and self-contained."""

from __future__ import annotations

from pathlib import Path

import pytest

from support_analytics.etl import run_etl

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


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the whole run (2 cores, no UI, tiny shuffles): JVM start is slow."""
    import shutil

    pytest.importorskip("pyspark")
    if not shutil.which("java") and not __import__("os").environ.get("JAVA_HOME"):
        pytest.skip("the spark engine needs Java (JAVA_HOME or java on PATH)")
    from support_analytics.spark_etl import spark_session

    session = spark_session("local[2]", "support-analytics-tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
