"""Everything the insights say about one selection, as one object, as JSON and as text: what
changed (and why), unusual days and level shifts over the compared dates, and the drivers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from support_analytics.report import labels
from support_analytics.report.insights import stats, unusual, words
from support_analytics.report.insights.drivers import MIN_CALLS, Driver, describe, drivers
from support_analytics.report.insights.shift_share import (
    KpiChange,
    as_dict,
    kpi_changes,
)
from support_analytics.report.metrics import KPI_KEYS, Segment

#: How many drivers per outcome the text lists (JSON has them all).
TEXT_DRIVERS = 8
#: How many of a split's largest contributors the text names (JSON has them all).
TEXT_CONTRIBUTORS = 3


@dataclass(frozen=True)
class Insights:
    segment: Segment
    changes: dict[str, KpiChange]
    unusual_days: list[unusual.UnusualDay]
    level_shifts: list[unusual.LevelShift]
    drivers: list[Driver]
    driver_tests: int


def insights(seg: Segment) -> Insights:
    """The insights of a selection. Unusual days and level shifts are listed over both compared
    periods (the previous one and the reporting one), since either can explain the change."""
    within = (seg.period.previous.start.isoformat(), seg.period.end.isoformat())
    days, shifts = unusual.find_unusual(seg, within)
    found, tests = drivers(seg)
    return Insights(seg, kpi_changes(seg), days, shifts, found, tests)


def _selection(seg: Segment) -> dict[str, Any]:
    return {
        "regions": list(seg.regions) if seg.regions is not None else None,
        "issue_types": list(seg.issues) if seg.issues is not None else None,
        "period": {"start": seg.period.start.isoformat(), "end": seg.period.end.isoformat()},
        "previous": {
            "start": seg.period.previous.start.isoformat(),
            "end": seg.period.previous.end.isoformat(),
        },
    }


def as_json(ins: Insights) -> dict[str, Any]:
    """Plain JSON-ready values, with each method named so a reader can check it."""
    return {
        "selection": _selection(ins.segment),
        "methods": {
            "change": "symmetric Kitagawa shift-share by issue type and by region; "
            f"{stats.TWO_PROPORTION} (shares), {stats.WELCH} (AHT, CSAT, daily calls), "
            f"two-sided at {1 - stats.ALPHA:.0%}",
            "unusual_days": f"log daily value vs weekday pattern + rolling median level; "
            f"|robust z| > {unusual.Z_LIMIT}",
            "level_shifts": f"binary segmentation, t >= {unusual.SHIFT_T}, "
            f">= {unusual.MIN_RUN} days each side, >= {unusual.MIN_SHIFT:.0%}",
            "drivers": f"rate ratio vs the rest, n >= {MIN_CALLS}, Bonferroni-corrected "
            f"{1 - stats.ALPHA:.0%} interval above 1 over {ins.driver_tests} tests",
        },
        "changes": [{**as_dict(c), "sentence": words.sentence(c)} for c in ins.changes.values()],
        "unusual_days": [asdict(d) for d in ins.unusual_days],
        "level_shifts": [asdict(s) for s in ins.level_shifts],
        "drivers": [asdict(d) for d in ins.drivers],
        "driver_tests": ins.driver_tests,
    }


def _split_lines(change: KpiChange) -> list[str]:
    """Per dimension: 'by issue type: mix -3.1 pp + rate -0.7 pp (largest: technical -3.0 pp,
    ...)'; mix and rate add up to the change as shown, each contributor is its own rounding."""
    lines = []
    for dim, sp in change.splits.items():
        mix, rate = words.shown_parts(change.key, change.delta or 0.0, [sp.mix, sp.rate])
        largest = ", ".join(
            f"{c.name or 'unknown'} "
            f"{words.fmt_units(change.key, words.shown(change.key, c.total), signed=True)}"
            for c in sp.contributors[:TEXT_CONTRIBUTORS]
        )
        lines.append(
            f"by {dim.replace('_', ' ')}: mix {words.fmt_units(change.key, mix, signed=True)}"
            f" + rate {words.fmt_units(change.key, rate, signed=True)} (largest: {largest})"
        )
    return lines


def _day_line(d: unusual.UnusualDay) -> str:
    value = (
        f"{d.value:,.0f} calls vs {d.expected:,.0f} expected"
        if d.metric == "calls"
        else f"AHT {d.value:.1f} min vs {d.expected:.1f} expected"
    )
    line = f"  {d.date}  {d.series:<20} {value} ({d.change:+.0%}, z {d.z:+.1f})"
    if d.driver:
        what = "region" if d.driver["dimension"] == "region" else "issue type"
        line += f"; driven by {what} {d.driver['name'] or 'unknown'}"
        line += f" ({d.driver['share']:.0%} of the excess)"
    return line


def as_text(ins: Insights) -> str:
    """What the command prints: one block per question, sentences first."""
    seg = ins.segment
    regions = ", ".join(seg.regions) if seg.regions is not None else "all regions"
    issues = ", ".join(seg.issues) if seg.issues is not None else "all issue types"
    prev = seg.period.previous
    lines = [
        f"Insights for {regions}; {issues}; {seg.period.label()} (vs {prev.label()})",
        "",
        "What changed",
    ]
    for key in KPI_KEYS:
        change = ins.changes[key]
        said = words.sentence(change)
        shown = labels.fmt_delta(key, change.delta)
        if said:
            lines.append(f"  {said}")
            if change.splits and key != "calls":
                lines += [f"      {line}" for line in _split_lines(change)]
        else:
            lines.append(f"  {labels.KPI_LABELS[key]}: {shown}, {words.noise_note(change)}")
    lines += ["", f"Unusual days (|z| > {unusual.Z_LIMIT} against the weekday-aware expectation)"]
    lines += [_day_line(d) for d in ins.unusual_days] or ["  none"]
    lines += ["", "Level shifts"]
    lines += [
        f"  {s.date}  {s.series:<20} {'calls' if s.metric == 'calls' else 'AHT'} "
        f"{s.change:+.0%} from this day on (t {s.t:+.1f})"
        for s in ins.level_shifts
    ] or ["  none"]
    lines += [
        "",
        f"Drivers (rate ratio vs the rest; n >= {MIN_CALLS}; interval above 1 after a "
        f"Bonferroni correction over {ins.driver_tests} tests)",
    ]
    if not ins.drivers:
        lines.append("  none")
    for outcome in ("escalation", "non_resolution", "low_csat"):
        mine = [d for d in ins.drivers if d.outcome == outcome]
        lines += [f"  {describe(d)}" for d in mine[:TEXT_DRIVERS]]
        if len(mine) > TEXT_DRIVERS:
            lines.append(f"  ... and {len(mine) - TEXT_DRIVERS} more (--format json)")
    return "\n".join(lines)
