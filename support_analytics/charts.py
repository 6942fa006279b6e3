"""Plotly figures, value boxes and tables from the small frames in :mod:`metrics`.

No data access here. Every text that came from the data (agent names, regions, issue types)
is HTML-escaped before it reaches a figure, so a name like ``<img src=x onerror=...>`` shows
as text. Every builder returns a friendly "no data" figure instead of an empty or broken one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import NotebookRenderer
from plotly.subplots import make_subplots

from support_analytics import labels, styles
from support_analytics.metrics import WEEKDAYS, KpiComparison, Period, Segment

#: Quarto renders stored outputs: each figure must be stored as text/html. The "notebook"
#: renderer writes plotly.js into the page once (with the first figure), so it works offline.
NOTEBOOK_RENDERER = "notebook"
# plotly adds a MathJax <script src> from a CDN to every figure; it only typesets LaTeX, which
# these charts never use, and it is the one network request a page would make.
_MATHJAX_SCRIPT = re.compile(r'<script src="https://[^"]*mathjax[^"]*"></script>', re.IGNORECASE)


class _OfflineNotebookRenderer(NotebookRenderer):
    """plotly's notebook renderer (plotly.js embedded once per page), minus the MathJax CDN."""

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
        bundle = super().to_mimebundle(fig_dict)
        bundle["text/html"] = _MATHJAX_SCRIPT.sub("", bundle["text/html"])
        return bundle


def use_notebook_renderer() -> None:
    """Store figures as self-contained text/html outputs (papermill's default is JSON only,
    which Quarto cannot display)."""
    pio.renderers[NOTEBOOK_RENDERER] = _OfflineNotebookRenderer()
    pio.renderers.default = NOTEBOOK_RENDERER


