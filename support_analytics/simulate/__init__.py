"""Synthetic support-call logs: realistic enough to exercise the dashboard, dirty enough to
exercise the cleaner, fast enough to make the 10M-row files the ETL is benchmarked on.

The simulator writes ``sample_calls.json`` (NDJSON, one call per line) and ``agents.csv``.
Everything is drawn from one ``numpy.random.default_rng(seed)`` stream in a fixed order, so the
same arguments give byte-identical files. Calls are generated and written in chunks of
``CHUNK_CALLS`` rows with vectorised numpy/pyarrow code (no Python loop per call), which keeps
peak memory flat however many calls are asked for.

How a chunk becomes text: most of a line is a fixed-width run of digits and literals (ids,
timestamps), rendered as a ``uint8`` matrix and handed to Arrow without a copy; the variable
pieces (offset suffix, issue type, resolution, rating) come from precomputed dictionaries via
``take``; one ``binary_join_element_wise`` glues the pieces. Faults that change a line's
structure (truncated, garbage, missing or unparseable timestamp, unknown agent) go through a
slower, more flexible path for just those rows and are spliced back in as an override column."""

from __future__ import annotations

from support_analytics.simulate.run import (
    SimulationSummary,
    simulate,
)
from support_analytics.simulate.world import (
    BAD_RATINGS,
    BAD_TIMESTAMPS,
    CHUNK_CALLS,
    CUSTOMER_POOL_SHARE,
    FAULT_KINDS,
    FIRST_NAMES,
    FOLLOW_UP_ACCEPT,
    FOLLOW_UP_GAP_WEIGHTS,
    FOLLOW_UP_SHARE,
    GARBAGE_LINES,
    ISSUE_TYPES,
    LAST_NAMES,
    RATED_SHARE,
    RATING_MEANS,
    REGIONS,
    RESOLUTIONS,
    SPLIT_DAILY,
    SPLITS,
    STYLE_SHARES,
    TIME_OF_DAY_PEAKS,
    WEEKDAY_WEIGHTS,
    IssueType,
    Region,
    daily_calls_name,
)

__all__ = [
    "BAD_RATINGS",
    "BAD_TIMESTAMPS",
    "CHUNK_CALLS",
    "CUSTOMER_POOL_SHARE",
    "FAULT_KINDS",
    "FIRST_NAMES",
    "FOLLOW_UP_ACCEPT",
    "FOLLOW_UP_GAP_WEIGHTS",
    "FOLLOW_UP_SHARE",
    "GARBAGE_LINES",
    "ISSUE_TYPES",
    "IssueType",
    "LAST_NAMES",
    "RATED_SHARE",
    "RATING_MEANS",
    "REGIONS",
    "RESOLUTIONS",
    "Region",
    "SPLITS",
    "SPLIT_DAILY",
    "STYLE_SHARES",
    "SimulationSummary",
    "TIME_OF_DAY_PEAKS",
    "WEEKDAY_WEIGHTS",
    "daily_calls_name",
    "simulate",
]
