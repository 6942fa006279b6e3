"""Colours, icons and the shared Plotly layout, so every page looks like the same product."""

from __future__ import annotations

from typing import Any

#: Bootstrap colour names Quarto value boxes understand.
BOX_GOOD = "success"
BOX_BAD = "danger"
BOX_NEUTRAL = "primary"
BOX_EMPTY = "secondary"

#: Bootstrap icon names (https://icons.getbootstrap.com), one per KPI.
KPI_ICONS: dict[str, str] = {
    "calls": "telephone",
    "aht": "stopwatch",
    "csat": "star",
    "csat_good_share": "emoji-smile",
    "resolution_rate": "check2-circle",
    "fcr": "bullseye",
    "repeat_rate": "arrow-repeat",
    "escalation_rate": "exclamation-triangle",
}

QUALITY_ICONS: dict[str, str] = {
    "input": "file-earmark-text",
    "output": "check2-all",
    "rejected": "x-octagon",
    "warnings": "exclamation-circle",
    "fresh": "calendar-check",
}

PRIMARY = "#2c6fbb"
MUTED = "#b8c7d9"
NOTE_TEXT = "#6b7a8f"
ACCENT = "#e07b39"
PERIOD_FILL = "rgba(44, 111, 187, 0.08)"
GRID = "#e6e9ef"
TEXT = "#2b2f36"
HEATMAP_SCALE = "Blues"

#: Colours for resolutions; anything else gets the next of CATEGORICAL.
RESOLUTION_COLORS: dict[str, str] = {
    "resolved": "#2e9d5b",
    "escalated": "#d64545",
    "unresolved": "#f0a431",
    "follow_up": "#8c6bb1",
    "transferred": "#4aa3c7",
}
CATEGORICAL = (
    "#2c6fbb",
    "#e07b39",
    "#2e9d5b",
    "#8c6bb1",
    "#d64545",
    "#4aa3c7",
    "#b5a33a",
    "#7f7f7f",
)

FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def base_layout(**overrides: Any) -> dict[str, Any]:
    """Layout shared by every chart: compact margins (cards are small), light grid, no title
    (the dashboard card carries it)."""
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT},
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "colorway": list(CATEGORICAL),
    }
    layout.update(overrides)
    return layout


def resolution_color(resolution: str, index: int) -> str:
    return RESOLUTION_COLORS.get(resolution, CATEGORICAL[index % len(CATEGORICAL)])
