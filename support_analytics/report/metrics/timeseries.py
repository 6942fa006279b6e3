"""Numbers over time: daily volume with its 7-day average, the days without data, the hour x
weekday pattern."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from support_analytics import schema as s
from support_analytics.report.metrics.segments import Segment, data_range
from support_analytics.report.metrics.source import query, resolve_path, sql_str

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --------------------------------------------------------------------------------------------
# Frames for the charts
# --------------------------------------------------------------------------------------------
def daily_volume(seg: Segment) -> pd.DataFrame:
    """Calls per day over the whole history of the segment's regions and issue types, with the
    trailing 7-day average; columns call_date, calls, avg_7d, in_period.

    A day on which the whole dataset has no call at all is missing data (an export that never
    arrived), not a quiet day: its ``calls`` and ``avg_7d`` are null, so the chart shows a gap,
    and the average is taken over the days of the window that have data. A day with calls in
    the data but none in this segment is a real zero."""
    lo, hi, n = data_range(seg.path)
    if n == 0 or lo is None or hi is None:
        return pd.DataFrame({"call_date": [], "calls": [], "avg_7d": [], "in_period": []}).astype(
            {"calls": "int64", "avg_7d": "float64", "in_period": "bool"}
        )
    lo = min(lo, seg.period.start)
    hi = max(hi, seg.period.end)
    sql = f"""
        WITH days AS (
            SELECT d::DATE AS call_date
            FROM generate_series(DATE {sql_str(lo.isoformat())},
                                 DATE {sql_str(hi.isoformat())}, INTERVAL 1 DAY) t(d)
        ),
        counts AS (
            SELECT {s.CALL_DATE} AS call_date,
                count(*) FILTER (WHERE {seg.filters()}) AS calls
            FROM calls GROUP BY 1
        ),
        daily AS (
            SELECT days.call_date, counts.calls::BIGINT AS calls
            FROM days LEFT JOIN counts USING (call_date)
        )
        SELECT call_date, calls,
            CASE WHEN calls IS NULL THEN NULL ELSE avg(calls) OVER (
                ORDER BY call_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW
            ) END AS avg_7d,
            call_date BETWEEN DATE {sql_str(seg.period.start.isoformat())}
                AND DATE {sql_str(seg.period.end.isoformat())} AS in_period
        FROM daily
        ORDER BY call_date
    """
    df = query(seg.path, sql)
    df["call_date"] = pd.to_datetime(df["call_date"]).dt.date
    df["calls"] = df["calls"].astype("Int64")
    return df


def data_gaps(parquet_path: Path | str | None = None) -> pd.DataFrame:
    """Runs of days without a single call inside the data's date range (a missing export looks
    like this); columns first_day, last_day, days. Empty when every day has calls."""
    path = resolve_path(parquet_path)
    sql = f"""
        WITH present AS (SELECT DISTINCT {s.CALL_DATE} AS d FROM calls),
        steps AS (SELECT d, lead(d) OVER (ORDER BY d) AS next_d FROM present)
        SELECT (d + INTERVAL 1 DAY)::DATE AS first_day, (next_d - INTERVAL 1 DAY)::DATE AS last_day,
            (next_d - d - 1)::BIGINT AS days
        FROM steps WHERE next_d - d > 1 ORDER BY first_day
    """
    df = query(path, sql)
    for col in ("first_day", "last_day"):
        df[col] = pd.to_datetime(df[col]).dt.date
    return df.astype({"days": "int64"})


def hour_weekday(seg: Segment) -> pd.DataFrame:
    """Calls in the reporting period by weekday (0 = Monday) and hour of day (UTC), every one
    of the 7 x 24 cells present; columns weekday, hour, calls."""
    sql = f"""
        WITH grid AS (
            SELECT w.weekday, h.hour FROM range(7) w(weekday), range(24) h(hour)
        ),
        counts AS (
            SELECT isodow({s.CALL_DATE}) - 1 AS weekday, {s.HOUR_OF_DAY} AS hour,
                count(*) AS calls
            FROM calls WHERE {seg.where()} GROUP BY 1, 2
        )
        SELECT grid.weekday::INTEGER AS weekday, grid.hour::INTEGER AS hour,
            coalesce(counts.calls, 0)::BIGINT AS calls
        FROM grid LEFT JOIN counts USING (weekday, hour)
        ORDER BY weekday, hour
    """
    return query(seg.path, sql)
