"""A KPI's change said in one sentence a person can read aloud, in the value box's units, with
the parts rounded so they add up to the change as shown (to its last digit)."""

from __future__ import annotations

import math

from support_analytics.report import labels
from support_analytics.report.insights.shift_share import OTHER, KpiChange, Split

#: How a change of each KPI is shown: (multiplier, decimals, unit), as labels.fmt_delta.
UNITS: dict[str, tuple[float, int, str]] = {
    "aht": (1.0, 1, " min"),
    "csat": (1.0, 2, ""),
    **{k: (100.0, 1, " pp") for k in labels.RATE_KPIS},
}

_DIMENSION_WORDS = {"issue_type": "issue types", "region": "regions"}


def shown(key: str, value: float) -> int:
    """A value in the displayed unit's last digit (e.g. tenths of a point), rounded exactly as
    the value box (labels.fmt_delta) rounds it: the same multiplication, the same format."""
    mult, decimals, _ = UNITS[key]
    digits = int(f"{abs(value) * mult:.{decimals}f}".replace(".", ""))
    return -digits if value < 0 else digits


def shown_parts(key: str, total: float, parts: list[float]) -> list[int]:
    """Round ``parts`` (which add up to ``total``) to the displayed digit so that they still
    add up to the displayed total: largest remainders get the spare units."""
    mult, decimals, _ = UNITS[key]
    scaled = [p * mult * 10**decimals for p in parts]
    target = shown(key, total)
    floors = [math.floor(x) for x in scaled]
    spare = target - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: (floors[i] - scaled[i], i))
    out = list(floors)
    if spare >= 0:
        for i in order[:spare]:
            out[i] += 1
    else:
        for i in reversed(order[spare:]):
            out[i] -= 1
    return out


def fmt_units(key: str, units: int, signed: bool = False) -> str:
    """Displayed-digit units back to text: 38 -> '3.8 pp'."""
    _, decimals, unit = UNITS[key]
    value = abs(units) / 10**decimals
    sign = ("+" if units > 0 else "-" if units < 0 else "") if signed else ""
    return f"{sign}{value:.{decimals}f}{unit}"


def _name(dimension: str, name: str) -> str:
    if name == OTHER:
        return f"smaller {_DIMENSION_WORDS[dimension]}"
    if dimension == "region":
        return name or "unknown-region"
    return labels.humanize(name).lower() if name else "untyped"


def _lower(label: str) -> str:
    """'Resolution rate' -> 'resolution rate'; 'CSAT 4+ share' stays as it is."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _value(key: str, value: float | None) -> str:
    return labels.fmt_kpi(key, value)


def _verb(delta: float) -> str:
    return "rose" if delta > 0 else "fell"


def _story(change: KpiChange) -> tuple[Split, str] | None:
    """The dimension and component (mix or rate) whose single largest segment carries most of
    the change in its direction: a change spread evenly over every region says less than one
    issue type taking more of the calls."""
    sign = 1 if (change.delta or 0.0) > 0 else -1
    best: tuple[float, int, Split, str] | None = None
    for rank, sp in enumerate(change.splits.values()):
        for part in ("mix", "rate"):
            if getattr(sp, part) * sign <= 0:
                continue
            size = max(getattr(c, part) * sign for c in sp.contributors)
            if best is None or (size, -rank) > (best[0], best[1]):
                best = (size, -rank, sp, part)
    return None if best is None else (best[2], best[3])


def sentence(change: KpiChange) -> str | None:
    """'Resolution rate fell 3.8 pp; 3.1 pp of it is mix: technical calls rose from 18% to 27%
    of calls, and their resolution rate is below average (62.0% vs 74.1%).' None when the change
    is within noise (or undefined): then nothing is said."""
    delta = change.delta
    if delta is None or not change.significant or delta == 0:
        return None
    label = labels.KPI_LABELS[change.key]
    if change.key == "calls":
        return _calls_sentence(change)
    total_units = shown(change.key, delta)
    if total_units == 0:
        return None
    lead = f"{label} {_verb(delta)} {fmt_units(change.key, total_units)}"
    story = _story(change)
    if story is None:
        return lead + "."
    sp, part = story
    mix_units, rate_units = shown_parts(change.key, delta, [sp.mix, sp.rate])
    units, other = (mix_units, rate_units) if part == "mix" else (rate_units, mix_units)
    sign = 1 if delta > 0 else -1
    top = max(sp.contributors, key=lambda c: (getattr(c, part) * sign, c.name == OTHER))
    who = _name(sp.dimension, top.name)
    where = "mix" if part == "mix" else f"within {_DIMENSION_WORDS[sp.dimension]}"
    if abs(units) > abs(total_units):  # the other part pulled the other way
        back = "rate" if part == "mix" else "mix"
        share = (
            f"{where} alone took {fmt_units(change.key, units)} ({back} gave back "
            f"{fmt_units(change.key, other)})"
        )
    else:
        share = f"{fmt_units(change.key, units)} of it is {where}"
    if part == "mix":
        above = (top.rate_now if top.rate_now is not None else 0.0) > (change.current or 0.0)
        return (
            f"{lead}; {share}: {who} calls "
            f"{_verb(top.share_now - top.share_before)} from {100 * top.share_before:.0f}% to "
            f"{100 * top.share_now:.0f}% of calls, and their {_lower(label)} is "
            f"{'above' if above else 'below'} average ({_value(change.key, top.rate_now)} vs "
            f"{_value(change.key, change.current)})."
        )
    return (
        f"{lead}; {share}: {who} went from {_value(change.key, top.rate_before)} "
        f"to {_value(change.key, top.rate_now)}."
    )


def _calls_sentence(change: KpiChange) -> str:
    delta = int(change.delta or 0)
    pct = f" ({100 * abs(delta) / change.previous:.1f}%)" if change.previous else ""
    lead = f"Calls {_verb(delta)} by {abs(delta):,}{pct}"
    best = None
    for sp in change.splits.values():
        for c in sp.contributors:
            if c.name != OTHER and c.rate * delta > 0 and (best is None or abs(c.rate) > best[0]):
                best = (abs(c.rate), sp.dimension, c)
    if best is None:
        return lead + "."
    _, dimension, top = best
    return f"{lead}; {_name(dimension, top.name)} {int(top.rate):+,} of it."


def noise_note(change: KpiChange) -> str:
    """Why nothing is said: no comparable previous period, or the test and its p-value."""
    if change.coverage in labels.COVERAGE_NOTES:
        return labels.COVERAGE_NOTES[change.coverage]
    p = change.test.p_value
    where = f"p = {p:.2f}" if p is not None else "too few calls to test"
    return f"within noise ({change.test.test} at 95%, {where})"
