"""Everything the Planning page shows, for all calls and each region: the daily and hourly
forecasts with their backtests, and the agents each forecast hour needs beside the agents who
were on calls in that weekday and hour recently."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from support_analytics import config
from support_analytics.report.planning.forecast import (
    DAILY,
    HOURLY,
    Forecast,
    ShortHistoryError,
    forecast,
)
from support_analytics.report.planning.staffing import (
    DEFAULT_ANSWER_WITHIN,
    DEFAULT_MAX_OCCUPANCY,
    DEFAULT_SHRINKAGE,
    DEFAULT_TARGET,
    ServiceTarget,
    staffing_plan,
)
from support_analytics.report.planning.volumes import ALL_CALLS, Volumes, load_volumes

DEFAULT_DAYS = config.PLAN_DAYS
DEFAULT_HOURS = config.PLAN_HOURS


@dataclass
class SeriesPlan:
    """One series' forecasts (None with a ``note`` saying why) and staffing grid."""

    name: str
    daily: Forecast | None = None
    hourly: Forecast | None = None
    notes: dict[str, str] = field(default_factory=dict)
    staffing: pd.DataFrame | None = None


@dataclass
class PlanningPage:
    """The page's series by name (all calls first, then the regions) and its parameters."""

    series: dict[str, SeriesPlan]
    target: ServiceTarget
    days: int
    hours: int

    @property
    def names(self) -> list[str]:
        return list(self.series)


def series_forecast(
    data: Volumes, name: str, days: int = DEFAULT_DAYS, hours: int = DEFAULT_HOURS
) -> SeriesPlan:
    """The daily and hourly forecasts of one series (``ALL_CALLS`` or a region); a series
    with too little history gets a note instead of a forecast."""
    plan = SeriesPlan(name)
    region = None if name == ALL_CALLS else name
    if days > 0:
        try:
            plan.daily = forecast(data.daily(region), DAILY, days)
        except ShortHistoryError as exc:
            plan.notes["daily"] = str(exc).capitalize()
    if hours > 0:
        try:
            plan.hourly = forecast(data.hourly_series(region), HOURLY, hours)
        except ShortHistoryError as exc:
            plan.notes["hourly"] = str(exc).capitalize()
    return plan


def staffing_grid(data: Volumes, plan: SeriesPlan, target: ServiceTarget) -> pd.DataFrame | None:
    """Agents needed in each forecast hour (Erlang C on the forecast calls and that weekday
    and hour's recent AHT) beside the agents on calls in that weekday and hour recently;
    ``short`` marks hours where fewer were on calls than are needed."""
    if plan.hourly is None:
        return None
    region = None if plan.name == ALL_CALLS else plan.name
    frame = plan.hourly.frame[["period", "value"]].rename(columns={"value": "calls"})
    frame["weekday"] = frame["period"].dt.day_of_week
    frame["hour"] = frame["period"].dt.hour
    recent = data.recent(region)
    frame = frame.merge(recent, on=["weekday", "hour"], how="left")
    # No call at all in the recent weeks: the series' AHT over its whole history.
    frame["aht_seconds"] = frame["aht_seconds"].fillna(data.aht_seconds(region))
    out = staffing_plan(frame, 60, target)
    out["short"] = out["agents_on_calls"].notna() & (out["agents_on_calls"] < out["agents"])
    return out


def planning_page(
    parquet_path: Path | str | None = None,
    days: int = DEFAULT_DAYS,
    hours: int = DEFAULT_HOURS,
    target: float = DEFAULT_TARGET,
    answer_within: float = DEFAULT_ANSWER_WITHIN,
    max_occupancy: float = DEFAULT_MAX_OCCUPANCY,
    shrinkage: float = DEFAULT_SHRINKAGE,
) -> PlanningPage:
    """The Planning page's content: one DuckDB pass, then small frames only."""
    goal = ServiceTarget(target, answer_within, max_occupancy, shrinkage)
    data = load_volumes(parquet_path)
    series: dict[str, SeriesPlan] = {}
    for name in [ALL_CALLS, *data.regions]:
        plan = series_forecast(data, name, days, hours)
        plan.staffing = staffing_grid(data, plan, goal)
        series[name] = plan
    return PlanningPage(series, goal, days, hours)
