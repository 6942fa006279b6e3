"""``simulate``, ``etl``, ``verify`` and ``clean``: the data commands, thin over the simulator, the
ETL and the pipeline."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from support_analytics import config
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
            plant=args.plant,
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

        if args.source != config.DEFAULT_SOURCE:
            raise SupportAnalyticsError(
                f"--source {args.source}: mapped sources run on --engine duckdb only so far; "
                "drop --engine spark"
            )

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
            source=args.source,
        )
    print(result.summary())
    if not result.up_to_date:
        print(f"wrote {args.output}, {args.rejects} and {args.manifest}")
    return 0


def add_simulate(sub: argparse._SubParsersAction) -> None:
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
        "--plant",
        action="store_true",
        help="plant spikes, drops, level shifts, a mix change and an agent who escalates "
        f"often, and write what was planted to {config.SIM_PLANTED_NAME}",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=config.DATA_DIR,
        help=f"folder for {config.SIM_CALLS_NAME} and {config.SIM_AGENTS_NAME}",
    )
    p.set_defaults(handler=_cmd_simulate)


def path_or_url(text: str) -> Path | str:
    """A local path, or an s3:// URL kept as text (Path would mangle the //)."""
    from support_analytics.io.storage import as_path

    return as_path(text)


def add_data_paths(p: argparse.ArgumentParser) -> None:
    """The five data paths shared by etl and report; any may be an s3:// URL."""
    p.add_argument("--calls", type=path_or_url, default=config.DEFAULT_CALLS, help="NDJSON calls")
    p.add_argument("--agents", type=path_or_url, default=config.DEFAULT_AGENTS, help="agents.csv")
    p.add_argument(
        "--output", type=path_or_url, default=config.DEFAULT_OUTPUT, help="cleaned Parquet"
    )
    p.add_argument("--manifest", type=path_or_url, default=config.DEFAULT_MANIFEST, help="manifest")
    p.add_argument(
        "--rejects", type=path_or_url, default=config.DEFAULT_REJECTS, help="rejected lines"
    )
    p.add_argument(
        "--source", default=config.DEFAULT_SOURCE, metavar="NAME_OR_FILE",
        help="the calls' format: a preset (connect-ctr, cdr-csv) or a mapping .toml "
        f"(`support-analytics source show NAME`); default {config.DEFAULT_SOURCE}",
    )  # fmt: skip


def add_etl(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "etl",
        help="clean raw calls into Parquet + rejects + manifest",
        description="Clean an NDJSON calls file into the contract's Parquet. Bad lines go to "
        "the rejects file with their line number and reason; nothing is dropped silently. "
        "Timestamps without an offset are taken as UTC.",
    )
    add_data_paths(p)
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


def _cmd_verify(args: argparse.Namespace) -> int:
    from support_analytics.etl import verify_run

    print(verify_run(args.output, args.rejects, args.manifest, lock_wait=args.lock_wait))
    return 0


def add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check the Parquet and rejects against the manifest's sha256",
        description="Finish an ETL commit a crash interrupted, then check that the Parquet and "
        "rejects files are exactly the ones the manifest records. Exits 2 with the fix (rerun "
        "the ETL) when a file was changed, truncated or deleted behind the manifest's back.",
    )
    p.add_argument(
        "--output", type=path_or_url, default=config.DEFAULT_OUTPUT, help="cleaned Parquet"
    )
    p.add_argument("--manifest", type=path_or_url, default=config.DEFAULT_MANIFEST, help="manifest")
    p.add_argument(
        "--rejects",
        type=path_or_url,
        default=config.DEFAULT_REJECTS,
        help="rejected lines (JSONL)",
    )
    p.add_argument(
        "--lock-wait", type=float, default=None, metavar="SECONDS",
        help="how long to wait for an ETL run writing the output (default: until it ends)",
    )  # fmt: skip
    p.set_defaults(handler=_cmd_verify)


def _cmd_clean(args: argparse.Namespace) -> int:
    from support_analytics.pipeline import clean

    removed = clean(args.root)
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print(f"clean: nothing generated under {args.root}")
    return 0


def add_clean(sub: argparse._SubParsersAction) -> None:
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
