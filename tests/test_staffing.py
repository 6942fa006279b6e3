"""Agents needed for an interval (report/planning/staffing.py): the target, the occupancy cap,
shrinkage, Erlang A, and 168 hours at once within the bench's budget."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from support_analytics.report.planning.erlang import erlang_c
from support_analytics.report.planning.staffing import (
    ServiceTarget,
    required_agents,
    staffing_plan,
)


def test_fewest_agents_meeting_the_target() -> None:
    plan = required_agents(100, 180, 30)  # 10 erlangs: 13 agents reach 0.78, 14 reach 0.89
    assert plan.agents == 14
    assert erlang_c(13, 10.0, 180, 20).service_level < 0.8 <= plan.result.service_level


def test_shrinkage_grosses_up_the_roster() -> None:
    plan = required_agents(100, 180, 30, ServiceTarget(shrinkage=0.3))
    assert plan.rostered == 20  # 14 / 0.7
    assert required_agents(100, 180, 30, ServiceTarget(shrinkage=0.0)).rostered == 14


def test_the_occupancy_cap_can_need_more_agents_than_the_target() -> None:
    # 200 erlangs: the service level is met at high occupancy; a 85% cap needs more agents.
    loose = required_agents(4000, 180, 60, ServiceTarget(max_occupancy=1.0))
    capped = required_agents(4000, 180, 60, ServiceTarget(max_occupancy=0.85))
    assert loose.result.occupancy > 0.85
    assert capped.agents == int(np.ceil(200 / 0.85)) and capped.result.occupancy <= 0.85


def test_patience_uses_erlang_a_and_needs_no_more_agents() -> None:
    c = required_agents(100, 180, 30)
    a = required_agents(100, 180, 30, patience_seconds=120)
    assert a.agents <= c.agents and a.result.abandon_probability > 0
    assert a.result.service_level >= 0.8


def test_no_calls_need_no_agents() -> None:
    plan = required_agents(0, 180, 60)
    assert plan.agents == 0 and plan.rostered == 0 and plan.result.service_level == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": 1.2}, "target"),
        ({"target": 0.0}, "target"),
        ({"max_occupancy": 0.0}, "occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"answer_within": -1}, "answer-within"),
    ],
)
def test_bad_targets_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceTarget(**kwargs)


def test_negative_calls_are_refused() -> None:
    with pytest.raises(ValueError, match="calls"):
        required_agents(-1, 180, 60)


def test_a_week_of_hours_is_staffed_within_a_second() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"calls": rng.uniform(0, 3000, 168), "aht_seconds": rng.uniform(120, 600, 168)}
    )
    started = time.perf_counter()
    out = staffing_plan(frame, 60, ServiceTarget())
    assert time.perf_counter() - started < 1.0
    assert (out["service_level"][out["calls"] > 0] >= 0.8).all()
    assert (out["occupancy"] <= 0.85 + 1e-12).all()
    assert (out["rostered"] >= out["agents"]).all()
