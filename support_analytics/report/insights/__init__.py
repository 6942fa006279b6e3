"""Why the numbers moved, said in words: each KPI's change split into rate and mix effects
(``shift_share``, ``words``) with the test that decides whether it is said at all (``stats``);
unusual days and level shifts (``unusual``); drivers of bad outcomes (``drivers``); all of it
for one selection as JSON or text (``summary``)."""

from __future__ import annotations

from support_analytics.report.insights.drivers import Driver, drivers
from support_analytics.report.insights.shift_share import (
    DIMENSIONS,
    MIN_SEGMENT_CALLS,
    OTHER,
    Contributor,
    KpiChange,
    Split,
    kpi_changes,
)
from support_analytics.report.insights.stats import ALPHA, TestResult
from support_analytics.report.insights.summary import Insights, as_json, as_text, insights
from support_analytics.report.insights.unusual import LevelShift, UnusualDay, find_unusual
from support_analytics.report.insights.words import noise_note, sentence, shown, shown_parts

__all__ = [
    "ALPHA",
    "DIMENSIONS",
    "MIN_SEGMENT_CALLS",
    "OTHER",
    "Contributor",
    "Driver",
    "Insights",
    "KpiChange",
    "LevelShift",
    "Split",
    "TestResult",
    "UnusualDay",
    "as_json",
    "as_text",
    "drivers",
    "insights",
    "kpi_changes",
    "noise_note",
    "sentence",
    "shown",
    "shown_parts",
    "find_unusual",
]
