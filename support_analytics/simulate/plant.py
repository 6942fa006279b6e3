"""Planted events: what the insights must find, put into simulated calls on purpose, with the
truth written beside them (``planted.json``) so tests and benches measure detection honestly.

A plan changes the simulated world, never the default one: without a plan the generator takes
none of these paths and its output stays byte-identical. Days are simulated (local) days
counted from the start; a call's ``call_date`` is the date its timestamp was written in, so a
few late-evening calls of a western region land on the next day."""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from support_analytics.simulate.roster import Roster
from support_analytics.simulate.run_args import atomic_writer
from support_analytics.simulate.world import ISSUE_TYPES, REGIONS, RESOLUTIONS

#: The size of a planted single-day spike (+40%) or drop (-40%).
SPIKE_CHANGE = 0.40
#: Days between planted spikes, and the first one's day.
SPIKE_EVERY = 9
SPIKE_FIRST = 10
#: One spike carried by one region (Europe, 4x its calls that day), to be named as the day's driver.
REGION_SPIKE = (14, 3.0, 2)
#: A planted level shift in volume (+30% from its day on) and in handle time (+25%).
VOLUME_SHIFT = 0.30
AHT_SHIFT = 0.25
#: The mix change: technical calls' share multiplied by this from its day on.
MIX_ISSUE = "technical"
MIX_FACTOR = 1.8
#: The planted agent escalates this many times as often as before (capped at 90% of calls).
ESCALATION_FACTOR = 3.0


@dataclass(frozen=True)
class Spike:
    day: int
    change: float  # +0.4 = 40% more calls that day
    region: int | None = None  # None: every region


@dataclass(frozen=True)
class Shift:
    day: int  # first day at the new level
    change: float  # +0.3 = 30% more from that day on


@dataclass(frozen=True)
class Plan:
    """What to plant. ``seed`` drives the plan's own random draws (the mix change), so the
    simulator's main stream is consumed exactly as without a plan."""

    seed: int
    spikes: tuple[Spike, ...] = ()
    volume_shifts: tuple[Shift, ...] = ()
    aht_shifts: tuple[Shift, ...] = ()
    mix_day: int | None = None
    mix_issue: int = 0
    mix_factor: float = 1.0
    escalation_agent: int | None = None
    escalation_factor: float = 1.0


def default_plan(days: int, agents: int, seed: int, roster: Roster | None = None) -> Plan:
    """``--plant``: a spike or drop every SPIKE_EVERY days (alternating, every region), one
    region's spike (REGION_SPIKE), a volume shift at 45% of the days, a handle-time shift at
    30%, technical calls taking more of the calls over the last 28 days, and the busiest
    agent escalating 3x as often."""
    long = days >= 30
    volume = (Shift(int(days * 0.45), VOLUME_SHIFT),) if long else ()
    aht = (Shift(int(days * 0.30), AHT_SHIFT),) if long else ()
    mix_day = days - 28 if days >= 56 else None
    # A spike right beside a shift is ambiguous (is the shift a day early?): keep them apart.
    taken = [sh.day for sh in (*volume, *aht)] + ([mix_day] if mix_day is not None else [])
    spikes = [
        Spike(d, SPIKE_CHANGE if i % 2 == 0 else -SPIKE_CHANGE)
        for i, d in enumerate(range(SPIKE_FIRST, days - 3, SPIKE_EVERY))
        if all(abs(d - x) > 3 for x in taken)
    ]
    day, change, region = REGION_SPIKE
    if long:
        spikes.append(Spike(day, change, region))
    busiest = int(np.argmax(roster.load)) if roster is not None else 0
    return Plan(
        seed=seed,
        spikes=tuple(sorted(spikes, key=lambda sp: sp.day)),
        volume_shifts=volume,
        aht_shifts=aht,
        mix_day=mix_day,
        mix_issue=[it.name for it in ISSUE_TYPES].index(MIX_ISSUE),
        mix_factor=MIX_FACTOR,
        escalation_agent=busiest if agents > 1 else None,
        escalation_factor=ESCALATION_FACTOR,
    )


def day_factors(plan: Plan, days: int, region_weights: np.ndarray) -> np.ndarray:
    """Each day's volume multiplier: spikes (a one-region spike scales the day by that
    region's part of it) times every level shift already in force."""
    factor = np.ones(days)
    for sp in plan.spikes:
        if 0 <= sp.day < days:
            share = 1.0 if sp.region is None else float(region_weights[sp.region])
            factor[sp.day] *= 1.0 + sp.change * share
    for sh in plan.volume_shifts:
        factor[max(0, sh.day) :] *= 1.0 + sh.change
    return factor


