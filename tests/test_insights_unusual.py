"""Unusual days and level shifts: planted spikes and drops are found with few false alarms,
planted shifts are dated within two days, a one-region spike names its region, and days
without data are gaps, never flagged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from insights_data import write_calls

from support_analytics.report import insights, metrics

Planted = tuple[Path, dict[str, Any]]


def _simulated_days(truth: dict[str, Any]) -> tuple[str, str]:
    """The simulated days only: the day after the last holds just the late calls of western
    regions written in UTC (an incomplete day, rightly flagged, but not simulated)."""
    first = dt.date.fromisoformat(truth["start"])
    return first.isoformat(), (first + dt.timedelta(days=truth["days"] - 1)).isoformat()


@pytest.fixture(scope="module")
def found(planted_world: Planted) -> tuple[list, list]:
    parquet, truth = planted_world
    return insights.find_unusual(metrics.segment(parquet), _simulated_days(truth))


def _all_calls(days: list) -> dict[str, Any]:
    return {d.date: d for d in days if d.series == "all" and d.metric == "calls"}


@pytest.mark.slow
def test_planted_spikes_and_drops_of_40_percent_are_found(
    planted_world: Planted, found: tuple[list, list]
) -> None:
    _, truth = planted_world
    every_region = [s for s in truth["spikes"] if s["region"] is None]
    assert len(every_region) >= 20 and {abs(s["change"]) for s in every_region} == {0.4}
    planted = [s["date"] for s in every_region]
    flagged = _all_calls(found[0])
    recall = sum(day in flagged for day in planted) / len(planted)
    assert recall >= 0.9
    for day in planted:
        if day in flagged:  # the sign is right: a spike is flagged up, a drop down
            change = next(s["change"] for s in truth["spikes"] if s["date"] == day)
            assert np.sign(flagged[day].change) == np.sign(change)


@pytest.mark.slow
def test_at_most_one_false_alarm_per_90_days(
    planted_world: Planted, found: tuple[list, list]
) -> None:
    _, truth = planted_world
    planted = {s["date"] for s in truth["spikes"]}
    false = [d for d in _all_calls(found[0]) if d not in planted]
    assert len(false) <= truth["days"] / 90


@pytest.mark.slow
def test_level_shifts_are_dated_within_two_days(
    planted_world: Planted, found: tuple[list, list]
) -> None:
    _, truth = planted_world
    shifts = [s for s in found[1] if s.series == "all"]
    expected = [(s["metric"], s["date"], s["change"]) for s in truth["level_shifts"]]
    # technical calls are longer: the planted mix change lifts AHT from its date too
    expected.append(("aht", truth["mix_change"]["date"], None))
    for metric, day, change in expected:
        near = [
            s
            for s in shifts
            if s.metric == metric
            and abs((dt.date.fromisoformat(s.date) - dt.date.fromisoformat(day)).days) <= 2
        ]
        assert near, (metric, day, shifts)
        if change is not None:
            assert near[0].change == pytest.approx(change, abs=0.08)
    assert len(shifts) == len(expected)  # nothing else is called a shift


@pytest.mark.slow
def test_a_one_region_spike_names_that_region(
    planted_world: Planted, found: tuple[list, list]
) -> None:
    _, truth = planted_world
    spike = next(s for s in truth["spikes"] if s["region"] is not None)
    day = _all_calls(found[0])[spike["date"]]
    assert day.driver is not None
    assert (day.driver["dimension"], day.driver["name"]) == ("region", spike["region"])
    # an all-region spike has no single driver
    plain = [
        d
        for s in truth["spikes"]
        if s["region"] is None
        for d in [_all_calls(found[0]).get(s["date"])]
        if d is not None
    ]
    assert plain and all(d.driver is None for d in plain)


def _steady(path: Path, skip: range = range(0)) -> Path:
    """70 days of calls with a weekly pattern and day-to-day noise, none on the ``skip`` days."""
    rng = np.random.default_rng(3)
    weekly = np.array([1.3, 1.1, 1.0, 1.0, 0.9, 0.4, 0.25])
    days = []
    for d in range(70):
        if d in skip:
            continue
        days += [d] * int(rng.poisson(300 * weekly[d % 7] * np.exp(rng.normal(0, 0.05))))
    n = len(days)
    return write_calls(
        path,
        day=np.array(days),
        issue=rng.choice(["billing", "technical"], n),
        region=rng.choice(["Europe", "Asia Pacific"], n),
        resolution=rng.choice(["resolved", "escalated"], n),
        minutes=rng.lognormal(1.8, 0.5, n),
        first_day=dt.date(2026, 1, 5),
    )


def test_days_without_data_are_gaps_not_unusual_days(tmp_path: Path) -> None:
    path = _steady(tmp_path / "gap.parquet", skip=range(30, 35))
    gaps = metrics.data_gaps(path)
    assert list(gaps["days"]) == [5]
    days, shifts = insights.find_unusual(metrics.segment(path))
    gap = {(dt.date(2026, 1, 5) + dt.timedelta(days=d)).isoformat() for d in range(30, 35)}
    assert not [d for d in days if d.date in gap]
    assert not [s for s in shifts if s.series == "all" and s.metric == "calls"]


def test_a_steady_weekly_pattern_is_not_unusual(tmp_path: Path) -> None:
    days, shifts = insights.find_unusual(metrics.segment(_steady(tmp_path / "steady.parquet")))
    assert [d for d in days if d.series == "all"] == []
    assert shifts == []


def test_under_two_weeks_of_data_flags_nothing(tmp_path: Path) -> None:
    path = write_calls(
        tmp_path / "short.parquet",
        day=np.r_[np.repeat(np.arange(10), 50), [4] * 400],
        issue=["billing"] * 900,
        region=["Europe"] * 900,
        resolution=["resolved"] * 900,
        minutes=np.full(900, 5.0),
    )
    assert insights.find_unusual(metrics.segment(path)) == ([], [])


def test_a_day_without_calls_in_one_region_is_unusual_not_a_gap(tmp_path: Path) -> None:
    path = _steady(tmp_path / "outage.parquet")
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    outage = dt.date(2026, 2, 11)  # a Wednesday: Europe takes no call that day
    keep = pc.invert(
        pc.and_(pc.equal(table["call_date"], outage), pc.equal(table["region"], "Europe"))
    )
    pq.write_table(table.filter(keep), path)
    days, _ = insights.find_unusual(metrics.segment(path))
    europe = [d for d in days if d.series == "Europe" and d.metric == "calls"]
    assert (outage.isoformat(), 0.0) in [(d.date, d.value) for d in europe]
