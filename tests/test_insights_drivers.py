"""Drivers: the planted agent who escalates 3x as often is found, and on data where outcomes
depend on nothing, nothing is reported (the Bonferroni correction holds the family)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from insights_data import write_calls

from support_analytics.report import insights, metrics
from support_analytics.report.insights.drivers import MIN_CALLS


@pytest.mark.slow
def test_the_planted_escalating_agent_is_found(planted_world: tuple[Path, dict[str, Any]]) -> None:
    parquet, truth = planted_world
    found, tests = insights.drivers(metrics.segment(parquet))
    agent = truth["escalation_agent"]["agent_id"]
    escalation = [d for d in found if d.outcome == "escalation" and d.dimension == "agent"]
    assert escalation[0].name.split()[0] == agent  # the strongest agent driver
    top = escalation[0]
    assert top.ratio > 2 and top.low_corrected > 1 and top.low95 <= top.ratio <= top.high95
    assert tests > 100


def _independent(path: Path, n: int = 40_000, seed: int = 1) -> Path:
    """Outcomes drawn with the same chances for every agent, issue type, region and hour."""
    rng = np.random.default_rng(seed)
    return write_calls(
        path,
        day=rng.integers(0, 28, n),
        issue=rng.choice(["billing", "technical", "account", "returns"], n),
        region=rng.choice(["Europe", "Asia Pacific", "Latin America"], n),
        agent=rng.choice([f"A{i:03d}" for i in range(60)], n),
        hour=rng.integers(6, 22, n),
        resolution=rng.choice(["resolved", "escalated", "unresolved"], n, p=[0.7, 0.15, 0.15]),
        rating=rng.choice([0, 1, 2, 3, 4, 5], n),
        minutes=rng.lognormal(1.8, 0.5, n),
    )


def test_no_driver_where_outcomes_depend_on_nothing(tmp_path: Path) -> None:
    for seed in range(10):
        path = _independent(tmp_path / f"flat{seed}.parquet", seed=seed)
        found, tests = insights.drivers(metrics.segment(path))
        assert tests > 200  # 60 agents, 16 hours, ... x 3 outcomes: plain 95% would find ~10
        assert found == [], seed


def test_a_small_segment_is_never_a_driver(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n, small = 5_000, MIN_CALLS - 1
    agent = np.array(["A001"] * (n - small) + ["A999"] * small, dtype=object)
    resolution = np.where(agent == "A999", "escalated", rng.choice(["resolved", "escalated"], n))
    path = write_calls(
        tmp_path / "small.parquet",
        day=rng.integers(0, 28, n),
        issue=["billing"] * n,
        region=["Europe"] * n,
        agent=agent,
        resolution=resolution,
        minutes=np.full(n, 5.0),
    )
    found, _ = insights.drivers(metrics.segment(path))
    assert not [d for d in found if "A999" in d.name]
