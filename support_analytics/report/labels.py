"""Human labels and number formats: one place decides how a number or a code reads on a page."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from support_analytics import schema as s

MISSING = "–"

KPI_LABELS: dict[str, str] = {
    "calls": "Calls",
    "aht": "Average handle time",
    "csat": "CSAT",
    "csat_good_share": "CSAT 4+ share",
    "resolution_rate": "Resolution rate",
    "fcr": "First-contact resolution",
    "repeat_rate": "Repeat-call rate",
    "escalation_rate": "Escalation rate",
}

REJECT_LABELS: dict[str, str] = {
    s.REJECT_ENCODING: "Invalid encoding",
    s.REJECT_MALFORMED: "Malformed JSON",
    s.REJECT_NOT_A_CALL: "Not a call (source filter)",
    s.REJECT_TOO_LONG: "Field too long",
    s.REJECT_MISSING_CALL_ID: "Missing call id",
    s.REJECT_MISSING_TS: "Missing timestamp",
    s.REJECT_INVALID_TS: "Invalid timestamp",
    s.REJECT_NON_POSITIVE: "Non-positive duration",
    s.REJECT_DUPLICATE: "Duplicate call id",
}

WARNING_LABELS: dict[str, str] = {
    s.WARN_INVALID_RATING: "Invalid rating (kept, unrated)",
    s.WARN_UNKNOWN_AGENT: "Unknown agent (kept, no region)",
}

#: KPIs shown as shares (formatted as percentages, deltas in percentage points).
RATE_KPIS = frozenset(
    {"csat_good_share", "resolution_rate", "fcr", "repeat_rate", "escalation_rate"}
)


def escape(value: Any) -> str:
    """HTML-escape any text that came from the data before it reaches a page."""
    return html.escape("" if value is None else str(value), quote=True)


#: Names longer than this are cut in chart labels and legends, with an ellipsis (the hover
#: shows them whole): one long issue type squeezed every chart to a sliver.
CHART_LABEL_CHARS = 30
ELLIPSIS = "…"


def chart_text(value: Any) -> str:
    """Text for a Plotly figure, escaped once: Plotly reads its strings as markup and decodes
    only ``&amp; &lt; &gt;`` and numeric entities, so quotes stay as they are (``&quot;``
    showed literally in a legend)."""
    return html.escape("" if value is None else str(value), quote=False)


def template_text(value: Any) -> str:
    """:func:`chart_text` for a Plotly hovertemplate, where ``%{...}`` in a name would be read
    as a placeholder: '%' becomes its numeric entity, which the hover shows as '%'."""
    return chart_text(value).replace("%", "&#37;")


def shorten(text: str, limit: int = CHART_LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis (before escaping)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def humanize(code: str | None) -> str:
    """'billing_issue' -> 'Billing issue'; blank -> 'Unknown'. Not escaped."""
    text = (code or "").strip().replace("_", " ")
    return text[:1].upper() + text[1:] if text else "Unknown"


def fmt_int(value: int | float | None) -> str:
    return MISSING if value is None else f"{int(round(value)):,}"


def fmt_minutes(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f} min"


def fmt_pct(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.1f}%"


def fmt_rating(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f} / 5"


def fmt_kpi(key: str, value: float | int | None) -> str:
    """A KPI value as the page shows it."""
    if key == "calls":
        return fmt_int(value)
    if key == "aht":
        return fmt_minutes(value)
    if key == "csat":
        return fmt_rating(value)
    return fmt_pct(value)


#: What a value box says instead of a change when the previous period is not wholly inside
#: the data (metrics.kpis.previous_coverage; web/slicer.js fmtDelta says the same).
COVERAGE_NOTES: dict[str, str] = {
    "partial": "previous period partly before the data",
    "none": "no data before this period",
}


def fmt_delta(
    key: str,
    delta: float | int | None,
    delta_pct: float | None = None,
    coverage: str = "full",
) -> str:
    """A change vs the previous period: '▲ 5.2%' for calls, '▼ 0.3 min', '▲ 1.2 pp'; a note
    instead when the previous period is partly or wholly before the data."""
    if coverage in COVERAGE_NOTES:
        return COVERAGE_NOTES[coverage]
    if delta is None:
        return "no previous data"
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    size = abs(delta)
    if key == "calls":
        return f"{arrow} {fmt_int(size)}" + (
            f" ({100 * abs(delta_pct):.1f}%)" if delta_pct is not None else ""
        )
    if key == "aht":
        return f"{arrow} {size:.1f} min"
    if key == "csat":
        return f"{arrow} {size:.2f}"
    return f"{arrow} {100 * size:.1f} pp"


def kpi_summary(title: str, period_label: str, region: str | None, comparisons: Mapping) -> str:
    """Plain-text KPI summary (a stable output that nbval compares on re-execution)."""
    lines = [
        f"title: {title}",
        f"region: {region if region is not None else 'all regions'}",
        f"period: {period_label}",
    ]
    for key, comp in comparisons.items():
        change = fmt_delta(key, comp.delta, comp.delta_pct, comp.coverage)
        lines.append(
            f"{KPI_LABELS[key]}: {fmt_kpi(key, comp.current)} "
            f"(previous {fmt_kpi(key, comp.previous)}; {change})"
        )
    return "\n".join(lines)


def quality_summary(title: str, counts: Mapping[str, int], rejects: Any) -> str:
    """Plain-text data-quality summary (row counts and rejects per reason) for nbval."""
    lines = [f"title: {title}"]
    lines += [f"{k}: {v:,}" for k, v in counts.items()]
    lines += [
        f"rejected {REJECT_LABELS.get(r, r)}: {int(n):,}"
        for r, n in zip(rejects["reason"], rejects["lines"], strict=True)
    ]
    return "\n".join(lines)
