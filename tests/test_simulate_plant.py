"""simulate --plant: what it plants is in the calls and in planted.json; without it nothing
changes (tests/test_simulate.py holds the default output byte for byte)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np

from support_analytics import config
from support_analytics.simulate import plant, simulate
from support_analytics.simulate.calls import CallGenerator
from support_analytics.simulate.roster import Roster


def test_plant_writes_the_truth_beside_the_calls(tmp_path: Path) -> None:
    summary = simulate(tmp_path, calls=20_000, days=120, progress=False, plant=True)
    truth = json.loads((tmp_path / config.SIM_PLANTED_NAME).read_text(encoding="utf-8"))
    assert summary.calls_path.exists()
    assert truth["start"] == config.SIM_DEFAULT_START and truth["days"] == 120
    assert len(truth["spikes"]) >= 10
    assert {s["metric"] for s in truth["level_shifts"]} == {"calls", "aht"}
    assert truth["mix_change"]["issue_type"] == "technical"
    with summary.agents_path.open(encoding="utf-8") as fh:
        ids = {row["agent_id"] for row in csv.DictReader(fh)}
    assert truth["escalation_agent"]["agent_id"] in ids


def test_a_later_run_without_plant_removes_the_old_truth(tmp_path: Path) -> None:
    simulate(tmp_path, calls=2_000, days=60, progress=False, plant=True)
    simulate(tmp_path, calls=2_000, days=60, progress=False)
    assert not (tmp_path / config.SIM_PLANTED_NAME).exists()


def test_planting_changes_the_calls(tmp_path: Path) -> None:
    a = simulate(tmp_path / "a", calls=5_000, progress=False)
    b = simulate(tmp_path / "b", calls=5_000, progress=False, plant=True)
    assert a.calls_path.read_bytes() != b.calls_path.read_bytes()


def _per_day(plan: plant.Plan | None, days: int = 120) -> np.ndarray:
    rng = np.random.default_rng(9)
    roster = Roster.make(rng, 40)
    gen = CallGenerator(rng, roster, 600_000, days, dt.date(2026, 1, 5), 0.0, plan)
    return np.diff(gen.block_start[:: gen.n_regions])


def test_spikes_and_shifts_move_the_days_they_are_planted_on() -> None:
    rng = np.random.default_rng(9)
    plan = plant.default_plan(120, 40, 9, Roster.make(rng, 40))
    base, planted = _per_day(None), _per_day(plan)
    ratio = planted / base  # same day noise on both sides: only the plan differs
    shift = plan.volume_shifts[0]
    level = np.where(np.arange(120) >= shift.day, 1 + shift.change, 1.0)
    spikes = {sp.day: sp for sp in plan.spikes if sp.region is None}
    for day, sp in spikes.items():
        assert abs(ratio[day] / level[day] / np.median(ratio / level) - (1 + sp.change)) < 0.02
    region_spike = next(sp.day for sp in plan.spikes if sp.region is not None)
    quiet = [d for d in range(120) if d not in spikes and d != region_spike]
    assert np.allclose(ratio[quiet] / level[quiet], np.median(ratio / level), rtol=0.02)


def test_the_planted_agent_escalates_more_often() -> None:
    rng = np.random.default_rng(9)
    roster = Roster.make(rng, 40)
    plan = plant.default_plan(120, 40, 9, roster)
    tilted = plant.with_escalation(roster, plan)
    k = 5
    a = plan.escalation_agent
    before = roster.escalated_cdf[a * k : (a + 1) * k] - roster.resolved_cdf[a * k : (a + 1) * k]
    after = tilted.escalated_cdf[a * k : (a + 1) * k] - tilted.resolved_cdf[a * k : (a + 1) * k]
    assert np.allclose(after, np.minimum(before * plant.ESCALATION_FACTOR, after))
    assert (after > 2 * before).all()
    others = np.arange(len(roster.resolved_cdf)) // k != a
    assert np.array_equal(tilted.resolved_cdf[others], roster.resolved_cdf[others])
