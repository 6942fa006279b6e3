"""The Planning page's figures and tables: forecasts with their intervals after the recent
history, the backtest table, and agents needed per weekday and hour beside the agents on
calls recently. Every series (all calls, each region) is drawn in advance; a select on the
page shows one of them (no server, no recomputation in the browser)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from support_analytics.report import labels, styles
from support_analytics.report.charts.render import Markup, figure_markup
from support_analytics.report.metrics import WEEKDAYS
from support_analytics.report.planning import METHOD_LABELS, Forecast, PlanningPage

#: How much history is drawn before a forecast, in periods.
HISTORY_SHOWN = {"daily": 8 * 7, "hourly": 14 * 24}
_BAND_95 = "rgba(44, 111, 187, 0.12)"
_BAND_80 = "rgba(44, 111, 187, 0.28)"


def planning_select(page: PlanningPage) -> Markup:
    """The series chooser: shows the chosen series' figures and tables everywhere on the page."""
    # Options and blocks are matched by position, not by name: a name from the data never
    # sits in an attribute (Quarto re-serialises attributes with "<" unescaped).
    options = "".join(
        f'<option value="{i}">{labels.escape(n)}</option>' for i, n in enumerate(page.names)
    )
    script = (
        "<script>(function () {"
        "var sel = document.currentScript.previousElementSibling.querySelector('select');"
        "sel.addEventListener('change', function () {"
        "document.querySelectorAll('[data-sa-plan]').forEach(function (el) {"
        "el.style.display = el.getAttribute('data-sa-plan') === sel.value ? '' : 'none';"
        "});});})();</script>"
    )
    html = (
        '<div class="sa-plan-toolbar"><label>Series '
        f'<select class="form-select form-select-sm d-inline-block w-auto" '
        f'aria-label="Series to show">{options}</select></label></div>{script}'
    )
    return Markup(html, f"series: {', '.join(page.names)}")


def _per_series(page: PlanningPage, parts: dict[str, str], what: str) -> Markup:
    """One block per series, the first shown, the others hidden until chosen."""
    blocks = []
    for i, name in enumerate(page.names):
        style = "" if i == 0 else ' style="display:none"'
        blocks.append(
            f'<div class="sa-plan-series html-fill-item" data-sa-plan="{i}"'
            f"{style}>{parts[name]}</div>"
        )
    return Markup("".join(blocks), f"{what} for {len(blocks)} series")


def _notice(text: str) -> str:
    return f'<p class="sa-plan-note">{labels.escape(text)}</p>'


def _axis(index: pd.Index, kind: str) -> dict[str, object]:
    """A regular date axis as its start and step (plotly's x0/dx, in milliseconds) instead of
    one date per point: every series of every region is in the page, so this halves it."""
    start = pd.Timestamp(index[0]).strftime("%Y-%m-%d %H:%M")
    return {"x0": start, "dx": (86_400_000 if kind == "daily" else 3_600_000)}


def _rounded(values: pd.Series | np.ndarray) -> list[float | None]:
    return [None if pd.isna(v) else round(float(v), 1) for v in values]


