"""The planning page's data, aggregated by DuckDB in one pass over the calls: per region, day
and hour of day (UTC), the calls, their handle time and the distinct agents on them. Every
forecast and staffing figure is computed from this small frame, never from call rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from support_analytics import schema as s
from support_analytics.report.metrics.source import query, resolve_path

#: The series of every call (all regions, and calls of agents not in agents.csv).
ALL_CALLS = "All calls"
#: How many recent weeks the handle time and the agents on calls are taken over.
RECENT_WEEKS = 4


@dataclass(frozen=True)
class Volumes:
    """Hourly counts per region: columns region, call_date, hour, calls, handle_seconds,
    agents; ``days`` are the dates on which the whole dataset has calls (others are missing
    data, not quiet days)."""

    hourly: pd.DataFrame
    days: pd.DatetimeIndex

    @property
    def regions(self) -> list[str]:
        names = self.hourly["region"].dropna().unique().tolist()
        return sorted(str(n) for n in names)

    def _rows(self, region: str | None) -> pd.DataFrame:
        if region is None or region == ALL_CALLS:
            return self.hourly
        return self.hourly[self.hourly["region"] == region]

    def daily(self, region: str | None = None) -> pd.Series:
        """Calls per day from the first to the last day with data; NaN on a day without
        any call in the whole dataset, 0 on a day with calls elsewhere but none here."""
        if self.days.empty:
            return pd.Series(dtype=float)
        index = pd.date_range(self.days.min(), self.days.max(), freq="D")
        rows = self._rows(region)
        counts = rows.groupby("call_date")["calls"].sum()
        out = counts.reindex(index, fill_value=0).astype(float)
        out[~index.isin(self.days)] = np.nan
        return out

    def hourly_series(self, region: str | None = None) -> pd.Series:
        """Calls per hour (UTC) over the same days; NaN through a day without data."""
        if self.days.empty:
            return pd.Series(dtype=float)
        index = pd.date_range(self.days.min(), self.days.max() + pd.Timedelta(hours=23), freq="h")
        rows = self._rows(region)
        stamps = rows["call_date"] + pd.to_timedelta(rows["hour"], unit="h")
        counts = rows["calls"].groupby(stamps).sum()
        out = counts.reindex(index, fill_value=0).astype(float)
        out[~index.normalize().isin(self.days)] = np.nan
        return out

    def aht_seconds(self, region: str | None = None) -> float:
        """Average handle time over the whole history (NaN without calls)."""
        rows = self._rows(region)
        calls = float(rows["calls"].sum())
        return float(rows["handle_seconds"].sum()) / calls if calls else float("nan")

    def recent(self, region: str | None = None, weeks: int = RECENT_WEEKS) -> pd.DataFrame:
        """Per weekday (0 = Monday) and hour over the last ``weeks`` weeks of data: the AHT in
        seconds and the mean number of distinct agents with calls in that hour (days with
        data only; an hour without calls on such a day counts as 0 agents)."""
        grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
        if self.days.empty:
            return pd.DataFrame(
                index=grid, columns=["aht_seconds", "agents_on_calls"]
            ).reset_index()
        start = self.days.max() - pd.Timedelta(days=7 * weeks - 1)
        rows = self._rows(region)
        rows = rows[rows["call_date"] >= start]
        # One value per day and hour first. Summing distinct agents over the region groups is
        # exact: an agent belongs to one region (agents.csv), and agents missing from it all
        # sit in the one group without a region.
        per_hour = rows.groupby(["call_date", "hour"])[["calls", "handle_seconds", "agents"]].sum()
        per_hour = per_hour.reset_index()
        per_hour["weekday"] = per_hour["call_date"].dt.day_of_week
        sums = per_hour.groupby(["weekday", "hour"])[["calls", "handle_seconds", "agents"]].sum()
        sums = sums.reindex(grid, fill_value=0)
        recent_days = self.days[self.days >= start]
        day_count = (
            pd.Series(recent_days.day_of_week).value_counts().reindex(range(7), fill_value=0)
        )
        weekday_days = day_count.reindex(sums.index.get_level_values("weekday")).to_numpy()
        total_calls = float(sums["calls"].sum())
        overall = float(sums["handle_seconds"].sum()) / total_calls if total_calls else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            aht = np.where(sums["calls"] > 0, sums["handle_seconds"] / sums["calls"], overall)
            agents = np.where(weekday_days > 0, sums["agents"] / weekday_days, np.nan)
        return pd.DataFrame(
            {"aht_seconds": aht, "agents_on_calls": agents}, index=sums.index
        ).reset_index()


def load_volumes(parquet_path: Path | str | None = None) -> Volumes:
    """One DuckDB aggregate over the cleaned calls (a file, a partitioned folder or s3://)."""
    path = resolve_path(parquet_path)
    sql = f"""
        SELECT {s.REGION} AS region, {s.CALL_DATE} AS call_date, {s.HOUR_OF_DAY} AS hour,
            count(*)::BIGINT AS calls,
            sum({s.CALL_DURATION_MINUTES}) * 60.0 AS handle_seconds,
            count(DISTINCT {s.AGENT_ID})::BIGINT AS agents
        FROM calls
        GROUP BY ALL
        ORDER BY call_date, hour, region
    """
    df = query(path, sql)
    df["call_date"] = pd.to_datetime(df["call_date"])
    df["hour"] = df["hour"].astype(int)
    df["handle_seconds"] = df["handle_seconds"].astype(float)
    days = pd.DatetimeIndex(sorted(df["call_date"].unique()))
    return Volumes(df, days)
