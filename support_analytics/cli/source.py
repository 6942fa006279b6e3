"""``support-analytics source``: list and show the preset mappings, check a mapping on a sample.

Registered in ``cli.entry``; errors reach ``cli.main`` as typed errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from support_analytics.errors import InputError


def _cmd_list(args: argparse.Namespace) -> int:
    from support_analytics.etl.sources import load_mapping, preset_names

    for name in preset_names():
        print(f"{name:<14} {load_mapping(name).description}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from support_analytics.etl.sources import preset_text

    print(preset_text(args.name), end="")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from support_analytics.etl.sources.check import check_source

    report = check_source(args.mapping, args.calls, rows=args.rows)
    mapping = report.mapping
    print(f"{mapping.origin}: {mapping.format} source, {report.records:,} records in {args.calls}")
    print(f"kept {report.kept:,}; rejected " + (
        ", ".join(f"{r} {n:,}" for r, n in report.rejected.items()) or "none"
    ))  # fmt: skip
    if report.rows:
        print(f"first {len(report.rows)} mapped rows:")
        for row in report.rows:
            print("  " + "  ".join(f"{k}={v}" for k, v in row.items()))
    if report.problems:
        print(f"problems ({len(report.problems)} shown):")
        for line in report.problems:
            print(f"  {line}")
    if not report.ok:
        raise InputError(
            f"{mapping.origin}: keeps no call from {args.calls} or names an unknown field; "
            "fix the problems above"
        )
    print("the mapping works on this sample")
    return 0


def add_source(sub: argparse._SubParsersAction) -> None:
    """The ``source`` command and its ``list``, ``show`` and ``check`` subcommands."""
    p = sub.add_parser(
        "source",
        help="list, show or check the mappings that read other export formats (--source)",
        description="A mapping (TOML) says where each call field comes from in an export "
        "(Amazon Connect contact records, a CDR CSV, ...). Presets ship with the package; "
        "copy one with `source show NAME > mine.toml`, edit it, check it on a sample, then "
        "run `etl --source mine.toml`.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the preset mappings")
    listing.set_defaults(handler=_cmd_list)
    show = actions.add_parser("show", help="print a preset mapping (to copy and edit)")
    show.add_argument("name", help="a preset name (see `source list`)")
    show.set_defaults(handler=_cmd_show)
    check = actions.add_parser(
        "check",
        help="map a sample: the first rows, and every problem with its file and record",
    )
    check.add_argument("mapping", help="a mapping .toml or a preset name")
    check.add_argument("--calls", type=Path, required=True, help="a sample file or folder")
    check.add_argument("--rows", type=int, default=5, help="mapped rows to print")
    check.set_defaults(handler=_cmd_check)
