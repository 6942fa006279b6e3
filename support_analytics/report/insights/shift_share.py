"""Why a KPI moved: its change against the previous period split into a rate effect (segments
did better or worse) and a mix effect (the calls moved between segments), by issue type and by
region, with the symmetric Kitagawa form so the two add up to the change with no remainder.

Every number comes from one DuckDB aggregate per selection (counts, sums and sums of squares
per period x issue type x region, as exact integers); nothing here sees a call row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from support_analytics import schema as s
from support_analytics.report.insights import stats
from support_analytics.report.metrics import (
    ESCALATED,
    GOOD_RATING,
    RESOLVED,
    Segment,
    connect,
    data_range,
    previous_coverage,
)
from support_analytics.report.metrics.kpis import FULL
from support_analytics.report.metrics.source import sql_str

#: A segment is named on its own only with at least this many calls in both periods; smaller
#: ones are pooled as "other" before the split (so the split itself is over that partition).
MIN_SEGMENT_CALLS = 30

OTHER = "other"

#: The dimensions a change is split by: (key, SQL expression of the segment's name).
DIMENSIONS: dict[str, str] = {
    "issue_type": f"coalesce({s.ISSUE_TYPE}, '')",
    "region": f"coalesce({s.REGION}, '')",
}

#: Aggregated per period x issue type x region; all integers, so sums are exact.
_COLUMNS = (
    "n",
    "dur",
    "dur_sq",
    "rated",
    "stars",
    "stars_sq",
    "good",
    "resolved",
    "escalated",
    "repeated",
    "fcr",
    "known",
    "fcr_den",
)

#: How each KPI is a ratio of two columns: (numerator, denominator, scale, sum of squares or
#: None for a share). AHT is in hundredths of a minute, exactly as the value box sums it; the
#: shares leave out the calls the value box's averages leave out (a missing resolution).
RATIO_KPIS: dict[str, tuple[str, str, float, str | None]] = {
    "aht": ("dur", "n", 100.0, "dur_sq"),
    "csat": ("stars", "rated", 1.0, "stars_sq"),
    "csat_good_share": ("good", "rated", 1.0, None),
    "resolution_rate": ("resolved", "known", 1.0, None),
    "fcr": ("fcr", "fcr_den", 1.0, None),
    "repeat_rate": ("repeated", "n", 1.0, None),
    "escalation_rate": ("escalated", "known", 1.0, None),
}


@dataclass(frozen=True)
class Contributor:
    """One segment's part of a change: its share of the KPI's denominator and its rate in
    each period, and its mix and rate effects (in the KPI's own unit)."""

    name: str
    calls_before: int
    calls_now: int
    share_before: float
    share_now: float
    rate_before: float | None
    rate_now: float | None
    mix: float
    rate: float

    @property
    def total(self) -> float:
        return self.mix + self.rate


@dataclass(frozen=True)
class Split:
    """A KPI's change split by one dimension: mix + rate == the change (no remainder)."""

    dimension: str
    mix: float
    rate: float
    contributors: tuple[Contributor, ...]  # largest |mix + rate| first; "other" pooled


@dataclass(frozen=True)
class KpiChange:
    """One KPI: both periods, the change the value box shows, its test and its splits."""

    key: str
    previous: float | None
    current: float | None
    test: stats.TestResult
    splits: dict[str, Split] = field(default_factory=dict)
    #: How much of the previous period the data covers (metrics.previous_coverage): like the
    #: value box, a period the data only partly covers gives no change, and nothing is said.
    coverage: str = FULL

    @property
    def delta(self) -> float | None:
        if self.coverage != FULL or self.previous is None or self.current is None:
            return None
        return self.current - self.previous

    @property
    def significant(self) -> bool:
        return self.test.significant


Cells = dict[tuple[int, str, str], dict[str, int]]


def cells(seg: Segment) -> tuple[Cells, tuple[dict[str, int], dict[str, int]]]:
    """The selection's sums per (period 0 = previous / 1 = current, issue type, region), and
    the calls per day of each period (days on which the data has no call at all are gaps and
    left out; a day with calls elsewhere but none in the selection counts as 0)."""
    prev, cur = seg.period.previous, seg.period
    lo, hi = sql_str(prev.start.isoformat()), sql_str(cur.end.isoformat())
    start = sql_str(cur.start.isoformat())
    cm = f"round({s.CALL_DURATION_MINUTES} * 100)::BIGINT"
    sql = f"""
        SELECT ({s.CALL_DATE} >= DATE {start})::INTEGER AS p,
            {DIMENSIONS["issue_type"]} AS issue, {DIMENSIONS["region"]} AS region,
            count(*) AS n, sum({cm}) AS dur, sum(({cm})::HUGEINT * ({cm})) AS dur_sq,
            count({s.RATING}) AS rated, coalesce(sum({s.RATING}), 0) AS stars,
            coalesce(sum({s.RATING}::BIGINT * {s.RATING}), 0) AS stars_sq,
            count(*) FILTER (WHERE {s.RATING} >= {GOOD_RATING}) AS good,
            count(*) FILTER (WHERE {s.RESOLUTION} = '{RESOLVED}') AS resolved,
            count(*) FILTER (WHERE {s.RESOLUTION} = '{ESCALATED}') AS escalated,
            count(*) FILTER (WHERE repeated) AS repeated,
            count(*) FILTER (WHERE {s.RESOLUTION} = '{RESOLVED}' AND NOT repeated) AS fcr,
            count({s.RESOLUTION}) AS known,
            count(*) FILTER (WHERE {s.RESOLUTION} IS NOT NULL OR repeated) AS fcr_den
        FROM flagged
        WHERE {s.CALL_DATE} BETWEEN DATE {lo} AND DATE {hi} AND {seg.filters()}
        GROUP BY ALL
    """
    days_sql = f"""
        SELECT ({s.CALL_DATE} >= DATE {start})::INTEGER AS p,
            count(*) FILTER (WHERE {seg.filters()}) AS n
        FROM calls WHERE {s.CALL_DATE} BETWEEN DATE {lo} AND DATE {hi}
        GROUP BY {s.CALL_DATE}
    """
    with connect(seg.path) as con:
        rows = con.execute(sql).fetchall()
        days = con.execute(days_sql).fetchall()
    out: Cells = {}
    for p, issue, region, *values in rows:
        out[(int(p), str(issue), str(region))] = {
            c: int(v or 0) for c, v in zip(_COLUMNS, values, strict=True)
        }
    daily = ({"n": 0, "sum": 0, "sq": 0}, {"n": 0, "sum": 0, "sq": 0})
    for p, n in days:
        d = daily[int(p)]
        d["n"] += 1
        d["sum"] += int(n)
        d["sq"] += int(n) * int(n)
    return out, daily


def by_dimension(data: Cells, dimension: str) -> dict[str, list[dict[str, int]]]:
    """Sums per segment of one dimension: name -> [previous sums, current sums]."""
    pos = 1 if dimension == "issue_type" else 2
    out: dict[str, list[dict[str, int]]] = {}
    for key, values in data.items():
        both = out.setdefault(key[pos], [dict.fromkeys(_COLUMNS, 0), dict.fromkeys(_COLUMNS, 0)])
        for c in _COLUMNS:
            both[key[0]][c] += values[c]
    return out


def pooled(groups: dict[str, list[dict[str, int]]]) -> dict[str, list[dict[str, int]]]:
    """Segments with fewer than MIN_SEGMENT_CALLS calls in either period pooled as "other"."""
    out: dict[str, list[dict[str, int]]] = {}
    for name, both in sorted(groups.items()):
        small = min(both[0]["n"], both[1]["n"]) < MIN_SEGMENT_CALLS
        target = out.setdefault(
            OTHER if small else name, [dict.fromkeys(_COLUMNS, 0), dict.fromkeys(_COLUMNS, 0)]
        )
        for p in (0, 1):
            for c in _COLUMNS:
                target[p][c] += both[p][c]
    return out


def split(groups: dict[str, list[dict[str, int]]], key: str, dimension: str) -> Split:
    """Symmetric Kitagawa: with w a segment's share of the denominator and r its rate,
    w1 r1 - w0 r0 = (w1 - w0)(r0 + r1)/2 + (r1 - r0)(w0 + w1)/2, summed over segments.

    A segment's mix term is centred on the mean of the two overall values, which leaves the
    sum unchanged (the shares' changes sum to 0) but makes each term say whether moving calls
    into that segment pulled the KPI up or down. A segment absent in one period takes its
    other period's rate there, so all its change is mix."""
    num, den, scale, _ = RATIO_KPIS[key]
    totals = [sum(g[p][den] for g in groups.values()) for p in (0, 1)]
    overall = [
        sum(g[p][num] for g in groups.values()) / (scale * totals[p]) if totals[p] else None
        for p in (0, 1)
    ]
    centre = (overall[0] + overall[1]) / 2 if None not in overall else 0.0
    out: list[Contributor] = []
    for name, both in groups.items():
        w = [both[p][den] / totals[p] if totals[p] else 0.0 for p in (0, 1)]
        r: list[float | None] = [
            both[p][num] / (scale * both[p][den]) if both[p][den] else None for p in (0, 1)
        ]
        r0 = r[0] if r[0] is not None else (r[1] if r[1] is not None else 0.0)
        r1 = r[1] if r[1] is not None else r0
        mix = (w[1] - w[0]) * ((r0 + r1) / 2 - centre)
        rate = (r1 - r0) * (w[0] + w[1]) / 2
        out.append(Contributor(name, both[0]["n"], both[1]["n"], w[0], w[1], r[0], r[1], mix, rate))
    out.sort(key=lambda c: (-abs(c.total), c.name))
    return Split(dimension, sum(c.mix for c in out), sum(c.rate for c in out), tuple(out))


def volume_split(groups: dict[str, list[dict[str, int]]], dimension: str) -> Split:
    """Calls have no rate: each segment's part of the change is its own change in calls."""
    out = [
        Contributor(name, b[0]["n"], b[1]["n"], 0.0, 0.0, None, None, 0.0, b[1]["n"] - b[0]["n"])
        for name, b in groups.items()
    ]
    out.sort(key=lambda c: (-abs(c.total), c.name))
    return Split(dimension, 0.0, float(sum(c.rate for c in out)), tuple(out))


def kpi_changes(seg: Segment) -> dict[str, KpiChange]:
    """Every KPI's change with its test and its split by issue type and by region."""
    data, daily = cells(seg)
    coverage = previous_coverage(seg.period.previous, data_range(seg.path)[0])
    totals = [dict.fromkeys(_COLUMNS, 0), dict.fromkeys(_COLUMNS, 0)]
    for (p, _, _), values in data.items():
        for c in _COLUMNS:
            totals[p][c] += values[c]
    groups = {d: pooled(by_dimension(data, d)) for d in DIMENSIONS}
    d0, d1 = daily
    out: dict[str, KpiChange] = {
        "calls": KpiChange(
            "calls",
            totals[0]["n"],
            totals[1]["n"],
            stats.welch(d0["n"], d0["sum"], d0["sq"], d1["n"], d1["sum"], d1["sq"]),
            {d: volume_split(g, d) for d, g in groups.items()} if coverage == FULL else {},
            coverage,
        )
    }
    for key, (num, den, scale, squares) in RATIO_KPIS.items():
        t0, t1 = totals
        values = [t[num] / (scale * t[den]) if t[den] else None for t in (t0, t1)]
        if squares is None:
            test = stats.two_proportion(t0[num], t0[den], t1[num], t1[den])
        else:
            sq = scale * scale
            test = stats.welch(
                t0[den],
                t0[num] / scale,
                t0[squares] / sq,
                t1[den],
                t1[num] / scale,
                t1[squares] / sq,
            )
        comparable = coverage == FULL and None not in values
        splits = {d: split(g, key, d) for d, g in groups.items()} if comparable else {}
        out[key] = KpiChange(key, values[0], values[1], test, splits, coverage)
    return out


def as_dict(change: KpiChange) -> dict[str, Any]:
    """A KpiChange as plain JSON-ready values."""
    return {
        "key": change.key,
        "previous": change.previous,
        "current": change.current,
        "delta": change.delta,
        "test": change.test.test,
        "statistic": change.test.statistic,
        "p_value": change.test.p_value,
        "significant": change.significant,
        "splits": {
            d: {
                "mix": sp.mix,
                "rate": sp.rate,
                "contributors": [
                    {
                        "name": c.name,
                        "calls_before": c.calls_before,
                        "calls_now": c.calls_now,
                        "share_before": c.share_before,
                        "share_now": c.share_now,
                        "rate_before": c.rate_before,
                        "rate_now": c.rate_now,
                        "mix": c.mix,
                        "rate": c.rate,
                    }
                    for c in sp.contributors
                ],
            }
            for d, sp in change.splits.items()
        },
    }
