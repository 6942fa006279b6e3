"""The report's parameters, checked before the work they would spoil: a date that is not
YYYY-MM-DD, a start after the end or a ``--root`` that is no report project used to run the
ETL and a notebook first, then fail inside a notebook cell as a bare ValueError."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from support_analytics import config
from support_analytics.errors import InputError

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(flag: str, text: str | None) -> date | None:
    """``text`` as a calendar day written YYYY-MM-DD, nothing else (``date.fromisoformat``
    alone also takes 20260301 and 2026-W09-7); None stays None."""
    if text is None:
        return None
    if not _DAY.fullmatch(text):
        raise InputError(f"{flag} {text!r}: not a date; write it as YYYY-MM-DD (e.g. 2026-03-01)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{flag} {text}: no such day (month 01-12, day within the month); "
            "write it as YYYY-MM-DD"
        ) from None


def check_period(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """Both dates parsed strictly, and the start not after the end."""
    first, last = parse_day("--start-date", start), parse_day("--end-date", end)
    if first is not None and last is not None and first > last:
        raise InputError(
            f"--start-date {first} is after --end-date {last}; the start must come first"
        )
    return first, last


def check_root(root: Path, render: bool) -> None:
    """``--root`` is a folder, and (when the site is rendered) a report project: Quarto would
    otherwise fail only after the notebooks, with a raw trace."""
    if not root.is_dir():
        raise InputError(f"--root {root}: no such folder; point it at the project folder")
    if render and not (root / config.QUARTO_CONFIG_NAME).is_file():
        raise InputError(
            f"--root {root}: no {config.QUARTO_CONFIG_NAME} there, so it is not a report "
            f"project; point --root at the folder holding {config.QUARTO_CONFIG_NAME} "
            "(or add --no-render for the notebooks only)"
        )


def check_against_data(
    first: date | None,
    last: date | None,
    data_first: date | None,
    data_last: date | None,
    days: int,
) -> str | None:
    """Refuse a chosen period that holds no day of the data, naming the data's range; a note
    (returned) when it reaches past the data. No chosen date, or no data: nothing to say."""
    if (first is None and last is None) or data_first is None or data_last is None:
        return None
    end = last if last is not None else data_last
    start = first if first is not None else end - timedelta(days=days - 1)
    if end < data_first or start > data_last:
        raise InputError(
            f"the period {start} to {end} holds no data: the calls cover {data_first} to "
            f"{data_last}; choose --start-date/--end-date inside that range"
        )
    if start < data_first or end > data_last:
        return (
            f"note: the period {start} to {end} reaches past the data ({data_first} to "
            f"{data_last}); the pages cover the days that have calls"
        )
    return None
