"""`support-analytics insights` and `simulate --plant` through the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_insights_shift_share import _mix_world

from support_analytics import config

SCRIPT = Path(sys.executable).with_name("support-analytics")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "support_analytics"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def mix_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _mix_world(tmp_path_factory.mktemp("mix") / "mix.parquet")


def test_insights_says_what_changed_in_words(mix_parquet: Path) -> None:
    proc = cli("insights", "--output", str(mix_parquet))
    assert proc.returncode == 0, proc.stderr
    assert "Resolution rate fell 2.7 pp; 2.7 pp of it is mix: technical calls rose" in proc.stdout
    assert "by issue type: mix -2.7 pp + rate 0.0 pp (largest: technical " in proc.stdout
    assert "Calls: = 0, within noise (Welch t-test at 95%" in proc.stdout
    for block in ("Unusual days", "Level shifts", "Drivers"):
        assert block in proc.stdout


def test_insights_json_follows_the_selection(mix_parquet: Path) -> None:
    proc = cli(
        "insights", "--output", str(mix_parquet), "--issue", "technical",
        "--region", "Europe", "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["selection"]["issue_types"] == ["technical"]
    assert out["selection"]["regions"] == ["Europe"]
    change = {c["key"]: c for c in out["changes"]}["calls"]
    assert (change["previous"], change["current"]) == (540, 810)
    assert "Bonferroni" in out["methods"]["drivers"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "Atlantis"], "no calls in"),
        (["--start-date", "2026-02-30"], "invalid date"),
    ],
)
def test_insights_bad_selection_is_one_line(mix_parquet: Path, args: list, message: str) -> None:
    proc = cli("insights", "--output", str(mix_parquet), *args)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_insights_without_data_says_run_the_etl(tmp_path: Path) -> None:
    proc = cli("insights", "--output", str(tmp_path / "none.parquet"))
    assert proc.returncode == 2
    assert "run `support-analytics etl` first" in proc.stderr


def test_simulate_plant_writes_planted_json(tmp_path: Path) -> None:
    proc = cli("simulate", "--plant", "--calls", "3000", "--quiet", "--out-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    truth = json.loads((tmp_path / config.SIM_PLANTED_NAME).read_text(encoding="utf-8"))
    assert truth["spikes"] and truth["escalation_agent"]["agent_id"].startswith("A")
