"""``support-analytics insights``: what changed and why, unusual days, level shifts and drivers
for one selection, as text or JSON (registered in ``cli.entry``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from support_analytics import config
from support_analytics.errors import InputError, SupportAnalyticsError
from support_analytics.io import storage


def _cmd_insights(args: argparse.Namespace) -> int:
    from support_analytics.report import insights, metrics

    path = args.output
    if not storage.is_remote(path) and not Path(path).exists():
        raise InputError(
            f"{path}: no cleaned Parquet here; run `support-analytics etl` first or pass "
            "--output PATH"
        )
    try:
        seg = metrics.segment(
            path,
            start_date=args.start_date,
            end_date=args.end_date,
            regions=args.region,
            issues=args.issue,
        )
    except ValueError as exc:
        raise SupportAnalyticsError(f"insights: {exc}") from None
    if metrics.kpis(seg)["calls"] == 0:
        raise InputError(
            f"{path}: no calls in {seg.period.label()} for the selected regions and issue "
            "types; check the names and dates (`support-analytics insights --help`)"
        )
    found = insights.insights(seg)
    if args.format == "json":
        print(json.dumps(insights.as_json(found), indent=2, default=str))
    else:
        print(insights.as_text(found))
    return 0


def add_insights(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "insights",
        help="what changed and why, unusual days, level shifts and drivers",
        description="For a selection (dates, regions, issue types): each KPI's change against "
        "the previous period split into rate and mix effects by issue type and by region, said "
        "in one sentence where it is more than noise; unusual days and level shifts in daily "
        "calls and AHT (for all calls and each region); and the issue types, regions, agents "
        "and hours with markedly higher escalation, non-resolution or low-CSAT rates. The "
        "site's About page explains each method.",
    )
    p.add_argument(
        "--output",
        default=config.DEFAULT_OUTPUT,
        help="the cleaned Parquet to read (the ETL's --output; a path or s3:// URL)",
    )
    p.add_argument("--start-date", help="first day of the reporting period (YYYY-MM-DD)")
    p.add_argument(
        "--end-date", help="last day of the reporting period (default: latest call date)"
    )
    p.add_argument(
        "--region", action="append", metavar="NAME", help="a region to keep (repeatable)"
    )
    p.add_argument(
        "--issue",
        action="append",
        metavar="NAME",
        help="an issue type to keep (repeatable; '' for calls without one)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.set_defaults(handler=_cmd_insights)
