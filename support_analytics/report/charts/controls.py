"""The overview's toolbar: region and issue pickers, the period, Reset all (web/dashboard.js
brings them to life)."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio

from support_analytics import config
from support_analytics.report import labels, styles
from support_analytics.report.charts.render import (
    PLOTLY_CONFIG,
    Markup,
    no_data_figure,
    script_json,
)
from support_analytics.report.metrics import WEEKDAYS, Segment


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
        # the page's default selection: the report's --start-date/--end-date, else the last
        # 28 days (what the numbers drawn here show before any filter is touched)
        "default_period": {"from": seg.period.start.isoformat(), "to": seg.period.end.isoformat()},
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
        f"All regions · all issue types · {labels.escape(seg.period.label())} "
        "(filters load with the page).</p>"
        f'<script type="application/json" class="sa-slicer-config">{script_json(settings)}'
        "</script>"
        f'<script src="{labels.escape(config.SLICES_FILE_NAME)}"></script>'
        "</div>"
    )
    return Markup(html, "filters")
