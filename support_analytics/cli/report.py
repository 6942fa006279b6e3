"""``report``: the ETL when needed, the notebooks, then the site (thin over the pipeline)."""

from __future__ import annotations

import argparse
from pathlib import Path

from support_analytics import config
from support_analytics.cli.data import add_data_paths


def _cmd_report(args: argparse.Namespace) -> int:
    from support_analytics.pipeline import build_report

    result = build_report(
        args.root,
        args.calls,
        args.agents,
        args.output,
        args.manifest,
        args.rejects,
        start_date=args.start_date,
        end_date=args.end_date,
        force=args.force,
        render=not args.no_render,
        jobs=args.jobs,
        progress=not args.quiet,
        lock_wait=args.lock_wait,
        source=args.source,
    )
    print(
        f"report: {len(result.executed)} notebook(s) executed, {len(result.skipped)} unchanged "
        f"in {args.root / config.REPORTS_DIR.name}"
        + (f"; site in {args.root / config.SITE_DIR.name}" if result.site_rendered else "")
    )
    return 0


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help=f"build everything: ETL, executed notebooks in {config.REPORTS_DIR.name}/, then the "
        "Quarto site",
        description="Run the ETL when inputs changed, execute the data-quality notebook and "
        "the overview dashboard (whose filters cover every region) with papermill (skipping "
        "any whose data, template and parameters are unchanged), then `quarto render` the "
        "site (only what changed). Without "
        "quarto on PATH the notebooks are still built and the command exits non-zero.",
    )
    add_data_paths(p)
    p.add_argument(
        "--root",
        type=Path,
        default=config.PROJECT_ROOT,
        help=f"project folder holding _quarto.yml; {config.REPORTS_DIR.name}/ and the site go here",
    )
    p.add_argument("--start-date", help="first day of the reporting period (YYYY-MM-DD)")
    p.add_argument(
        "--end-date", help="last day of the reporting period (default: latest call date)"
    )
    p.add_argument(
        "--jobs", type=int, default=config.REPORT_JOBS, help="notebooks executed at once"
    )
    p.add_argument("--force", action="store_true", help="rerun the ETL and every notebook")
    p.add_argument("--no-render", action="store_true", help="stop after the notebooks")
    p.add_argument(
        "--lock-wait", type=float, default=None, metavar="SECONDS",
        help="how long to wait for another report in the same --root (default: until it ends; "
        "0 fails at once)",
    )  # fmt: skip
    p.set_defaults(handler=_cmd_report)
