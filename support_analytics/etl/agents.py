"""agents.csv read and checked: the reference table every kept call takes its name and region from.

The file is typed by hand, so a problem in it is refused with the line to fix rather than
quarantined: a bad row would otherwise silently turn all its agent's calls into unknown agents.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa

from support_analytics import schema as s
from support_analytics.errors import InputError


def load_agents(path: Path | str) -> pd.DataFrame:
    """Read agents.csv (BOM, quoted commas and extra columns tolerated) and validate its rows.

    Raises InputError for a missing/empty file, a missing required column, a row without an
    agent_id, a duplicated agent_id, or a value over its ``schema.FIELD_MAX_LENGTH``, since
    any of those would silently mis-attribute calls or put an unbounded label on every page.
    Rows are named by the line they start on, as an editor shows it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: agents file not found; pass --agents PATH")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 (byte {exc.start}); re-save the agents file as UTF-8"
        ) from None
    rows = _csv_rows(path, text)
    if not rows:
        raise InputError(
            f"{path}: agents file is empty; it needs a header {','.join(s.AGENT_COLUMNS)}"
        )
    header = [h.strip().lower() for h in rows[0][1]]
    missing = [c for c in s.AGENT_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header needs "
            f"{','.join(s.AGENT_COLUMNS)} (found {','.join(header) or 'nothing'})"
        )
    idx = {c: header.index(c) for c in s.AGENT_COLUMNS}
    records: dict[str, list[str | None]] = {c: [] for c in s.AGENT_COLUMNS}
    seen: dict[str, int] = {}
    for line_no, row in rows[1:]:
        values = {c: (row[i].strip() if i < len(row) else "") for c, i in idx.items()}
        agent_id = values[s.AGENT_ID]
        if not agent_id:
            raise InputError(
                f"{path}: row {line_no} has no {s.AGENT_ID}; fill it in or delete the row"
            )
        if agent_id in seen:
            raise InputError(
                f"{path}: duplicate {s.AGENT_ID} {agent_id!r} on rows {seen[agent_id]} and "
                f"{line_no}; each agent must appear once"
            )
        _check_lengths(values, f"{path}: row {line_no}")
        seen[agent_id] = line_no
        for c in s.AGENT_COLUMNS:
            records[c].append(values[c] or None)
    return pd.DataFrame(records, columns=list(s.AGENT_COLUMNS), dtype=object)


def _csv_rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on.

    csv's own line count is where the reader stopped, which for an unclosed quote is the end
    of the file; the line a broken row starts on is the one to fix.
    """
    # strict: an unterminated quote would otherwise swallow every later row into one name.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if any(c.strip() for c in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        unclosed = "unexpected end of data" in str(exc)
        fix = "close the quote that opens on it" if unclosed else "check its quoting"
        raise InputError(f"{path}: not valid CSV at line {start} ({exc}); {fix}") from None
    return rows


def _check_lengths(values: dict[str, str | None], where: str) -> None:
    for column in s.AGENT_COLUMNS:
        value, cap = values[column], s.FIELD_MAX_LENGTH[column]
        if value is not None and len(value) > cap:
            raise InputError(
                f"{where}: {column} is {len(value):,} characters long, over the limit of "
                f"{cap}; shorten it (text fields are capped so that no label can swamp a "
                "report)"
            )


def agents_table(agents: pd.DataFrame) -> pa.Table:
    """A validated agents frame as Arrow text columns (what both engines look agents up in)."""
    missing = [c for c in s.AGENT_COLUMNS if c not in agents.columns]
    if missing:
        raise InputError(f"agents table is missing column(s) {', '.join(missing)}")
    cols = {}
    for c in s.AGENT_COLUMNS:
        values = [None if pd.isna(v) else str(v).strip() or None for v in agents[c].tolist()]
        cols[c] = pa.array(values, type=pa.string())
    ids = [v for v in cols[s.AGENT_ID].to_pylist() if v is not None]
    if len(ids) != len(set(ids)):
        raise InputError(f"agents table has duplicate {s.AGENT_ID} values")
    for i, row in enumerate(zip(*(cols[c].to_pylist() for c in s.AGENT_COLUMNS), strict=True)):
        _check_lengths(dict(zip(s.AGENT_COLUMNS, row, strict=True)), f"agents table row {i + 1}")
    return pa.table(cols)
