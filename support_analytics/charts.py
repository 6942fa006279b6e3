"""Plotly figures, value boxes and tables from the small frames in :mod:`metrics`.

No data access here. Every text that came from the data (agent names, regions, issue types)
is HTML-escaped before it reaches a figure, so a name like ``<img src=x onerror=...>`` shows
as text. Every builder returns a friendly "no data" figure instead of an empty or broken one.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

from support_analytics import config, labels, styles
from support_analytics.metrics import WEEKDAYS, KpiComparison, Period, Segment

#: Quarto renders stored outputs. A figure is stored as Markdown holding a raw HTML block (a
#: div and a ``Plotly.newPlot`` call), not as text/html: any text/html output makes Quarto add
#: require.js and jQuery from a CDN to the page. plotly.js itself is not in the output: the
#: markup asks for it (``data-sa-needs``) and :mod:`website` loads one copy per site.
SITE_RENDERER = "support_analytics_site"
#: The key in a figure's layout.meta naming the chart (web/dashboard.js redraws by that name).
CHART_META_KEY = "sa_chart"
#: Plotly's configuration on every page.
PLOTLY_CONFIG: dict[str, Any] = {
    "responsive": True,
    # No mode bar: it covered the legends of small cards. Zoom by dragging, reset with a
    # double click, as in any plotly chart.
    "displayModeBar": False,
}


def script_json(value: Any) -> str:
    """JSON that is safe inside an HTML ``<script>``: no ``</script>``, ``<!--`` or ``&``
    sequence can form, whatever strings the data holds."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _raw_html(markup: str) -> str:
    """A Pandoc raw HTML block: Quarto passes it through untouched."""
    return "```{=html}\n" + markup + "\n```\n"


_ids = itertools.count(1)


def _dom_id(prefix: str, payload: str) -> str:
    """An element id that is stable when a notebook is re-executed (content hash plus the
    output's sequence number in this kernel), and unique on the page even when two outputs are
    the same (three identical "no data" charts shared one id, and two were never drawn)."""
    return f"{prefix}-{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:10]}-{next(_ids)}"


#: Draws an element once it has a size, and tells it when the size changes. Dashboard cards
#: have no size while the page lays itself out; a chart drawn then measures its legend and
#: tick labels as zero wide, and they overlap.
_WHEN_SIZED = """(function (id, draw, resize) {
  var el = document.getElementById(id), drawn = false, pending = false;
  function check() {
    pending = false;
    if (el.offsetWidth === 0 || el.offsetHeight === 0) return;
    if (!drawn) { drawn = true; draw(el); } else if (resize) { resize(el); }
  }
  new ResizeObserver(function () {
    if (!pending) { pending = true; requestAnimationFrame(check); }
  }).observe(el);
  check();
})(%(id)s, function (el) {"""


def figure_markup(fig: go.Figure | dict[str, Any]) -> str:
    """The HTML of one chart: a div that fills its card and the call that draws it."""
    spec = pio.to_json(fig, validate=False, remove_uids=True)
    dom_id = _dom_id("sa-plot", spec)
    meta = (json.loads(spec).get("layout") or {}).get("meta") or {}
    name = meta.get(CHART_META_KEY) if isinstance(meta, dict) else None
    chart = f' data-sa-chart="{labels.escape(name)}"' if name else ""
    # A page script (web/dashboard.js) may have replaced the figure before it was drawn.
    return (
        f'<div id="{dom_id}" class="sa-plot html-fill-item" data-sa-needs="plotly"{chart}>'
        "</div>\n"
        f"<script>{_WHEN_SIZED % {'id': json.dumps(dom_id)}}\n"
        f"  var spec = el._saFigure || {script_json(spec)};\n"
        f"  Plotly.newPlot(el, spec.data, spec.layout, {json.dumps(PLOTLY_CONFIG)});\n"
        "}, function (el) { Plotly.Plots.resize(el); });</script>"
    )


def _chart(name: str) -> Callable[[Callable[..., go.Figure | None]], Callable[..., Any]]:
    """Names a chart builder's figure (layout.meta), so the overview's filters can redraw it."""

    def wrap(build: Callable[..., go.Figure | None]) -> Callable[..., Any]:
        @functools.wraps(build)
        def named(*args: Any, **kwargs: Any) -> go.Figure | None:
            fig = build(*args, **kwargs)
            if fig is not None:
                fig.update_layout(meta={CHART_META_KEY: name})
            return fig

        return named

    return wrap


