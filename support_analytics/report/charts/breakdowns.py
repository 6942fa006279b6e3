"""Breakdown charts: durations by issue type, issues with their resolution mix, regions
compared."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from support_analytics.report import labels, styles
from support_analytics.report.charts.render import named_chart, no_data_figure
from support_analytics.report.metrics import Segment


def _bin_label(start: float, end: float | None) -> str:
    return f"{start:g}+" if end is None or pd.isna(end) else f"{start:g}–{end:g}"


@named_chart("duration")
def duration_distribution(df: pd.DataFrame) -> go.Figure:
    """Stacked bars of calls per duration bin, one colour per issue type.

    The x axis is numeric (minutes), ticks every fourth bin, so its labels fit down to a phone's
    width; a label per bin ("8–10", "10–12", ...) overlapped below 1,400 px. The hover names
    the exact bin, and the open last bin is ticked "40+"."""
    if df.empty or int(df["calls"].sum()) == 0:
        return no_data_figure()
    closed = df.dropna(subset=["bin_end"])
    width = float((closed["bin_end"] - closed["bin_start"]).min()) if len(closed) else 2.0
    starts = sorted(df["bin_start"].unique())
    last_open = df.loc[df["bin_end"].isna(), "bin_start"]
    fig = go.Figure()
    totals = df.groupby("issue_type")["calls"].sum().sort_values(ascending=False)
    for i, issue in enumerate(totals.index):
        part = df[df["issue_type"] == issue]
        full = labels.humanize(issue)
        fig.add_bar(
            x=part["bin_start"].astype(float).tolist(),
            y=part["calls"],
            width=width,
            offset=0,
            customdata=[
                _bin_label(a, b) for a, b in zip(part["bin_start"], part["bin_end"], strict=True)
            ],
            name=labels.chart_text(labels.shorten(full)),
            marker_color=styles.CATEGORICAL[i % len(styles.CATEGORICAL)],
            hovertemplate=f"{labels.template_text(full)}<br>%{{customdata}} min: %{{y:,}} calls"
            "<extra></extra>",
        )
    step = 4 * width  # every 8 minutes: the labels fit a phone's width too
    top = float(max(starts))
    ticks = [float(step * k) for k in range(int(top // step) + 1)]
    if len(last_open) and float(last_open.iloc[0]) not in ticks:
        ticks.append(float(last_open.iloc[0]))
    text = [
        f"{v:g}+" if len(last_open) and v == float(last_open.iloc[0]) else f"{v:g}" for v in ticks
    ]
    fig.update_layout(**styles.base_layout(barmode="stack", bargap=0.05))
    fig.update_xaxes(
        title_text="call duration (minutes)",
        tickvals=ticks,
        ticktext=text,
        tickangle=0,
        range=[float(min(starts)), float(max(starts)) + width],
    )
    fig.update_yaxes(title_text="calls", gridcolor=styles.GRID)
    return fig


@named_chart("issues")
def issue_breakdown(df: pd.DataFrame) -> go.Figure:
    """Horizontal stacked bars: calls per issue type split by resolution, biggest issue on top.
    The bars are keyed by the whole name (two long names cut alike stay two bars); the axis
    shows them cut, the hover whole."""
    if df.empty or int(df["calls"].sum()) == 0:
        return no_data_figure()
    issues = df.drop_duplicates("issue_type")["issue_type"].tolist()
    y_labels = [labels.chart_text(labels.humanize(i)) for i in issues]
    y_ticks = [labels.chart_text(labels.shorten(labels.humanize(i))) for i in issues]
    fig = go.Figure()
    resolutions = (
        df.groupby("resolution")["calls"].sum().sort_values(ascending=False).index.tolist()
    )
    for i, res in enumerate(resolutions):
        part = df[df["resolution"] == res].set_index("issue_type").reindex(issues)
        shares = (part["calls"] / part["issue_calls"]).fillna(0.0)
        full = labels.humanize(res)
        fig.add_bar(
            y=y_labels,
            x=part["calls"].fillna(0).astype(int).tolist(),
            customdata=(100 * shares).round(1).tolist(),
            name=labels.chart_text(labels.shorten(full)),
            orientation="h",
            marker_color=styles.resolution_color(res, i),
            hovertemplate=f"%{{y}} – {labels.template_text(full)}: %{{x:,}} calls "
            "(%{customdata}%)<extra></extra>",
        )
    fig.update_layout(**styles.base_layout(barmode="stack"))
    fig.update_yaxes(autorange="reversed", tickvals=y_labels, ticktext=y_ticks)
    fig.update_xaxes(title_text="calls", gridcolor=styles.GRID)
    return fig


@named_chart("regions")
def region_comparison(df: pd.DataFrame, seg: Segment) -> go.Figure | None:
    """Key rates per region as horizontal bars, each region labelled with its calls; only on the
    all-regions page (None elsewhere: no card). Horizontal, because region names are long
    ("North America East") and ran into each other as x labels."""
    if seg.region is not None:
        return None
    if df.empty:
        return no_data_figure()
    names = [
        f"{labels.chart_text(r)}<br>{int(c):,} calls"
        for r, c in zip(df["region"], df["calls"], strict=True)
    ]
    ticks = [
        f"{labels.chart_text(labels.shorten(r))}<br>{int(c):,} calls"
        for r, c in zip(df["region"], df["calls"], strict=True)
    ]
    fig = go.Figure()
    for key, color in (
        ("resolution_rate", styles.RESOLUTION_COLORS["resolved"]),
        ("fcr", styles.PRIMARY),
        ("escalation_rate", styles.RESOLUTION_COLORS["escalated"]),
    ):
        label = labels.KPI_LABELS[key]
        fig.add_bar(
            y=names,
            x=[None if v is None or pd.isna(v) else 100 * v for v in df[key]],
            name=label,
            orientation="h",
            marker_color=color,
            hovertemplate=f"%{{y}} – {label}: %{{x:.1f}}%<extra></extra>",
        )
    fig.update_layout(**styles.base_layout(barmode="group", bargap=0.25))
    fig.update_yaxes(autorange="reversed", automargin=True, tickvals=names, ticktext=ticks)
    fig.update_xaxes(ticksuffix="%", rangemode="tozero", gridcolor=styles.GRID, nticks=3)
    return fig
