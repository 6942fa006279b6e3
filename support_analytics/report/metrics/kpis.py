"""The KPIs of a segment and their comparison with the previous period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from support_analytics import schema as s
from support_analytics.report.metrics.segments import Period, Segment, data_range
from support_analytics.report.metrics.source import ESCALATED, RESOLVED, plain, query

GOOD_RATING = 4


#: The KPIs in display order: (key, True when higher is better, None when neutral).
KPI_DIRECTIONS: dict[str, bool | None] = {
    "calls": None,
    "aht": False,
    "csat": True,
    "csat_good_share": True,
    "resolution_rate": True,
    "fcr": True,
    "repeat_rate": False,
    "escalation_rate": False,
}


KPI_KEYS: tuple[str, ...] = tuple(KPI_DIRECTIONS)

#: How much of the previous period lies inside the data (web/slicer.js previousCoverage).
FULL, PARTIAL, NONE = "full", "partial", "none"


def previous_coverage(previous: Period, first_day: date | None) -> str:
    """FULL when the previous period lies wholly inside the data, PARTIAL when it starts
    before the data's first day, NONE when it ends before it (or there is no data). A change
    against a period the data only partly covers is not a change: 'year to date' once showed
    +5075% against a previous period holding one day."""
    if first_day is None or previous.end < first_day:
        return NONE
    return PARTIAL if previous.start < first_day else FULL


def kpi_select() -> str:
    return f"""
        count(*) AS calls,
        sum(round({s.CALL_DURATION_MINUTES} * 100)::BIGINT)::DOUBLE
            / (100 * count(*))::DOUBLE AS aht,
        avg({s.RATING}) AS csat,
        count({s.RATING}) AS rated_calls,
        avg(CASE WHEN {s.RATING} IS NULL THEN NULL
                 ELSE ({s.RATING} >= {GOOD_RATING})::DOUBLE END) AS csat_good_share,
        avg(({s.RESOLUTION} = '{RESOLVED}')::DOUBLE) AS resolution_rate,
        avg(({s.RESOLUTION} = '{ESCALATED}')::DOUBLE) AS escalation_rate,
        count(*) FILTER (WHERE {s.RESOLUTION} = '{ESCALATED}') AS escalations,
        avg(repeated::DOUBLE) AS repeat_rate,
        avg(({s.RESOLUTION} = '{RESOLVED}' AND NOT repeated)::DOUBLE) AS fcr
    """


def kpi_row(df: pd.DataFrame) -> dict[str, Any]:
    row = {k: plain(v) for k, v in df.iloc[0].items()} if len(df) else {}
    calls = int(row.get("calls") or 0)
    out: dict[str, Any] = {"calls": calls}
    for key in KPI_KEYS[1:]:
        out[key] = None if calls == 0 or row.get(key) is None else float(row[key])
    out["rated_calls"] = int(row.get("rated_calls") or 0)
    out["escalations"] = int(row.get("escalations") or 0)
    return out


def kpis(seg: Segment, period: Period | None = None) -> dict[str, Any]:
    """calls, aht, csat, csat_good_share, resolution_rate, escalation_rate, repeat_rate, fcr,
    rated_calls, escalations for the segment in ``period`` (default: its reporting period).

    Rates are None over zero calls; CSAT values are None when no call was rated.
    """
    sql = f"SELECT {kpi_select()} FROM flagged WHERE {seg.where(period)}"
    return kpi_row(query(seg.path, sql))


@dataclass(frozen=True)
class KpiComparison:
    """One KPI for the reporting period and the previous period of equal length."""

    key: str
    current: float | int | None
    previous: float | int | None
    coverage: str = FULL  # of the previous period by the data: FULL, PARTIAL or NONE

    @property
    def delta(self) -> float | int | None:
        """current - previous; None when either side is undefined or the previous period is
        not wholly inside the data."""
        if self.coverage != FULL or self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def delta_pct(self) -> float | None:
        """Relative change (0.1 = +10%); None when undefined or the previous value is 0."""
        if self.delta is None or not self.previous:
            return None
        return float(self.delta) / float(self.previous)

    @property
    def good(self) -> bool | None:
        """True when the change is an improvement, False when worse, None when neutral/flat."""
        direction = KPI_DIRECTIONS.get(self.key)
        if direction is None or self.delta is None or abs(self.delta) < 1e-12:
            return None
        return (self.delta > 0) == direction


def kpi_comparison(seg: Segment) -> dict[str, KpiComparison]:
    """Every KPI for the reporting period beside the same number of days just before it
    (compared only when the data covers those days: see :func:`previous_coverage`)."""
    now = kpis(seg)
    before = kpis(seg, seg.period.previous)
    first_day, _, _ = data_range(seg.path)
    coverage = previous_coverage(seg.period.previous, first_day)
    return {k: KpiComparison(k, now[k], before[k], coverage) for k in KPI_KEYS}


def grouped_kpis(seg: Segment, by: list[str], where: str) -> pd.DataFrame:
    cols = ", ".join(by)
    sql = f"""
        SELECT {cols}, {kpi_select()}
        FROM flagged WHERE {where}
        GROUP BY {cols}
        ORDER BY calls DESC, {cols}
    """
    return query(seg.path, sql)
