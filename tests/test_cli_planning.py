"""`support-analytics forecast` and `support-analytics staffing` through the real console
script: outputs a script can parse, and one-line errors with exit code 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import simulated_parquet

SCRIPT = Path(sys.executable).with_name("support-analytics")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "support_analytics"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=300, check=False)


def test_staffing_prints_the_worked_example() -> None:
    proc = cli("staffing", "--calls", "100", "--aht-seconds", "180", "--interval-minutes", "30",
               "--format", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["agents"] == 14 and out["agents_after_shrinkage"] == 20
    assert out["service_level"] == 0.8884 and out["wait_probability"] == 0.1741
    assert out["asa_seconds"] == 7.84 and out["occupancy"] == 0.7143
    assert out["model"] == "erlang_c"


def test_staffing_with_patience_uses_erlang_a() -> None:
    proc = cli("staffing", "--calls", "100", "--aht-seconds", "180", "--interval-minutes", "30",
               "--patience-seconds", "120")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "erlang_a" in proc.stdout and "abandoned:" in proc.stdout
    assert proc.stdout.splitlines()[0].startswith("12 agents on calls (18 rostered")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls", "-5", "--aht-seconds", "180"], "--calls must be at least 0"),
        (["--calls", "5", "--aht-seconds", "180", "--target", "1.5"], "--target must be at most 1"),
        (["--calls", "5", "--aht-seconds", "180", "--target", "1"], "target must be between 0"),
        (["--calls", "5", "--aht-seconds", "0"], "--aht-seconds must be at least"),
        (["--calls", "many", "--aht-seconds", "180"], "--calls must be a number"),
        (["--calls", "5", "--aht-seconds", "180", "--shrinkage", "1"], "--shrinkage must be at"),
    ],
)
def test_staffing_refuses_bad_input_in_one_line(args: list[str], message: str) -> None:
    proc = cli("staffing", *args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_forecast_prints_the_forecast_and_the_backtest_as_csv(ten_weeks_parquet: Path) -> None:
    proc = cli("forecast", "--parquet", str(ten_weeks_parquet), "--hours", "24")
    assert proc.returncode == 0, proc.stderr
    forecast_part, backtest_part = proc.stdout.split("\n\n")
    rows = list(csv.DictReader(io.StringIO(forecast_part)))
    assert [r["kind"] for r in rows] == ["daily"] * 14 + ["hourly"] * 24
    assert rows[0]["period"].count("-") == 2 and "T" not in rows[0]["period"]  # a date
    assert all(float(r["lower_95"]) <= float(r["value"]) <= float(r["upper_95"]) for r in rows)
    scores = list(csv.DictReader(io.StringIO(backtest_part)))
    assert [s["method"] for s in scores[:3]] == ["seasonal_naive", "weekday_mean", "ets"]
    assert sum(s["chosen"] == "True" for s in scores) == 2  # one per kind


def test_forecast_json_for_one_region(ten_weeks_parquet: Path) -> None:
    proc = cli("forecast", "--parquet", str(ten_weeks_parquet), "--region", "Europe",
               "--days", "7", "--hours", "0", "--format", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["series"] == "Europe" and "hourly" not in out
    assert len(out["daily"]["forecast"]) == 7
    methods = {m["method"] for m in out["daily"]["backtest"]}
    assert methods == {"seasonal_naive", "weekday_mean", "ets"}


def test_forecast_names_an_unknown_region_and_the_known_ones(ten_weeks_parquet: Path) -> None:
    proc = cli("forecast", "--parquet", str(ten_weeks_parquet), "--region", "Mars")
    assert proc.returncode == 2
    assert "region 'Mars' is not in the data (regions: Asia Pacific, Europe" in proc.stderr


def test_forecast_says_a_short_history_needs_more(tmp_path: Path) -> None:
    proc = cli("forecast", "--parquet", str(simulated_parquet(tmp_path, 200, 9)))
    assert proc.returncode == 2
    assert "needs at least two weeks of history" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_forecast_without_cleaned_calls_says_to_run_the_etl(tmp_path: Path) -> None:
    proc = cli("forecast", "--parquet", str(tmp_path / "missing.parquet"))
    assert proc.returncode == 2
    assert "missing.parquet: no cleaned calls here; run `support-analytics etl`" in proc.stderr
