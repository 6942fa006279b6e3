"""Charts over time: daily volume with its 7-day average and the period shaded, the hour x
weekday heatmap."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from support_analytics.report import styles
from support_analytics.report.charts.render import named_chart, no_data_figure
from support_analytics.report.metrics import WEEKDAYS, Period


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------
@named_chart("daily")
def daily_volume(df: pd.DataFrame, period: Period) -> go.Figure:
    """Calls per day over the whole history, the 7-day average, and the reporting period shaded."""
    if df.empty or int(df["calls"].sum()) == 0:
        return no_data_figure("No calls in the data yet")
    dates = pd.to_datetime(df["call_date"])
    fig = go.Figure()
    fig.add_bar(
        x=dates,
        y=df["calls"],
        name="Calls per day",
        marker_color=styles.MUTED,
        hovertemplate="%{x|%a %d %b %Y}: %{y:,} calls<extra></extra>",
    )
    fig.add_scatter(
        x=dates,
        y=df["avg_7d"],
        name="7-day average",
        mode="lines",
        line={"color": styles.PRIMARY, "width": 2.5},
        hovertemplate="%{x|%d %b %Y}: %{y:,.1f} calls/day (7-day avg)<extra></extra>",
    )
    fig.add_vrect(
        x0=pd.Timestamp(period.start) - pd.Timedelta(hours=12),
        x1=pd.Timestamp(period.end) + pd.Timedelta(hours=12),
        fillcolor=styles.PERIOD_FILL,
        line_width=0,
        layer="below",
        annotation_text="reporting period",
        annotation_position="top left",
        annotation_font_color=styles.PRIMARY,
    )
    fig.update_layout(**styles.base_layout(bargap=0.1))
    fig.update_yaxes(title_text="calls", rangemode="tozero", gridcolor=styles.GRID)
    fig.update_xaxes(showgrid=False)
    return fig


@named_chart("heatmap")
def hour_weekday(df: pd.DataFrame) -> go.Figure:
    """Heatmap of calls by weekday (rows) and hour of day in UTC (columns)."""
    if df.empty or int(df["calls"].sum()) == 0:
        return no_data_figure()
    grid = df.pivot(index="weekday", columns="hour", values="calls").reindex(
        index=range(7), columns=range(24), fill_value=0
    )
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy().tolist(),
            # Numeric hours: plotly then picks as many ticks as fit (a label per category
            # overlapped at 1024 px); the hover still names the exact hour.
            x=list(range(24)),
            y=list(WEEKDAYS),
            customdata=[[f"{h:02d}:00" for h in range(24)] for _ in range(7)],
            colorscale=styles.HEATMAP_SCALE,
            colorbar={"title": {"text": "calls"}, "thickness": 12},
            hovertemplate="%{y} %{customdata} UTC: %{z:,} calls<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(**styles.base_layout())
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="hour of day (UTC)", tickangle=0, range=[-0.5, 23.5])
    return fig
