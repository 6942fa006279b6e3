"""Planning: what is coming and how many agents it needs.

- ``volumes``: one DuckDB aggregate (region x day x hour: calls, handle time, agents on calls)
  and the daily/hourly series and recent weekday-hour figures drawn from it;
- ``methods``: the three candidate forecasts (seasonal naive, 8-week weekday mean, statsmodels);
- ``forecast``: a rolling-origin backtest that picks one of them and scores
  them all (WAPE, MASE, bias, interval coverage), forecasts with 80% and 95% intervals;
- ``erlang``: Erlang B, C and A over numpy, stable for hundreds of agents;
- ``staffing``: the fewest agents meeting a service-level target, before and after shrinkage;
- ``page``: everything the Planning page shows, for all calls and each region."""

from __future__ import annotations

from support_analytics.report.planning.erlang import QueueResult, erlang_a, erlang_c
from support_analytics.report.planning.forecast import (
    DAILY,
    HOURLY,
    METHOD_LABELS,
    METHODS,
    Forecast,
    ShortHistoryError,
    backtest,
    forecast,
    score,
)
from support_analytics.report.planning.page import (
    DEFAULT_DAYS,
    DEFAULT_HOURS,
    PlanningPage,
    SeriesPlan,
    planning_page,
    series_forecast,
    staffing_grid,
)
from support_analytics.report.planning.staffing import (
    DEFAULT_ANSWER_WITHIN,
    DEFAULT_INTERVAL_MINUTES,
    DEFAULT_MAX_OCCUPANCY,
    DEFAULT_SHRINKAGE,
    DEFAULT_TARGET,
    ServiceTarget,
    Staffing,
    required_agents,
    staffing_plan,
)
from support_analytics.report.planning.volumes import (
    ALL_CALLS,
    RECENT_WEEKS,
    Volumes,
    load_volumes,
)

__all__ = [
    "ALL_CALLS",
    "DAILY",
    "DEFAULT_ANSWER_WITHIN",
    "DEFAULT_DAYS",
    "DEFAULT_HOURS",
    "DEFAULT_INTERVAL_MINUTES",
    "DEFAULT_MAX_OCCUPANCY",
    "DEFAULT_SHRINKAGE",
    "DEFAULT_TARGET",
    "Forecast",
    "HOURLY",
    "METHODS",
    "METHOD_LABELS",
    "PlanningPage",
    "QueueResult",
    "RECENT_WEEKS",
    "SeriesPlan",
    "ServiceTarget",
    "ShortHistoryError",
    "Staffing",
    "Volumes",
    "backtest",
    "erlang_a",
    "erlang_c",
    "forecast",
    "planning_page",
    "required_agents",
    "score",
    "series_forecast",
    "staffing_grid",
    "staffing_plan",
    "load_volumes",
]