def region_weights_by_day(plan: Plan, days: int, region_weights: np.ndarray) -> np.ndarray:
    """(days, regions) shares of each day's calls: one-region spikes tilt their day."""
    p = np.tile(region_weights, (days, 1))
    for sp in plan.spikes:
        if sp.region is not None and 0 <= sp.day < days:
            p[sp.day, sp.region] *= 1.0 + sp.change
            p[sp.day] /= p[sp.day].sum()
    return p


def with_escalation(roster: Roster, plan: Plan) -> Roster:
    """The roster with the planted agent escalating ``escalation_factor`` times as often, the
    extra escalations taken from calls they would have resolved."""
    a = plan.escalation_agent
    if a is None or not 0 <= a < len(roster):
        return roster
    k = len(ISSUE_TYPES)
    res = roster.resolved_cdf.copy()
    esc = roster.escalated_cdf.copy()
    for pair in range(a * k, (a + 1) * k):
        p_esc = esc[pair] - res[pair]
        new = min(p_esc * plan.escalation_factor, 0.9 * esc[pair])
        res[pair] = esc[pair] - new
    return dataclasses.replace(roster, resolved_cdf=res, escalated_cdf=esc)


def durations(plan: Plan, seconds: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Handle times with every AHT shift in force on the call's day applied."""
    factor = np.ones(len(day))
    for sh in plan.aht_shifts:
        factor[day >= sh.day] *= 1.0 + sh.change
    return seconds * factor


def issues(plan: Plan, rng: np.random.Generator, issue: np.ndarray, day: np.ndarray) -> np.ndarray:
    """From the mix day on, other calls become the mix issue type just often enough that its
    share is multiplied by ``mix_factor`` (the plan's own stream: the main one is untouched)."""
    if plan.mix_day is None:
        return issue
    share = ISSUE_TYPES[plan.mix_issue].share / sum(it.share for it in ISSUE_TYPES)
    target = min(0.95, share * plan.mix_factor)
    switch = (target - share) / (1.0 - share)
    flip = (day >= plan.mix_day) & (issue != plan.mix_issue) & (rng.random(len(day)) < switch)
    return np.where(flip, plan.mix_issue, issue).astype(issue.dtype)


def truth(plan: Plan, start: datetime.date, days: int, calls: int) -> dict[str, Any]:
    """What was planted, in the data's terms (dates, region and issue names, agent ids)."""

    def date(day: int) -> str:
        return (start + datetime.timedelta(days=day)).isoformat()

    shifts = [
        {"metric": "calls", "date": date(sh.day), "change": sh.change, "cause": "volume"}
        for sh in plan.volume_shifts
    ] + [
        {"metric": "aht", "date": date(sh.day), "change": sh.change, "cause": "handle time"}
        for sh in plan.aht_shifts
    ]
    out: dict[str, Any] = {
        "start": start.isoformat(),
        "days": days,
        "calls": calls,
        "spikes": [
            {
                "date": date(sp.day),
                "change": sp.change,
                "region": None if sp.region is None else REGIONS[sp.region].name,
            }
            for sp in plan.spikes
            if 0 <= sp.day < days
        ],
        "level_shifts": shifts,
        "mix_change": None,
        "escalation_agent": None,
    }
    if plan.mix_day is not None:
        out["mix_change"] = {
            "date": date(plan.mix_day),
            "issue_type": ISSUE_TYPES[plan.mix_issue].name,
            "share_factor": plan.mix_factor,
            "note": "this issue type's calls are longer and resolve less often, so AHT and "
            "resolution move from this date too",
        }
    if plan.escalation_agent is not None:
        out["escalation_agent"] = {
            "agent_index": plan.escalation_agent,
            "escalation_factor": plan.escalation_factor,
            "outcome": RESOLUTIONS[1],
        }
    return out


def write_truth(path: Path, payload: dict[str, Any], agent_ids: list[str]) -> None:
    """``planted.json``, atomically, with the planted agent named by its id."""
    agent = payload.get("escalation_agent")
    if agent is not None:
        agent["agent_id"] = agent_ids[agent["agent_index"]]
    with atomic_writer(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2)
        fh.write("\n")
