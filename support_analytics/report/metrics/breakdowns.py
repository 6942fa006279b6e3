"""Breakdowns of a segment: durations by issue type, issues with their resolution mix, regions
compared."""

from __future__ import annotations

import pandas as pd

from support_analytics import schema as s
from support_analytics.report.metrics.kpis import grouped_kpis
from support_analytics.report.metrics.segments import Segment
from support_analytics.report.metrics.source import query

#: The duration histogram's bins: 2-minute bins, the last one open (40 minutes and more).
DURATION_BIN_MINUTES = 2.0


DURATION_MAX_MINUTES = 40.0


def duration_histogram(
    seg: Segment,
    bin_minutes: float = DURATION_BIN_MINUTES,
    max_minutes: float = DURATION_MAX_MINUTES,
) -> pd.DataFrame:
    """Calls in the reporting period by issue type and duration bin (pre-binned in SQL so the
    page never carries raw points). Durations >= ``max_minutes`` share the last bin; columns
    issue_type, bin_start, bin_end (None for the open last bin), calls."""
    last = int(max_minutes // bin_minutes)
    sql = f"""
        SELECT coalesce({s.ISSUE_TYPE}, '') AS issue_type,
            least(floor({s.CALL_DURATION_MINUTES} / {bin_minutes}), {last})::INTEGER AS bin,
            count(*) AS calls
        FROM calls WHERE {seg.where()}
        GROUP BY 1, 2 ORDER BY 1, 2
    """
    df = query(seg.path, sql)
    df["bin_start"] = df["bin"].astype(float) * bin_minutes
    df["bin_end"] = [None if b >= last else (b + 1) * bin_minutes for b in df["bin"]]
    return df[["issue_type", "bin_start", "bin_end", "calls"]]


def issue_breakdown(seg: Segment) -> pd.DataFrame:
    """Calls in the reporting period by issue type and resolution, largest issue first;
    columns issue_type, resolution, calls, issue_calls."""
    sql = f"""
        SELECT coalesce({s.ISSUE_TYPE}, '') AS issue_type,
            coalesce({s.RESOLUTION}, '') AS resolution, count(*) AS calls,
            sum(count(*)) OVER (PARTITION BY coalesce({s.ISSUE_TYPE}, ''))::BIGINT AS issue_calls
        FROM calls WHERE {seg.where()}
        GROUP BY 1, 2 ORDER BY issue_calls DESC, issue_type, resolution
    """
    return query(seg.path, sql)


def region_comparison(seg: Segment) -> pd.DataFrame:
    """Every KPI per region for the reporting period and the segment's issue types: every
    region when the segment has no region filter, else the selected ones. Calls without a
    region are left out."""
    df = grouped_kpis(seg, [s.REGION], f"{seg.where()} AND {s.REGION} IS NOT NULL")
    return df.rename(columns={s.REGION: "region"})
