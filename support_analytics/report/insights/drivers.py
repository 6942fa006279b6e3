"""Drivers of escalation, non-resolution and low CSAT: issue types, regions, agents and hours
whose rate is markedly higher than the rest of the selection's, as rate ratios with intervals.

A segment is tested only with at least MIN_CALLS calls (rated calls for low CSAT). Many
segments are tested at once (every agent, every hour, three outcomes), so by chance alone a
few 95% intervals would exclude 1: a driver is reported only when its Bonferroni-corrected
interval (family-wise 95% over every test made for the selection) lies above 1, and its rate is
markedly higher: at least MIN_RATIO times the rest's (a 1.1x difference can be real and still
not worth a planner's time). The plain 95% interval is shown beside it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from support_analytics import schema as s
from support_analytics.report.insights import stats
from support_analytics.report.metrics import ESCALATED, RESOLVED, Segment, connect

MIN_CALLS = 100
MIN_RATIO = 1.25
LOW_RATING = 2

#: Dimensions tested: (key, SQL of the segment's name).
DRIVER_DIMENSIONS: dict[str, str] = {
    "issue_type": f"coalesce({s.ISSUE_TYPE}, '')",
    "region": f"coalesce({s.REGION}, '')",
    "agent": f"coalesce({s.AGENT_ID}, '') || ' ' || coalesce({s.AGENT_NAME}, '')",
    "hour": f"lpad({s.HOUR_OF_DAY}::VARCHAR, 2, '0') || ':00 UTC'",
}

#: Outcomes: (key, label, numerator column, denominator column).
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "escalation": ("escalation", "escalated", "known"),
    "non_resolution": ("non-resolution", "unresolved", "known"),
    "low_csat": (f"low CSAT (rating <= {LOW_RATING})", "low", "rated"),
}


@dataclass(frozen=True)
class Driver:
    outcome: str
    dimension: str
    name: str
    n: int  # the denominator (calls with an outcome, or rated calls)
    rate: float
    rest_rate: float
    ratio: float
    low95: float
    high95: float
    low_corrected: float
    high_corrected: float


def _counts(seg: Segment) -> dict[str, list[tuple[str, dict[str, int]]]]:
    """Per dimension, per segment: known outcomes, escalated, unresolved, rated, low."""
    parts = []
    for dim, expr in DRIVER_DIMENSIONS.items():
        parts.append(
            f"""SELECT '{dim}' AS dim, {expr} AS name,
                count({s.RESOLUTION}) AS known,
                count(*) FILTER (WHERE {s.RESOLUTION} = '{ESCALATED}') AS escalated,
                count(*) FILTER (WHERE {s.RESOLUTION} <> '{RESOLVED}') AS unresolved,
                count({s.RATING}) AS rated,
                count(*) FILTER (WHERE {s.RATING} <= {LOW_RATING}) AS low
            FROM calls WHERE {seg.where()} GROUP BY ALL"""
        )
    with connect(seg.path, flagged=False) as con:
        rows = con.execute(" UNION ALL ".join(parts)).fetchall()
    out: dict[str, list[tuple[str, dict[str, int]]]] = {d: [] for d in DRIVER_DIMENSIONS}
    keys = ("known", "escalated", "unresolved", "rated", "low")
    for dim, name, *values in rows:
        out[dim].append((str(name).strip(), dict(zip(keys, map(int, values), strict=True))))
    return out


def drivers(seg: Segment) -> tuple[list[Driver], int]:
    """The drivers found and the number of tests made (the Bonferroni family's size)."""
    counts = _counts(seg)
    totals = {k: sum(v[k] for _, v in counts["hour"]) for k in ("known", "escalated", "unresolved")}
    totals |= {k: sum(v[k] for _, v in counts["hour"]) for k in ("rated", "low")}
    candidates = []
    for outcome, (_, num, den) in OUTCOMES.items():
        for dim, segments in counts.items():
            for name, v in segments:
                a, n1 = v[num], v[den]
                c, n2 = totals[num] - a, totals[den] - n1
                if n1 < MIN_CALLS or n2 <= 0:
                    continue
                candidates.append((outcome, dim, name, a, n1, c, n2))
    tests = len(candidates)
    if tests == 0:
        return [], 0
    z95 = stats.normal_quantile(1 - stats.ALPHA / 2)
    z_corr = stats.normal_quantile(1 - stats.ALPHA / (2 * tests))
    found = []
    for outcome, dim, name, a, n1, c, n2 in candidates:
        if a == 0 or c == 0:
            continue  # no log ratio; a segment without events is never a driver
        ratio = (a / n1) / (c / n2)
        se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
        low_corr = math.exp(math.log(ratio) - z_corr * se)
        if low_corr <= 1 or ratio < MIN_RATIO:
            continue
        found.append(
            Driver(
                outcome,
                dim,
                name,
                n1,
                a / n1,
                c / n2,
                ratio,
                math.exp(math.log(ratio) - z95 * se),
                math.exp(math.log(ratio) + z95 * se),
                low_corr,
                math.exp(math.log(ratio) + z_corr * se),
            )
        )
    found.sort(key=lambda d: (list(OUTCOMES).index(d.outcome), -d.ratio, d.dimension, d.name))
    return found, tests


def describe(d: Driver) -> str:
    """'Agent A012 Ana Silva: escalation 31.0% vs 11.2% for the rest (x2.77, 95% 2.41-3.18)'."""
    what = {"issue_type": "issue type", "region": "region", "agent": "agent", "hour": "hour"}
    return (
        f"{what[d.dimension]} {d.name or 'unknown'}: {OUTCOMES[d.outcome][0]} "
        f"{100 * d.rate:.1f}% vs {100 * d.rest_rate:.1f}% for the rest "
        f"(x{d.ratio:.2f}, 95% interval {d.low95:.2f}-{d.high95:.2f}; n = {d.n:,})"
    )
