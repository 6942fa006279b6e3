"""Typed errors a user can act on; the CLI catches them once and prints one line."""

from __future__ import annotations


class SupportAnalyticsError(Exception):
    """Base class: the message is the whole story (file, problem, fix)."""


class InputError(SupportAnalyticsError):
    """An input file is missing, empty, unreadable or not in the expected format."""


class ContractError(SupportAnalyticsError):
    """Data does not match the schema contract (columns, types, version)."""


class IntegrityError(SupportAnalyticsError):
    """An output no longer matches its manifest (changed or truncated behind our back)."""


class LockedError(SupportAnalyticsError):
    """Another run holds the lock on the same output."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the run kept as its message; the CLI prints it and exits 130."""
