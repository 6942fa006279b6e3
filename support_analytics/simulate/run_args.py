"""The simulator's argument checks (a clear error, never a numpy traceback) and its atomic
writer."""

from __future__ import annotations

import contextlib
import datetime
import operator
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


# --- argument checks ------------------------------------------------------------------------
def as_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def as_rate(value: Any) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"dirty_rate must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= rate <= 1.0:  # also rejects NaN
        raise ValueError(f"dirty_rate must be in [0, 1], got {value!r}")
    return rate


def as_date(value: Any, days: int) -> datetime.date:
    if isinstance(value, datetime.datetime):
        parsed = value.date()
    elif isinstance(value, datetime.date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"start must be an ISO date like 2026-01-05, got {value!r}") from None
    else:
        raise ValueError(f"start must be an ISO date string or a date, got {value!r}")
    try:  # the last local day, plus one for late-evening calls that end after UTC midnight
        parsed + datetime.timedelta(days=days + 1)
    except OverflowError:
        raise ValueError(f"start {parsed} + {days} days runs past the year 9999") from None
    return parsed


# --- atomic output --------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_writer(path: Path, mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    """Write to a temp file next to ``path`` and rename it over ``path`` only on success."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary data files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
