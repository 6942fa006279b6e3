"""The one entry point: ``support-analytics <command>``. Thin over the library.

Errors a user can fix arrive as SupportAnalyticsError (or OSError) and are printed as one
line with exit code 2; anything else is a bug, reported in one line with exit code 1. The
traceback is shown only with --verbose.
"""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from support_analytics import __version__, config
from support_analytics.cli_planning import add_forecast, add_staffing
from support_analytics.errors import SupportAnalyticsError

Handler = Callable[[argparse.Namespace], int]


def _cmd_simulate(args: argparse.Namespace) -> int:
    from support_analytics.simulate import simulate

    try:
        summary = simulate(
            args.out_dir,
            calls=args.calls,
            agents=args.agents,
            days=args.days,
            start=args.start,
            seed=args.seed,
            dirty_rate=args.dirty_rate,
            progress=not args.quiet,
            split=args.split,
        )
    except ValueError as exc:
        raise SupportAnalyticsError(f"simulate: {exc}") from None
    print(
        f"wrote {summary.calls_written:,} calls ({summary.dirty_lines:,} dirty) to "
        f"{summary.calls_path} and {summary.agents_written} agents to {summary.agents_path} "
        f"in {summary.seconds:.1f}s"
    )
    return 0


def _cmd_etl(args: argparse.Namespace) -> int:
    paths = (args.calls, args.agents, args.output, args.manifest, args.rejects)
    if args.engine == "spark":
        from support_analytics.etl.spark_engine import run_spark_etl

        result = run_spark_etl(
            *paths,
            partition_by=args.partition_by,
            force=args.force,
            progress=not args.quiet,
            lock_wait=args.lock_wait,
            rebuild=args.rebuild,
        )
    else:
        from support_analytics.etl import run_etl

        result = run_etl(
            *paths,
            force=args.force,
            rebuild=args.rebuild,
            progress=not args.quiet,
            lock_wait=args.lock_wait,
            partition_by=args.partition_by,
        )
    print(result.summary())
    if not result.up_to_date:
        print(f"wrote {args.output}, {args.rejects} and {args.manifest}")
    return 0


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="write synthetic calls (NDJSON) and agents.csv",
        description="Write realistic synthetic support calls, optionally with the faults "
        "real feeds have (--dirty-rate), deterministically per --seed.",
    )
    p.add_argument("--calls", type=int, default=config.SIM_DEFAULT_CALLS, help="number of calls")
    p.add_argument("--agents", type=int, default=config.SIM_DEFAULT_AGENTS, help="agents")
    p.add_argument("--days", type=int, default=config.SIM_DEFAULT_DAYS, help="days covered")
    p.add_argument("--start", default=config.SIM_DEFAULT_START, help="first day (YYYY-MM-DD)")
    p.add_argument("--seed", type=int, default=config.SIM_DEFAULT_SEED, help="random seed")
    p.add_argument(
        "--dirty-rate",
        type=float,
        default=config.SIM_DEFAULT_DIRTY_RATE,
        help="share of lines with an injected fault (0-1)",
    )
    p.add_argument(
        "--split",
        choices=("daily",),
        default=None,
        help="write one calls-YYYY-MM-DD.json per day (a folder of daily drops for "
        "`etl --calls FOLDER`) instead of one calls file",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=config.DATA_DIR,
        help=f"folder for {config.SIM_CALLS_NAME} and {config.SIM_AGENTS_NAME}",
    )
    p.set_defaults(handler=_cmd_simulate)


def _path_or_url(text: str) -> Path | str:
    """A local path, or an s3:// URL kept as text (Path would mangle the //)."""
    from support_analytics.io.storage import as_path

    return as_path(text)


def _add_data_paths(p: argparse.ArgumentParser) -> None:
    """The five data paths shared by etl and report; any may be an s3:// URL."""
    p.add_argument("--calls", type=_path_or_url, default=config.DEFAULT_CALLS, help="NDJSON calls")
    p.add_argument("--agents", type=_path_or_url, default=config.DEFAULT_AGENTS, help="agents.csv")
    p.add_argument(
        "--output", type=_path_or_url, default=config.DEFAULT_OUTPUT, help="cleaned Parquet"
    )
    p.add_argument(
        "--manifest", type=_path_or_url, default=config.DEFAULT_MANIFEST, help="manifest"
    )
    p.add_argument(
        "--rejects", type=_path_or_url, default=config.DEFAULT_REJECTS, help="rejected lines"
    )