class _SiteRenderer(MimetypeRenderer):
    """Figures as raw HTML in Markdown for Quarto, plus plotly's own JSON for JupyterLab."""

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        return {
            "text/markdown": _raw_html(figure_markup(fig_dict)),
            "application/vnd.plotly.v1+json": json.loads(
                pio.to_json(fig_dict, validate=False, remove_uids=True)
            ),
        }


def use_notebook_renderer() -> None:
    """Store figures in the form the site needs (papermill's default is JSON only, which Quarto
    cannot display, and plotly's notebook renderer inlines plotly.js into every page)."""
    pio.renderers[SITE_RENDERER] = _SiteRenderer()
    pio.renderers.default = SITE_RENDERER


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
class Markup:
    """A rich-display object stored as Markdown holding one raw HTML block (see
    :data:`SITE_RENDERER` for why never text/html)."""

    def __init__(self, html: str, text: str = "") -> None:
        self.html = html
        self.text = text

    def _repr_markdown_(self) -> str:
        return _raw_html(self.html)

    def __repr__(self) -> str:
        return self.text or "html"


@dataclass(frozen=True)
class ValueBox:
    """A dashboard value box: a title, the value in large type and, on its own smaller line
    under it, the change against the previous period.

    Written as the HTML Quarto's own value boxes end up as (bslib's classes, so the theme's
    colours and layout apply), because a code cell's value box takes one string: value and
    change shared one line in the big font and overflowed. Every text is HTML-escaped;
    ``key`` lets a page script find the box."""

    title: str
    value: str
    color: str
    icon: str
    change: str | None = None
    key: str = ""
    change_title: str | None = None

    def html(self) -> str:
        e = labels.escape
        data = f' data-kpi="{e(self.key)}"' if self.key else ""
        change = ""
        if self.change is not None:
            hover = f' title="{e(self.change_title)}"' if self.change_title else ""
            change = f'<p class="sa-kpi-change"{hover}>{e(self.change)}</p>'
        return (
            f'<div class="sa-valuebox card bslib-card valuebox bg-{e(self.color)} html-fill-item"'
            f"{data}>"
            f'<i class="sa-box-icon bi bi-{e(self.icon)}" aria-hidden="true"></i>'
            f'<p class="sa-box-title">{e(self.title)}</p>'
            f'<p class="sa-kpi-value">{e(self.value)}</p>{change}'
            "</div>"
        )

    def _repr_markdown_(self) -> str:
        return _raw_html(self.html())

    def __repr__(self) -> str:
        change = f" ({self.change})" if self.change else ""
        return f"{self.title}: {self.value}{change}"


def _box_color(comparison: KpiComparison) -> str:
    if comparison.current is None:
        return styles.BOX_EMPTY
    if comparison.good is True:
        return styles.BOX_GOOD
    if comparison.good is False:
        return styles.BOX_BAD
    return styles.BOX_NEUTRAL


def value_box(
    comparison: KpiComparison, title: str | None = None, days: int | None = None
) -> ValueBox:
    """A KPI's value box, coloured by whether the change vs the previous period is good."""
    key = comparison.key
    change = None
    if comparison.current is not None:
        change = labels.fmt_delta(key, comparison.delta, comparison.delta_pct)
    before = f"the previous {days} days" if days else "the previous period"
    hover = f"change against {before}"
    return ValueBox(
        title=title or labels.KPI_LABELS[key],
        value=labels.fmt_kpi(key, comparison.current),
        color=_box_color(comparison),
        icon=styles.KPI_ICONS[key],
        change=change,
        key=key,
        change_title=hover if change is not None else None,
    )


def count_box(key: str, value: int, title: str, *, alert: bool = False) -> ValueBox:
    """A value box for a data-quality count: amber when it needs attention."""
    color = "warning" if alert else styles.BOX_GOOD if key == "output" else styles.BOX_NEUTRAL
    return ValueBox(title, labels.fmt_int(value), color, styles.QUALITY_ICONS[key], key=key)


