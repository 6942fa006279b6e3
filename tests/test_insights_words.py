"""Sentences: in the value box's units, parts that add up to the change as shown, and nothing
said within noise."""

from __future__ import annotations

import random

import pytest

from support_analytics.report import labels
from support_analytics.report.insights import shift_share, stats, words


def test_shown_is_the_value_boxs_last_digit() -> None:
    for key, value in [("resolution_rate", -0.03849), ("aht", 0.25), ("csat", -0.125)]:
        units = words.shown(key, value)
        text = labels.fmt_delta(key, value)
        assert words.fmt_units(key, units) in text


def test_rounded_parts_add_up_to_the_rounded_total() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        key = rng.choice(["resolution_rate", "aht", "csat", "fcr"])
        parts = [rng.uniform(-0.2, 0.2) for _ in range(rng.randint(2, 6))]
        total = sum(parts)
        shown = words.shown_parts(key, total, parts)
        assert sum(shown) == words.shown(key, total)
        mult, decimals, _ = words.UNITS[key]
        for got, part in zip(shown, parts, strict=True):
            assert abs(got - part * mult * 10**decimals) < 1 + 1e-9  # each off by under 1 unit


def _change(delta: float, p_value: float, mix: float, rate: float) -> shift_share.KpiChange:
    tech = shift_share.Contributor("technical", 500, 800, 0.2, 0.3, 0.6, 0.55, mix, rate)
    return shift_share.KpiChange(
        "resolution_rate",
        0.75,
        0.75 + delta,
        stats.TestResult(stats.TWO_PROPORTION, -3.0, p_value),
        {"issue_type": shift_share.Split("issue_type", mix, rate, (tech,))},
    )


def test_within_noise_nothing_is_said() -> None:
    assert words.sentence(_change(-0.02, 0.2, -0.015, -0.005)) is None


def test_a_rate_story_names_the_segment_that_got_worse() -> None:
    said = words.sentence(_change(-0.02, 0.001, -0.004, -0.016))
    assert said == (
        "Resolution rate fell 2.0 pp; 1.6 pp of it is within issue types: technical went "
        "from 60.0% to 55.0%."
    )


def test_when_mix_is_more_than_the_whole_change_the_offset_is_said() -> None:
    said = words.sentence(_change(-0.008, 0.001, -0.021, 0.013))
    assert said is not None
    assert said.startswith(
        "Resolution rate fell 0.8 pp; mix alone took 2.1 pp (rate gave back 1.3 pp): "
        "technical calls rose from 20% to 30% of calls"
    )


@pytest.mark.parametrize("key", ["calls"])
def test_calls_sentence_names_the_biggest_mover(key: str) -> None:
    seg = shift_share.Contributor("Europe", 1000, 1400, 0, 0, None, None, 0.0, 400.0)
    other = shift_share.Contributor("Asia Pacific", 900, 950, 0, 0, None, None, 0.0, 50.0)
    change = shift_share.KpiChange(
        key, 1900, 2350, stats.TestResult(stats.WELCH, 3.0, 0.01),
        {"region": shift_share.Split("region", 0.0, 450.0, (seg, other))},
    )  # fmt: skip
    assert words.sentence(change) == "Calls rose by 450 (23.7%); Europe +400 of it."