def forecast_figure(fc: Forecast) -> go.Figure:
    """Recent history, then the forecast with its 80% and 95% intervals."""
    kind = fc.freq.name
    history = fc.history.iloc[-HISTORY_SHOWN[kind] :]
    f = fc.frame
    x = _axis(pd.DatetimeIndex(f["period"]), kind)
    hover_fmt = "%a %d %b %Y" if kind == "daily" else "%a %d %b %H:00 UTC"
    fig = go.Figure()
    fig.add_scatter(
        **_axis(history.index, kind),
        y=_rounded(history),
        name="Calls (actual)",
        mode="lines",
        connectgaps=False,
        line={"color": styles.TEXT, "width": 1.5},
        hovertemplate=f"%{{x|{hover_fmt}}}: %{{y:,.0f}} calls<extra></extra>",
    )
    for level, fill in ((95, _BAND_95), (80, _BAND_80)):
        fig.add_scatter(
            **x, y=_rounded(f[f"lower_{level}"]), mode="lines", line={"width": 0},
            showlegend=False, hoverinfo="skip", legendgroup=str(level),
        )  # fmt: skip
        fig.add_scatter(
            **x, y=_rounded(f[f"upper_{level}"]), mode="lines", line={"width": 0},
            fill="tonexty", fillcolor=fill, name=f"{level}% interval", hoverinfo="skip",
            legendgroup=str(level),
        )  # fmt: skip
    custom = [
        _rounded(row) for row in f[["lower_80", "upper_80", "lower_95", "upper_95"]].to_numpy()
    ]
    fig.add_scatter(
        **x,
        y=_rounded(f["value"]),
        name="Forecast",
        mode="lines+markers" if kind == "daily" else "lines",
        line={"color": styles.PRIMARY, "width": 2.5, "dash": "dot"},
        customdata=custom,
        hovertemplate=(
            f"%{{x|{hover_fmt}}}: %{{y:,.1f}} calls ({labels.escape(METHOD_LABELS[fc.method])})"
            "<br>80%: %{customdata[0]:,.1f} to "
            "%{customdata[1]:,.1f}<br>95%: %{customdata[2]:,.1f} to %{customdata[3]:,.1f}"
            "<extra></extra>"
        ),
    )
    fig.update_layout(**styles.base_layout(legend={"orientation": "h", "y": -0.18, "x": 0}))
    fig.update_yaxes(title_text=f"calls per {'day' if kind == 'daily' else 'hour'}",
                     rangemode="tozero", gridcolor=styles.GRID)  # fmt: skip
    fig.update_xaxes(showgrid=False, type="date")
    return fig


def planning_forecasts(page: PlanningPage, kind: str) -> Markup:
    """Each series' ``kind`` ("daily" or "hourly") forecast, or why there is none."""
    parts = {}
    for name, plan in page.series.items():
        fc = getattr(plan, kind)
        if fc is None:
            parts[name] = _notice(plan.notes.get(kind, "No forecast was asked for."))
        else:
            parts[name] = figure_markup(forecast_figure(fc))
    return _per_series(page, parts, f"{kind} forecast")


def backtest_frame(fc: Forecast) -> pd.DataFrame:
    """The backtest table as shown: one row per method, the chosen one first."""
    df = fc.scores.sort_values(["chosen", "wape"], ascending=[False, True])
    return pd.DataFrame(
        {
            "Method": [METHOD_LABELS[m] for m in df["method"]],
            "Chosen": ["yes" if c else "" for c in df["chosen"]],
            "WAPE": [labels.fmt_pct(v) if pd.notna(v) else labels.MISSING for v in df["wape"]],
            "MASE": [f"{v:.2f}" if pd.notna(v) else labels.MISSING for v in df["mase"]],
            "Bias": [f"{v:+.1%}" if pd.notna(v) else labels.MISSING for v in df["bias"]],
            "80% interval held": [_share(v) for v in df["coverage_80"]],
            "95% interval held": [_share(v) for v in df["coverage_95"]],
            "Points": [f"{int(v):,}" for v in df["points"]],
        }
    )


def _share(value: float) -> str:
    return labels.fmt_pct(value) if pd.notna(value) else labels.MISSING


