"""The parser every subcommand registers with, and ``main``: errors a user can fix print one
line and exit 2, a bug one line and exit 1, Ctrl-C says what is kept and exits 130."""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
from collections.abc import Callable, Sequence

from support_analytics import __version__
from support_analytics.cli.data import add_clean, add_etl, add_simulate, add_verify
from support_analytics.cli.insights import add_insights
from support_analytics.cli.planning import add_forecast, add_staffing
from support_analytics.cli.report import add_report
from support_analytics.cli.source import add_source
from support_analytics.errors import Interrupted, SupportAnalyticsError

#: Each adds one subcommand, in the order ``--help`` lists them.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_simulate,
    add_etl,
    add_report,
    add_verify,
    add_clean,
    add_forecast,
    add_staffing,
    add_insights,
    add_source,
]


class _DefaultsHelp(argparse.HelpFormatter):
    """Each option's help ends with its default, unless it has none or already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return action.help
        return f"{text} (default: %(default)s)"


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
        kwargs.setdefault("formatter_class", _DefaultsHelp)
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
    except KeyboardInterrupt as exc:  # a report says what it kept (Interrupted)
        kept = str(exc) if isinstance(exc, Interrupted) else (
            "outputs are the previous run's, or this run's once the next run finishes a commit "
            "that was under way"
        )  # fmt: skip
        print(f"interrupted; {kept}", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, the traceback on request
        if args.verbose:
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --verbose for details)",
            file=sys.stderr,
        )
        return 1
