"""Value boxes: a KPI with its change against the previous period, coloured by whether the
change is good; counts and freshness; the no-data notice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from support_analytics.report import labels, styles
from support_analytics.report.charts.render import Markup, raw_html
from support_analytics.report.metrics import KpiComparison, Segment


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
        return raw_html(self.html())

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
        change = labels.fmt_delta(key, comparison.delta, comparison.delta_pct, comparison.coverage)
    before = f"the previous {days} days" if days else "the previous period"
    hover = f"change against {before}"
    if comparison.coverage in labels.COVERAGE_NOTES:
        hover = f"no change shown: {before} are not all in the data"

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
    """A value box for a data-quality count: amber when it needs attention (and "Rows kept"
    at 0 always does: it was green when every line was rejected)."""
    if key == "output" and value == 0:
        alert = True
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