def _add_etl(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "etl",
        help="clean raw calls into Parquet + rejects + manifest",
        description="Clean an NDJSON calls file into the contract's Parquet. Bad lines go to "
        "the rejects file with their line number and reason; nothing is dropped silently. "
        "Timestamps without an offset are taken as UTC.",
    )
    _add_data_paths(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="rerun even when up to date; with a folder of call files: reprocess an ingested "
        "file that changed (or drop one that disappeared) and the files after it, rewriting "
        "only the partitions they touch",
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="with a folder of call files: reprocess every file from scratch",
    )
    p.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="duckdb (default, one machine) or spark (local[*] here; the same job runs on "
        "AWS Glue); both apply the same rules",
    )
    p.add_argument(
        "--partition-by",
        choices=("call_date",),
        default=None,
        help="write --output as a Hive-partitioned folder (call_date=YYYY-MM-DD/part-*.parquet)",
    )
    p.add_argument(
        "--lock-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another run on the same output (default: until it ends; "
        "0 fails at once)",
    )
    p.set_defaults(handler=_cmd_etl)


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
    )
    print(
        f"report: {len(result.executed)} notebook(s) executed, {len(result.skipped)} unchanged "
        f"in {args.root / config.REPORTS_DIR.name}"
        + (f"; site in {args.root / config.SITE_DIR.name}" if result.site_rendered else "")
    )
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
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
    _add_data_paths(p)
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
    p.set_defaults(handler=_cmd_report)


#: Each adds one subcommand; later commands register here.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_simulate,
    _add_etl,
    _add_report,
]


def _cmd_verify(args: argparse.Namespace) -> int:
    from support_analytics.etl import verify_run

    print(verify_run(args.output, args.rejects, args.manifest, lock_wait=args.lock_wait))
    return 0


def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check the Parquet and rejects against the manifest's sha256",
        description="Finish an ETL commit a crash interrupted, then check that the Parquet and "
        "rejects files are exactly the ones the manifest records. Exits 2 with the fix (rerun "
        "the ETL) when a file was changed, truncated or deleted behind the manifest's back.",
    )
    p.add_argument(
        "--output", type=_path_or_url, default=config.DEFAULT_OUTPUT, help="cleaned Parquet"
    )
    p.add_argument(
        "--manifest", type=_path_or_url, default=config.DEFAULT_MANIFEST, help="manifest"
    )
    p.add_argument(
        "--rejects",
        type=_path_or_url,
        default=config.DEFAULT_REJECTS,
        help="rejected lines (JSONL)",
    )
    p.add_argument(
        "--lock-wait", type=float, default=None, metavar="SECONDS",
        help="how long to wait for an ETL run writing the output (default: until it ends)",
    )  # fmt: skip
    p.set_defaults(handler=_cmd_verify)


SUBCOMMANDS.append(_add_verify)


def _cmd_clean(args: argparse.Namespace) -> int:
    from support_analytics.pipeline import clean

    removed = clean(args.root)
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print(f"clean: nothing generated under {args.root}")
    return 0


def _add_clean(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "clean",
        help="remove generated data, reports and the site (keeps the committed sample)",
        description="Delete what etl and report generate under the project root: the cleaned "
        f"outputs and manifest in {config.DATA_DIR.name}/, the executed notebooks in "
        f"{config.REPORTS_DIR.name}/ and the site in {config.SITE_DIR.name}/. The sample "
        "inputs stay.",
    )
    p.add_argument("--root", type=Path, default=config.PROJECT_ROOT, help="project folder to clean")
    p.set_defaults(handler=_cmd_clean)


SUBCOMMANDS.append(_add_clean)
SUBCOMMANDS += [add_forecast, add_staffing]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="support-analytics",
        description="Customer support call analytics: simulate, clean, report.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    common.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    original = sub.add_parser

    def add_parser(name: str, **kwargs: object) -> argparse.ArgumentParser:
        kwargs.setdefault("parents", [common])
        return original(name, **kwargs)

    sub.add_parser = add_parser  # type: ignore[method-assign]
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def describe_os_error(exc: OSError) -> str:
    """An OS error in the user's terms: which path, what is wrong with it, what to do.

    Python's own text ("[Errno 17] File exists: 'out'") names the path but not the problem.
    """
    path = exc.filename
    if path is None:
        return str(exc)
    if isinstance(exc, FileExistsError):
        return f"{path}: a file is in the way of a folder needed here; move it or pick another path"
    if isinstance(exc, NotADirectoryError):
        return f"{path}: part of this path is a file, not a folder; pick another path"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder; a file path is needed here"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied; check who owns it or pick another path"
    if exc.errno == errno.ENOSPC:
        return f"{path}: no space left on the device; free some or write elsewhere"
    return f"{path}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except SupportAnalyticsError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # permissions, disk full, a path that is a folder...
        if args.verbose:
            traceback.print_exc()
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted; outputs are the previous run's, or this run's once the next run "
            "finishes a commit that was under way",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:  # a bug: say so in one line, the traceback on request
        if args.verbose:
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --verbose for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
