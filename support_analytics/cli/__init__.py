"""The one entry point: ``support-analytics <command>``, thin over the library.

One module per family of subcommands (``data``: simulate, etl, verify, clean; ``report``;
``insights``; ``source``), each exposing ``add_<command>(subparsers)``; ``entry`` builds the
parser from them and runs ``main``. Errors a user can fix arrive as SupportAnalyticsError (or
OSError) and are printed as one line with exit code 2; anything else is a bug, reported in one
line with exit code 1. The traceback is shown only with --verbose.
"""

from __future__ import annotations

from support_analytics.cli.entry import build_parser, describe_os_error, main

__all__ = ["build_parser", "describe_os_error", "main"]