def no_data_figure(message: str = "No calls for this segment in the reporting period") -> go.Figure:
    """An empty chart that says why it is empty."""
    fig = go.Figure()
    fig.add_annotation(
        text=labels.escape(message),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 15, "color": styles.NOTE_TEXT},
    )
    fig.update_layout(
        **styles.base_layout(height=300),
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


# --------------------------------------------------------------------------------------------
# Value boxes and notices
# --------------------------------------------------------------------------------------------
def value_box(comparison: KpiComparison) -> dict[str, str]:
    """A Quarto value box: plain str values only (Quarto parses the printed dict), coloured by
    whether the change vs the previous period is good."""
    key = comparison.key
    value = labels.fmt_kpi(key, comparison.current)
    if comparison.current is not None:
        value = f"{value} ({labels.fmt_delta(key, comparison.delta, comparison.delta_pct)})"
    if comparison.current is None:
        color = styles.BOX_EMPTY
    elif comparison.good is True:
        color = styles.BOX_GOOD
    elif comparison.good is False:
        color = styles.BOX_BAD
    else:
        color = styles.BOX_NEUTRAL
    return {"icon": styles.KPI_ICONS[key], "color": color, "value": str(value)}


def count_box(key: str, value: int, *, alert: bool = False) -> dict[str, str]:
    """A value box for a data-quality count: amber when it needs attention."""
    color = "warning" if alert else styles.BOX_GOOD if key == "output" else styles.BOX_NEUTRAL
    return {"icon": styles.QUALITY_ICONS[key], "color": color, "value": labels.fmt_int(value)}


def freshness_box(data_range: tuple[Any, Any, int]) -> dict[str, str]:
    """A value box with the latest call date in the data (and the first, for context)."""
    first, last, _rows = data_range
    if last is None:
        return {
            "icon": styles.QUALITY_ICONS["fresh"],
            "color": styles.BOX_EMPTY,
            "value": "no calls",
        }
    return {
        "icon": styles.QUALITY_ICONS["fresh"],
        "color": styles.BOX_NEUTRAL,
        "value": f"{last.isoformat()} (since {first.isoformat()})",
    }


class _Html:
    """A minimal rich-display object: its text/html is exactly the given markup."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return "notice"


def no_data_notice(seg: Segment, comparisons: Mapping[str, KpiComparison]) -> _Html | None:
    """A banner for a segment with no calls in the reporting period; None (no card) otherwise."""
    if comparisons["calls"].current:
        return None
    where = "all regions" if seg.region is None else f"region {seg.region}"
    text = (
        f"No data for {where} between {seg.period.start.isoformat()} and "
        f"{seg.period.end.isoformat()}. Charts below are empty on purpose; pick another period "
        "or region, or check the Data quality page."
    )
    return _Html(
        '<div class="alert alert-warning" role="alert" style="margin:0">'
        f"<strong>No data for this segment.</strong> {labels.escape(text)}</div>"
    )


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------
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
            x=[f"{h:02d}:00" for h in range(24)],
            y=list(WEEKDAYS),
            colorscale=styles.HEATMAP_SCALE,
            colorbar={"title": {"text": "calls"}, "thickness": 12},
            hovertemplate="%{y} %{x} UTC: %{z:,} calls<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(**styles.base_layout())
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="hour of day (UTC)", tickangle=0, dtick=2)
    return fig


def _bin_label(start: float, end: float | None) -> str:
    return f"{start:g}+" if end is None or pd.isna(end) else f"{start:g}–{end:g}"


def duration_distribution(df: pd.DataFrame) -> go.Figure:
    """Stacked bars of calls per duration bin, one colour per issue type."""
    if df.empty or int(df["calls"].sum()) == 0:
        return no_data_figure()
    order = (
        df.drop_duplicates("bin_start")
        .sort_values("bin_start")
        .apply(lambda r: _bin_label(r["bin_start"], r["bin_end"]), axis=1)
        .tolist()
    )
    fig = go.Figure()
    totals = df.groupby("issue_type")["calls"].sum().sort_values(ascending=False)
    for i, issue in enumerate(totals.index):
        part = df[df["issue_type"] == issue]
        name = labels.escape(labels.humanize(issue))
        fig.add_bar(
            x=[_bin_label(a, b) for a, b in zip(part["bin_start"], part["bin_end"], strict=True)],
            y=part["calls"],
            name=name,
            marker_color=styles.CATEGORICAL[i % len(styles.CATEGORICAL)],
            hovertemplate=f"{name}<br>%{{x}} min: %{{y:,}} calls<extra></extra>",
        )
    fig.update_layout(**styles.base_layout(barmode="stack", bargap=0.05))
    fig.update_xaxes(
        title_text="call duration (minutes)", categoryorder="array", categoryarray=order
    )
    fig.update_yaxes(title_text="calls", gridcolor=styles.GRID)
    return fig


def issue_breakdown(df: pd.DataFrame) -> go.Figure:
    """Horizontal stacked bars: calls per issue type split by resolution, biggest issue on top."""
    if df.empty or int(df["calls"].sum()) == 0:
        return no_data_figure()
    issues = df.drop_duplicates("issue_type")["issue_type"].tolist()
    y_labels = [labels.escape(labels.humanize(i)) for i in issues]
    fig = go.Figure()
    resolutions = (
        df.groupby("resolution")["calls"].sum().sort_values(ascending=False).index.tolist()
    )
    for i, res in enumerate(resolutions):
        part = df[df["resolution"] == res].set_index("issue_type").reindex(issues)
        shares = (part["calls"] / part["issue_calls"]).fillna(0.0)
        name = labels.escape(labels.humanize(res))
        fig.add_bar(
            y=y_labels,
            x=part["calls"].fillna(0).astype(int).tolist(),
            customdata=(100 * shares).round(1).tolist(),
            name=name,
            orientation="h",
            marker_color=styles.resolution_color(res, i),
            hovertemplate=f"%{{y}} – {name}: %{{x:,}} calls (%{{customdata}}%)<extra></extra>",
        )
    fig.update_layout(**styles.base_layout(barmode="stack"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="calls", gridcolor=styles.GRID)
    return fig


def region_comparison(df: pd.DataFrame, seg: Segment) -> go.Figure | None:
    """Calls and key rates per region; only on the all-regions page (None elsewhere: no card)."""
    if seg.region is not None:
        return None
    if df.empty:
        return no_data_figure()
    names = [labels.escape(r) for r in df["region"]]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.35, 0.65],
        subplot_titles=("Calls", "Rates"),
        horizontal_spacing=0.12,
    )
    fig.add_bar(
        x=names,
        y=df["calls"],
        name="Calls",
        marker_color=styles.MUTED,
        hovertemplate="%{x}: %{y:,} calls<extra></extra>",
        showlegend=False,
        row=1,
        col=1,
    )
    for key, color in (
        ("resolution_rate", styles.RESOLUTION_COLORS["resolved"]),
        ("fcr", styles.PRIMARY),
        ("escalation_rate", styles.RESOLUTION_COLORS["escalated"]),
    ):
        label = labels.KPI_LABELS[key]
        fig.add_bar(
            x=names,
            y=[None if v is None or pd.isna(v) else 100 * v for v in df[key]],
            name=label,
            marker_color=color,
            hovertemplate=f"%{{x}} – {label}: %{{y:.1f}}%<extra></extra>",
            row=1,
            col=2,
        )
    fig.update_layout(
        **styles.base_layout(
            barmode="group",
            margin={"l": 48, "r": 16, "t": 64, "b": 40},
            legend={"orientation": "h", "yanchor": "bottom", "y": 1.12, "x": 0.4},
        )
    )
    fig.update_yaxes(gridcolor=styles.GRID)
    fig.update_yaxes(ticksuffix="%", rangemode="tozero", row=1, col=2)
    return fig


def counts_bar(df: pd.DataFrame, category: str, value: str, names: Mapping[str, str]) -> go.Figure:
    """Horizontal bars of a small count table (rejects by reason, warnings by kind)."""
    if df.empty:
        return no_data_figure("Nothing recorded")
    y = [labels.escape(names.get(c, labels.humanize(c))) for c in df[category]]
    colors = [styles.ACCENT if v else styles.MUTED for v in df[value]]
    fig = go.Figure(
        go.Bar(
            y=y,
            x=df[value].tolist(),
            orientation="h",
            marker_color=colors,
            text=[f"{int(v):,}" for v in df[value]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig.update_layout(**styles.base_layout(height=320, margin={"l": 8, "r": 40, "t": 8, "b": 32}))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(rangemode="tozero", gridcolor=styles.GRID, title_text=value)
    if int(df[value].max()) < 5:  # small counts: whole-number ticks, not 0.2 steps
        fig.update_xaxes(dtick=1)
    if int(df[value].sum()) == 0:
        fig.add_annotation(
            text="none - all clear",
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": 14, "color": styles.RESOLUTION_COLORS["resolved"]},
        )
        fig.update_xaxes(range=[0, 1])
    return fig


# --------------------------------------------------------------------------------------------
# Tables (itables: sortable and searchable in the browser, every cell escaped)
# --------------------------------------------------------------------------------------------
def leaderboard_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The agent leaderboard as displayed: friendly headers, rounded numbers (still numeric so
    the browser sorts them as numbers)."""

    def pct(col: str) -> pd.Series:
        return (100 * df[col].astype("float64")).round(1)

    return pd.DataFrame(
        {
            "Agent": df["agent_name"].fillna(df["agent_id"]).fillna("Unknown agent"),
            "Region": df["region"].fillna("Unknown"),
            "Calls": df["calls"].astype("int64"),
            "AHT (min)": df["aht"].astype("float64").round(1),
            "CSAT": df["csat"].astype("float64").round(2),
            "Resolution %": pct("resolution_rate"),
            "FCR %": pct("fcr"),
            "Escalations": df["escalations"].astype("int64"),
        }
    )


def show_table(df: pd.DataFrame, **options: Any) -> None:
    """Display an interactive, offline table: DataTables' JavaScript is written into this same
    output (a separate or hidden init cell would leave the table "Loading..." forever), and
    ``allow_html=False`` makes itables escape every cell."""
    from itables import init_notebook_mode, show

    init_notebook_mode(all_interactive=False, connected=False)
    text_columns = [
        i for i, dtype in enumerate(df.dtypes) if not pd.api.types.is_numeric_dtype(dtype)
    ]
    settings: dict[str, Any] = {
        "allow_html": False,
        "columnDefs": [{"className": "dt-left", "targets": text_columns}],
        "classes": "display compact",
        "pageLength": 15,
        "lengthMenu": [15, 50, 100],
        "showIndex": False,
    }
    settings.update(options)
    show(df, **settings)
