"""The data-quality page's charts and tables: counts by category, the runs of days without
data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from support_analytics.report import labels, styles
from support_analytics.report.charts.agents import interactive_table
from support_analytics.report.charts.render import Markup, no_data_figure


def counts_bar(df: pd.DataFrame, category: str, value: str, names: Mapping[str, str]) -> go.Figure:
    """Horizontal bars of a small count table (rejects by reason, warnings by kind)."""
    if df.empty:
        return no_data_figure("Nothing recorded")
    y = [labels.chart_text(names.get(c, labels.humanize(c))) for c in df[category]]
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
    # No fixed height: the figure fills its card. A 320 px figure in a shorter card lost its
    # tick labels and axis title below the card's edge at 1,400 px.
    fig.update_layout(**styles.base_layout(margin={"l": 8, "r": 40, "t": 8, "b": 8}))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(rangemode="tozero", gridcolor=styles.GRID, title_text=value, automargin=True)
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


def gaps_table(gaps: pd.DataFrame, data_range: tuple[Any, Any, int]) -> Markup:
    """The runs of days without a single call (the daily chart draws them as gaps, not zeros),
    or one line saying there are none."""
    first, last, _rows = data_range
    if first is None:
        return Markup('<p class="sa-note">No calls were kept: no days to check.</p>', "no data")
    if gaps.empty:
        span = f" from {first.isoformat()} to {last.isoformat()}"
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
