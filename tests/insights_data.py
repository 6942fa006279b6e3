"""Calls built in memory and written as cleaned Parquet, for insight tests that need a known
truth (an exact mix change, outcomes independent of every segment)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from support_analytics import schema as s


def write_calls(
    path: Path,
    *,
    day: np.ndarray,
    issue: list[str] | np.ndarray,
    region: list[str] | np.ndarray,
    resolution: list[str] | np.ndarray,
    minutes: np.ndarray,
    rating: np.ndarray | None = None,
    agent: list[str] | np.ndarray | None = None,
    hour: np.ndarray | None = None,
    first_day: dt.date = dt.date(2026, 1, 1),
) -> Path:
    """One cleaned call per element: ``day`` counts days from ``first_day``; ``rating`` 0 means
    unrated. Customer ids are all distinct (no repeats)."""
    n = len(day)
    hour = np.full(n, 12) if hour is None else np.asarray(hour)
    base = np.datetime64(first_day.isoformat(), "us")
    start = base + np.asarray(day).astype("timedelta64[D]") + hour.astype("timedelta64[h]")
    end = start + (np.round(np.asarray(minutes) * 60e6)).astype("timedelta64[us]")
    agents = np.asarray(agent if agent is not None else ["A001"] * n, dtype=object)
    rating = np.zeros(n, dtype=int) if rating is None else np.asarray(rating)
    table = pa.table(
        {
            s.CALL_ID: [f"c{i}" for i in range(n)],
            s.AGENT_ID: agents,
            s.AGENT_NAME: [f"Agent {a}" for a in agents],
            s.REGION: np.asarray(region, dtype=object),
            s.CUSTOMER_ID: [f"u{i}" for i in range(n)],
            s.START_TIME: pa.array(start, pa.timestamp("us")).cast(s.UTC_TIMESTAMP),
            s.END_TIME: pa.array(end, pa.timestamp("us")).cast(s.UTC_TIMESTAMP),
            s.CALL_DURATION_MINUTES: np.round(np.asarray(minutes, dtype=float), 2),
            s.ISSUE_TYPE: np.asarray(issue, dtype=object),
            s.RESOLUTION: np.asarray(resolution, dtype=object),
            s.RATING: pa.array(np.where(rating > 0, rating, 0), pa.int32()).cast(pa.int32()),
            s.CALL_DATE: pa.array(start.astype("datetime64[D]"), pa.date32()),
            s.HOUR_OF_DAY: pa.array(hour, pa.int32()),
        }
    )
    mask = pa.array(rating <= 0)
    table = table.set_column(
        table.schema.get_field_index(s.RATING),
        s.RATING,
        pa.compute.if_else(mask, pa.scalar(None, pa.int32()), table[s.RATING]),
    )
    pq.write_table(table.cast(s.CLEANED_SCHEMA), path)
    return path