def freshness_box(data_range: tuple[Any, Any, int], title: str) -> ValueBox:
    """A value box with the latest call date in the data and, under it, the first."""
    first, last, _rows = data_range
    icon = styles.QUALITY_ICONS["fresh"]
    if last is None:
        return ValueBox(title, "no calls", styles.BOX_EMPTY, icon, key="fresh")
    return ValueBox(
        title, last.isoformat(), styles.BOX_NEUTRAL, icon, f"since {first.isoformat()}", "fresh"
    )


def no_data_notice(seg: Segment, comparisons: Mapping[str, KpiComparison]) -> Markup | None:
    """A banner for a segment with no calls in the reporting period; None (no card) otherwise."""
    if comparisons["calls"].current:
        return None
    where = "all regions" if seg.region is None else f"region {seg.region}"
    text = (
        f"No data for {where} between {seg.period.start.isoformat()} and "
        f"{seg.period.end.isoformat()}. Charts below are empty on purpose; pick another period "
        "or region, or check the Data quality page."
    )
    return Markup(
        '<div class="alert alert-warning sa-nodata" role="alert" style="margin:0">'
        f"<strong>No data for this segment.</strong> {labels.escape(text)}</div>",
        "notice",
    )


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------
@_chart("daily")
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


@_chart("heatmap")
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


def _bin_label(start: float, end: float | None) -> str:
    return f"{start:g}+" if end is None or pd.isna(end) else f"{start:g}–{end:g}"


