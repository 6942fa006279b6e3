"""Every number the report shows, computed by DuckDB over the cleaned Parquet.

Nothing here loads every row into pandas: each function runs one aggregate query and returns a
small DataFrame or plain Python values (``int``/``float``/``str``/``None``, never numpy
scalars), so notebooks stay thin and the numbers are testable without a kernel.

Definitions (also on the site's About page):

- **calls**: rows of the cleaned Parquet.
- **AHT** (average handle time): mean ``call_duration_minutes``, summed exactly as integer
  hundredths of a minute (durations have 2 decimals), so the page's in-browser sums agree with
  it to the last digit.
- **CSAT**: mean rating of rated calls; **CSAT 4+**: share of rated calls with rating >= 4.
- **resolution rate**: share of calls with resolution ``resolved``;
  **escalation rate**: share with resolution ``escalated``.
- **repeat-call rate**: share of calls whose customer's next call (over the whole dataset, every
  region) starts within 7 days after this call's start. Calls without a customer id never count
  as repeated.
- **FCR** (first-contact resolution): share of calls resolved and not repeated within 7 days.
- **previous period**: the same number of days just before the reporting period; every KPI is
  computed for both so the report can show a delta.
- **reporting period**: by default the last 28 days ending at the latest ``call_date`` in the
  whole dataset, so every page covers the same dates.

A rate over zero calls is ``None`` (shown as "–"), never an exception."""

from __future__ import annotations

from support_analytics.report.metrics.agents import (
    LEADERBOARD_UNKNOWN_AGENTS,
    OTHER_UNKNOWN_AGENTS,
    agent_leaderboard,
    agents_keyed_sql,
)
from support_analytics.report.metrics.breakdowns import (
    DURATION_BIN_MINUTES,
    DURATION_MAX_MINUTES,
    duration_histogram,
    issue_breakdown,
    region_comparison,
)
from support_analytics.report.metrics.kpis import (
    GOOD_RATING,
    KPI_DIRECTIONS,
    KPI_KEYS,
    KpiComparison,
    kpi_comparison,
    kpi_select,
    kpis,
    previous_coverage,
)
from support_analytics.report.metrics.quality import (
    input_files,
    redact_customer,
    rejected_sample,
    rejects_by_reason,
    row_counts,
    warnings_by_kind,
)
from support_analytics.report.metrics.segments import (
    DEFAULT_PERIOD_DAYS,
    Period,
    Segment,
    data_range,
    regions,
    reporting_period,
    segment,
)
from support_analytics.report.metrics.source import (
    ESCALATED,
    REMOTE_CACHE_DIR_NAME,
    REPEAT_WINDOW_DAYS,
    RESOLVED,
    connect,
    prepare,
    remote_cache_dir,
    resolve_path,
)
from support_analytics.report.metrics.timeseries import (
    WEEKDAYS,
    daily_volume,
    data_gaps,
    hour_weekday,
)

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "DURATION_BIN_MINUTES",
    "DURATION_MAX_MINUTES",
    "ESCALATED",
    "GOOD_RATING",
    "KPI_DIRECTIONS",
    "KPI_KEYS",
    "KpiComparison",
    "LEADERBOARD_UNKNOWN_AGENTS",
    "OTHER_UNKNOWN_AGENTS",
    "Period",
    "REMOTE_CACHE_DIR_NAME",
    "REPEAT_WINDOW_DAYS",
    "RESOLVED",
    "Segment",
    "WEEKDAYS",
    "agent_leaderboard",
    "agents_keyed_sql",
    "connect",
    "daily_volume",
    "data_gaps",
    "data_range",
    "duration_histogram",
    "hour_weekday",
    "input_files",
    "issue_breakdown",
    "kpi_comparison",
    "kpi_select",
    "kpis",
    "previous_coverage",
    "prepare",
    "redact_customer",
    "region_comparison",
    "regions",
    "rejected_sample",
    "rejects_by_reason",
    "remote_cache_dir",
    "reporting_period",
    "resolve_path",
    "row_counts",
    "segment",
    "warnings_by_kind",
]
