"""Plotly figures, value boxes and tables from the small frames in :mod:`metrics`.

No data access here. Every text that came from the data (agent names, regions, issue types)
is HTML-escaped before it reaches a figure, so a name like ``<img src=x onerror=...>`` shows
as text. Every builder returns a friendly "no data" figure instead of an empty or broken one."""

from __future__ import annotations

from support_analytics.report.charts.agents import (
    LEADERBOARD_DECIMALS,
    interactive_table,
    leaderboard_frame,
)
from support_analytics.report.charts.breakdowns import (
    duration_distribution,
    issue_breakdown,
    region_comparison,
)
from support_analytics.report.charts.controls import (
    slicer_controls,
)
from support_analytics.report.charts.kpis import (
    ValueBox,
    count_box,
    freshness_box,
    no_data_notice,
    value_box,
)
from support_analytics.report.charts.planning import (
    backtest_frame,
    forecast_figure,
    planning_backtest,
    planning_forecasts,
    planning_select,
    planning_staffing,
    staffing_figure,
    staffing_summary,
)
from support_analytics.report.charts.quality import (
    counts_bar,
    gaps_table,
)
from support_analytics.report.charts.render import (
    CHART_META_KEY,
    PLOTLY_CONFIG,
    SITE_RENDERER,
    WHEN_SIZED,
    Markup,
    figure_markup,
    no_data_figure,
    script_json,
    use_notebook_renderer,
)
from support_analytics.report.charts.timeseries import (
    daily_volume,
    hour_weekday,
)

__all__ = [
    "CHART_META_KEY",
    "LEADERBOARD_DECIMALS",
    "Markup",
    "PLOTLY_CONFIG",
    "SITE_RENDERER",
    "ValueBox",
    "WHEN_SIZED",
    "count_box",
    "counts_bar",
    "daily_volume",
    "duration_distribution",
    "figure_markup",
    "freshness_box",
    "gaps_table",
    "hour_weekday",
    "interactive_table",
    "issue_breakdown",
    "leaderboard_frame",
    "no_data_figure",
    "no_data_notice",
    "region_comparison",
    "script_json",
    "slicer_controls",
    "use_notebook_renderer",
    "value_box",
    "backtest_frame",
    "forecast_figure",
    "planning_backtest",
    "planning_forecasts",
    "planning_select",
    "planning_staffing",
    "staffing_figure",
    "staffing_summary",
]