@_chart("duration")
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
        name = labels.escape(labels.humanize(issue))
        fig.add_bar(
            x=part["bin_start"].astype(float).tolist(),
            y=part["calls"],
            width=width,
            offset=0,
            customdata=[
                _bin_label(a, b) for a, b in zip(part["bin_start"], part["bin_end"], strict=True)
            ],
            name=name,
            marker_color=styles.CATEGORICAL[i % len(styles.CATEGORICAL)],
            hovertemplate=f"{name}<br>%{{customdata}} min: %{{y:,}} calls<extra></extra>",
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


@_chart("issues")
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


@_chart("regions")
def region_comparison(df: pd.DataFrame, seg: Segment) -> go.Figure | None:
    """Key rates per region as horizontal bars, each region labelled with its calls; only on the
    all-regions page (None elsewhere: no card). Horizontal, because region names are long
    ("North America East") and ran into each other as x labels."""
    if seg.region is not None:
        return None
    if df.empty:
        return no_data_figure()
    names = [
        f"{labels.escape(r)}<br>{int(c):,} calls"
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
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(ticksuffix="%", rangemode="tozero", gridcolor=styles.GRID, nticks=3)
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
# Tables (sortable and searchable in the browser by web/tables.js, every cell as text)
# --------------------------------------------------------------------------------------------
#: Digits shown per leaderboard column (the frame is rounded the same way).
LEADERBOARD_DECIMALS: dict[str, int] = {"AHT (min)": 1, "CSAT": 2, "Resolution %": 1, "FCR %": 1}


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


#: The table is drawn by web/tables.js (one copy per site): rows travel as JSON and every cell
#: is set as text, so a name like ``<img onerror>`` shows as text; numbers keep their type so
#: columns sort as numbers. A page script may have replaced the rows already (``_saRows``).
_TABLE_SCRIPT = """(function () {
  var el = document.getElementById(%(id)s);
  var spec = %(spec)s;
  if (el._saRows) spec.rows = el._saRows;
  if (window.SupportTable) el._saTable = new SupportTable(el, spec);
})();"""


def _cell(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def interactive_table(
    df: pd.DataFrame,
    *,
    decimals: Mapping[str, int] | None = None,
    page_length: int = 15,
    length_menu: tuple[int, ...] = (15, 50, 100),
    paging: bool = True,
    searching: bool = True,
    name: str | None = None,
) -> Markup:
    """A sortable, searchable table that needs no network: the rows travel as JSON in the page
    and web/tables.js (one copy per site, see :mod:`website`) draws them, every cell as text.

    ``decimals`` fixes the digits shown per numeric column (default 0 for integers, 2 for
    floats). The length menu always holds the page length, so its menu never shows blank.
    ``name`` lets a page script find the table and replace its rows (``data-sa-table``)."""
    decimals = dict(decimals or {})
    columns = []
    for column, dtype in df.dtypes.items():
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        default = 0 if pd.api.types.is_integer_dtype(dtype) else 2
        columns.append(
            {
                "title": str(column),
                "numeric": bool(numeric),
                "decimals": int(decimals.get(str(column), default)),
            }
        )
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    menu = sorted(set(length_menu) | {page_length})
    body = json.dumps({"columns": columns, "rows": rows}, ensure_ascii=False, allow_nan=False)
    dom_id = _dom_id("sa-table", body)
    spec = {
        "columns": columns,
        "rows": rows,
        "paging": paging,
        "searching": searching,
        "pageLength": page_length,
        "lengthMenu": menu,
    }
    script = _TABLE_SCRIPT % {
        "id": json.dumps(dom_id),
        "spec": script_json(json.dumps(spec, ensure_ascii=False, allow_nan=False)),
    }
    named = f' data-sa-table="{labels.escape(name)}"' if name else ""
    html = (
        f'<div id="{dom_id}" class="sa-table-wrap" data-sa-needs="tables"{named}></div>\n'
        f"<script>{script}</script>"
    )
    return Markup(html, f"table: {len(df)} rows")


def gaps_table(gaps: pd.DataFrame, data_range: tuple[Any, Any, int]) -> Markup:
    """The runs of days without a single call (the daily chart draws them as gaps, not zeros),
    or one line saying there are none."""
    first, last, _rows = data_range
    if gaps.empty:
        span = f" from {first.isoformat()} to {last.isoformat()}" if first is not None else ""
        return Markup(
            f'<p class="sa-note">None: every day{labels.escape(span)} has calls.</p>',
            "no gaps",
        )
    frame = pd.DataFrame(
        {
            "first day": [d.isoformat() for d in gaps["first_day"]],
            "last day": [d.isoformat() for d in gaps["last_day"]],
            "days": gaps["days"].astype("int64"),
        }
    )
    return interactive_table(frame, page_length=10, searching=False)


def slicer_controls(seg: Segment) -> Markup | None:
    """The overview's filters (region, issue type, period, Reset all): an empty panel that
    web/dashboard.js fills from the data once the page loads, with the styles and the no-data
    figure the Python charts use, so a redrawn chart looks like the one drawn here. None on a
    single-region page (no filters there)."""
    if seg.region is not None:
        return None
    settings = {
        "data_global": config.SLICES_GLOBAL,
        "data_file": config.SLICES_FILE_NAME,
        # the layout as plotly.js needs it: the template as an object, not a name
        "layout": json.loads(pio.to_json(go.Figure(layout=styles.base_layout())))["layout"],
        "colors": {
            "primary": styles.PRIMARY,
            "muted": styles.MUTED,
            "grid": styles.GRID,
            "period_fill": styles.PERIOD_FILL,
            "heatmap_scale": [
                list(s) for s in go.Heatmap(colorscale=styles.HEATMAP_SCALE).colorscale
            ],
            "categorical": list(styles.CATEGORICAL),
            "resolution": dict(styles.RESOLUTION_COLORS),
        },
        "box_colors": {
            "good": styles.BOX_GOOD,
            "bad": styles.BOX_BAD,
            "neutral": styles.BOX_NEUTRAL,
            "empty": styles.BOX_EMPTY,
        },
        "kpi_labels": dict(labels.KPI_LABELS),
        "weekdays": list(WEEKDAYS),
        "no_data": json.loads(pio.to_json(no_data_figure(), validate=False)),
        "no_data_message": "No calls for this selection in the reporting period",
        "plotly_config": PLOTLY_CONFIG,
    }
    html = (
        '<div class="sa-slicer" data-sa-needs="plotly tables slicer">'
        '<div class="sa-controls" role="group" aria-label="Filter the dashboard"></div>'
        '<p class="sa-status" role="status" aria-live="polite">'
        "All regions, the last 28 days (filters load with the page).</p>"
        f'<script type="application/json" class="sa-slicer-config">{script_json(settings)}'
        "</script>"
        f'<script src="{labels.escape(config.SLICES_FILE_NAME)}"></script>'
        "</div>"
    )
    return Markup(html, "filters")