def _table(df: pd.DataFrame, caption: str) -> str:
    head = "".join(f"<th>{labels.escape(c)}</th>" for c in df.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{labels.escape(v)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    # Scrolls sideways inside its card on a phone instead of being cut off.
    return (
        '<div style="overflow-x:auto"><table class="table table-sm sa-plan-table">'
        f"<caption>{labels.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def planning_backtest(page: PlanningPage, kind: str) -> Markup:
    """Each series' backtest of the ``kind`` forecast: every method's scores, the chosen one."""
    parts = {}
    for name, plan in page.series.items():
        fc = getattr(plan, kind)
        if fc is None:
            parts[name] = _notice(plan.notes.get(kind, "No forecast was asked for."))
            continue
        origins = fc.points["origin"].nunique() if len(fc.points) else 0
        if origins == 0:
            parts[name] = _notice("Too little history for a backtest yet: the forecast is "
                                  "the same weekday last week, untested.")  # fmt: skip
            continue
        caption = (
            f"{origins} weekly origins, {kind} forecasts up to {len(fc.frame)} "
            f"{'days' if kind == 'daily' else 'hours'} ahead, scored where the actual is known"
        )
        parts[name] = _table(backtest_frame(fc), caption)
    return _per_series(page, parts, f"{kind} backtest")


def staffing_figure(grid: pd.DataFrame) -> go.Figure:
    """Agents needed on calls per weekday and hour of the coming week; a small triangle in a
    cell's corner (the number stays readable) marks hours when fewer agents were on calls in
    recent weeks than are needed."""
    need = grid.pivot_table(index="weekday", columns="hour", values="agents", aggfunc="max")
    need = need.reindex(index=range(7), columns=range(24))
    had = grid.pivot_table(index="weekday", columns="hour", values="agents_on_calls", aggfunc="max")
    had = had.reindex(index=range(7), columns=range(24))
    roster = grid.pivot_table(index="weekday", columns="hour", values="rostered", aggfunc="max")
    roster = roster.reindex(index=range(7), columns=range(24))
    calls = grid.pivot_table(index="weekday", columns="hour", values="calls", aggfunc="max")
    calls = calls.reindex(index=range(7), columns=range(24))
    custom = np.dstack([had.to_numpy(), roster.to_numpy(), calls.to_numpy()])
    custom = [
        [[*(None if pd.isna(v) else round(float(v), 1) for v in cell), WEEKDAYS[d]] for cell in row]
        for d, row in enumerate(custom)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=need.to_numpy().tolist(),
            x=list(range(24)),
            y=list(range(7)),
            text=[[("" if pd.isna(v) else f"{int(v)}") for v in row] for row in need.to_numpy()],
            texttemplate="%{text}",
            customdata=custom,
            colorscale=styles.HEATMAP_SCALE,
            colorbar={"title": {"text": "agents"}, "thickness": 12},
            hovertemplate=(
                "%{customdata[3]} %{x}:00 UTC<br>forecast: %{customdata[2]} calls<br>"
                "needed on calls: %{z}<br>rostered (after shrinkage): %{customdata[1]}<br>"
                "on calls recently: %{customdata[0]}<extra></extra>"
            ),
            xgap=1,
            ygap=1,
        )
    )
    short = grid[grid["short"]]
    fig.add_scatter(
        x=short["hour"] + 0.3,
        y=short["weekday"] - 0.28,
        mode="markers",
        marker={"symbol": "triangle-down", "size": 8, "color": styles.ACCENT},
        name="fewer on calls recently than needed",
        showlegend=True,  # plotly hides a legend of one entry
        hoverinfo="skip",
    )
    fig.update_layout(**styles.base_layout(legend={"orientation": "h", "y": -0.2, "x": 0}))
    fig.update_yaxes(
        autorange="reversed", tickvals=list(range(7)), ticktext=list(WEEKDAYS), showgrid=False
    )
    fig.update_xaxes(
        title_text="hour of day (UTC)", range=[-0.5, 23.5], tickangle=0, showgrid=False
    )
    return fig


def planning_staffing(page: PlanningPage) -> Markup:
    """Each series' staffing grid, or why there is none."""
    parts = {}
    for name, plan in page.series.items():
        if plan.staffing is None:
            parts[name] = _notice(plan.notes.get("hourly", "No hourly forecast was asked for."))
        else:
            parts[name] = figure_markup(staffing_figure(plan.staffing))
    return _per_series(page, parts, "staffing")


def staffing_summary(page: PlanningPage) -> Markup:
    """One line per series: the peak need, the hours short, the target used."""
    t = page.target
    parts = {}
    for name, plan in page.series.items():
        grid = plan.staffing
        if grid is None:
            parts[name] = _notice(plan.notes.get("hourly", "No hourly forecast."))
            continue
        peak = grid.loc[grid["agents"].idxmax()]
        short = int(grid["short"].sum())
        parts[name] = (
            f"<p>Target: {t.target:.0%} of calls answered within {t.answer_within:g} s, "
            f"occupancy at most {t.max_occupancy:.0%}, shrinkage {t.shrinkage:.0%} (Erlang C). "
            f"Peak: <strong>{int(peak['agents'])}</strong> agents on calls "
            f"({int(peak['rostered'])} rostered) on {WEEKDAYS[int(peak['weekday'])]} at "
            f"{int(peak['hour']):02d}:00 UTC. <strong>{short}</strong> of {len(grid)} hours "
            "had fewer agents on calls in recent weeks than the forecast needs.</p>"
        )
    return _per_series(page, parts, "staffing summary")
