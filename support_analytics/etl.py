"""Clean raw call logs into the contract's Parquet, quarantining every bad line with a reason.

The rules live once, as DuckDB SQL built by ``_rules_sql``; both the in-memory API
(``load_calls`` / ``clean_calls``) and the streaming file-to-file run (``run_etl``) use them,
so notebooks, tests and the CLI can never disagree about what "clean" means.

The file run has two line readers. A plain file (UTF-8, all lines ending LF or all CRLF) is
split by DuckDB's parallel CSV reader; line numbers and byte offsets are then counted from each
line's length, and the result is kept only if the lengths add up to the file size and sampled
lines are where they should be. Anything else (gzip, mixed line ends, invalid UTF-8) goes
through Python's reader, which splits byte chunks with numpy. Both stage the typed fields of
every line in input order; a duplicate's original text is read back from its offset at the
end, and the kept rows are written without a global sort. Memory stays bounded by DuckDB's
memory limit, not the file.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from filelock import FileLock, Timeout

from support_analytics import config, storage
from support_analytics import schema as s
from support_analytics.errors import ContractError, InputError, IntegrityError, LockedError
from support_analytics.manifest import (
    atomic_write_bytes,
    cleaned_calls_manifest,
    file_fingerprint,
    file_sha256,
    read_manifest,
    staged_fingerprint,
    verify_output,
    write_manifest,
)
from support_analytics.progress import Progress

ENGINE = "duckdb"
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_BATCH_ROWS = 65_536
_LINES_SCHEMA = pa.schema(
    [
        ("line_number", pa.int64()),
        ("byte_offset", pa.int64()),
        ("raw", pa.large_string()),
        ("bad_encoding", pa.bool_()),
    ]
)


# --------------------------------------------------------------------------------------------
# The rules, as SQL over a relation of raw fields
# --------------------------------------------------------------------------------------------
def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_ISO = _sql_str(s.ISO_TIMESTAMP_REGEX)
# Years 1..9999 in UTC: an offset can push 0001-01-01 or 9999-12-31 outside, and such rows
# would break every Python reader of the Parquet (datetime has no year 0 or 10000).
_TS_MIN = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
_TS_MAX = "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"


# "Spaces" are U+0020 only, as in Spark's trim: DuckDB's one-argument trim also strips NBSP
# and other Unicode spaces, so every trim here names its character. trim(x, ' ') is slow (it
# added 5 s to 10M rows), so it runs only where a cheap test says there is a space to strip.
def _trim_spaces(col: str) -> str:
    return f"CASE WHEN contains({col}, ' ') THEN trim({col}, ' ') ELSE {col} END"


# A blank line is empty or all spaces; a line that starts with neither is decided at once.
_NOT_BLANK = (
    "CASE WHEN raw IS NULL THEN false WHEN starts_with(raw, ' ') THEN ltrim(raw, ' ') <> '' "
    "ELSE raw <> '' END"
)


def _parse_sql(src: str, extra: str = "") -> str:
    """(line_number, byte_offset, raw, bad_encoding) -> the same plus raw fields as text.

    ``extra`` (", a, b") names further source columns to carry through, here and in the
    rules and stage selects.
    """
    paths = ", ".join(_sql_str(f"$.{name}") for name in s.RAW_CALL_FIELDS)
    fields = ",\n  ".join(f"f[{i}] AS {name}" for i, name in enumerate(s.RAW_CALL_FIELDS, start=1))
    return f"""
SELECT line_number, byte_offset, raw, bad_encoding, is_object{extra},
  {fields}
FROM (
  SELECT *, CASE WHEN is_object THEN json_extract_string(raw, [{paths}]) END AS f
  FROM (
    SELECT *, (NOT bad_encoding AND json_valid(raw)
               AND CASE WHEN starts_with(raw, '{{') THEN true
                    ELSE starts_with(ltrim(raw, ' '), '{{') END) AS is_object
    FROM {src}
  )
)"""


def _ts_sql(col: str) -> str:
    """A text timestamp -> TIMESTAMPTZ, or NULL unless it is strict ISO-8601 (naive = UTC)."""
    return f"CASE WHEN regexp_matches({col}, {_ISO}) THEN TRY_CAST(upper({col}) AS TIMESTAMPTZ) END"


def _rules_sql(src: str, extra: str = "") -> str:
    """Raw text fields -> typed contract fields plus the reject reason (NULL when kept).

    Reasons are tested in the order of ``schema.REJECT_REASONS``; the first that applies wins.
    Duplicates are decided later, over all rows that pass these rules.
    """
    # Text fields lose leading/trailing spaces (SQL trim, the same in Spark); timestamps are
    # not trimmed: a padded timestamp is not strict ISO-8601.
    txt = {name: f"NULLIF({_trim_spaces(name)}, '')" for name in s.RAW_CALL_FIELDS}
    for name in (s.START_TIME, s.END_TIME):
        txt[name] = f"NULLIF(CAST({name} AS VARCHAR), '')"
    rating_ok = " OR ".join(f"rating_num = {n}" for n in range(s.MIN_RATING, s.MAX_RATING + 1))
    return f"""
SELECT line_number, byte_offset, raw{extra},
  CASE
    WHEN bad_encoding THEN '{s.REJECT_ENCODING}'
    WHEN NOT is_object THEN '{s.REJECT_MALFORMED}'
    WHEN call_id IS NULL THEN '{s.REJECT_MISSING_CALL_ID}'
    WHEN start_txt IS NULL OR end_txt IS NULL THEN '{s.REJECT_MISSING_TS}'
    WHEN start_ts IS NULL OR end_ts IS NULL OR least(start_ts, end_ts) < {_TS_MIN}
      OR greatest(start_ts, end_ts) > {_TS_MAX} THEN '{s.REJECT_INVALID_TS}'
    WHEN end_ts <= start_ts THEN '{s.REJECT_NON_POSITIVE}'
  END AS reason,
  call_id, agent_id, customer_id,
  start_ts AS {s.START_TIME}, end_ts AS {s.END_TIME},
  lower(issue_type_txt) AS {s.ISSUE_TYPE}, lower(resolution_txt) AS {s.RESOLUTION},
  CASE WHEN {rating_ok} THEN CAST(rating_num AS INTEGER) END AS {s.RATING},
  (rating_txt IS NOT NULL AND NOT coalesce({rating_ok}, false)) AS rating_invalid
FROM (
  SELECT *, {_ts_sql("start_txt")} AS start_ts, {_ts_sql("end_txt")} AS end_ts,
         TRY_CAST(rating_txt AS DOUBLE) AS rating_num
  FROM (
    SELECT line_number, byte_offset, raw, bad_encoding, is_object{extra},
      {txt[s.CALL_ID]} AS call_id, {txt[s.AGENT_ID]} AS agent_id,
      {txt[s.CUSTOMER_ID]} AS customer_id,
      {txt[s.START_TIME]} AS start_txt, {txt[s.END_TIME]} AS end_txt,
      {txt[s.ISSUE_TYPE]} AS issue_type_txt, {txt[s.RESOLUTION]} AS resolution_txt,
      {txt[s.RATING]} AS rating_txt
    FROM {src}
  )
)"""


_STAGED_DDL = f"""
CREATE TABLE staged (
  line_number BIGINT, byte_offset BIGINT, raw VARCHAR, reason VARCHAR,
  call_id VARCHAR, agent_id VARCHAR, customer_id VARCHAR,
  {s.START_TIME} TIMESTAMPTZ, {s.END_TIME} TIMESTAMPTZ,
  {s.ISSUE_TYPE} VARCHAR, {s.RESOLUTION} VARCHAR, {s.RATING} INTEGER, rating_invalid BOOLEAN,
  agent_code INTEGER
)"""

_AGENT_TYPE = "agent_key"


@dataclass(frozen=True)
class _Agents:
    """agents.csv as per-row SQL expressions instead of a join.

    A hash join in DuckDB does not keep row order, and the kept rows must come out in input
    order without a global sort (the sort was a third of the 10M-row run). So agent ids become
    an ENUM: ``enum_code`` is an O(1) lookup and the name and region are list literals indexed
    by it. An empty agents table makes every call an unknown agent.
    """

    names: str
    regions: str
    empty: bool

    @classmethod
    def register(cls, con: duckdb.DuckDBPyConnection, agents: pa.Table) -> _Agents:
        rows = sorted(
            zip(*(agents[c].to_pylist() for c in s.AGENT_COLUMNS), strict=True),
            key=lambda r: r[0],
        )
        if not rows:
            return cls("NULL", "NULL", True)

        def literal(values: list[str | None]) -> str:
            items = ", ".join("NULL" if v is None else _sql_str(v) for v in values)
            return f"([{items}]::VARCHAR[])"

        ids = ", ".join(_sql_str(r[0]) for r in rows)
        con.execute(f"CREATE TYPE {_AGENT_TYPE} AS ENUM ({ids})")
        col = {c: i for i, c in enumerate(s.AGENT_COLUMNS)}
        return cls(
            literal([r[col[s.AGENT_NAME]] for r in rows]),
            literal([r[col[s.REGION]] for r in rows]),
            False,
        )

    def code(self, agent_id: str) -> str:
        if self.empty:
            return "CAST(NULL AS INTEGER)"
        return f"CAST(enum_code(TRY_CAST({agent_id} AS {_AGENT_TYPE})) AS INTEGER)"

    def name(self, code: str) -> str:
        return "CAST(NULL AS VARCHAR)" if self.empty else f"{self.names}[{code} + 1]"

    def region(self, code: str) -> str:
        return "CAST(NULL AS VARCHAR)" if self.empty else f"{self.regions}[{code} + 1]"


def _stage_select(src: str, keep_raw: bool, agents: _Agents, extra: str = "") -> str:
    """Rule results in `staged` layout; raw text is kept only where a reject needs it."""
    raw = "raw" if keep_raw else "CASE WHEN reason IS NOT NULL THEN raw END"
    return f"""
SELECT line_number, byte_offset, {raw} AS raw, reason, call_id, agent_id, customer_id,
       {s.START_TIME}, {s.END_TIME}, {s.ISSUE_TYPE}, {s.RESOLUTION}, {s.RATING}, rating_invalid,
       {agents.code("agent_id")} AS agent_code{extra}
FROM ({_rules_sql(src, extra)})"""


# Later lines that repeat a kept call_id; `dups` holds only call_ids seen more than once,
# so the tables below stay small even for 10M distinct calls.
_DUPS_SQL = """
CREATE TEMP TABLE dups AS
SELECT call_id, min(line_number) AS first_line
FROM staged WHERE reason IS NULL
GROUP BY call_id HAVING count(*) > 1"""

_DUP_LINES_SQL = """
SELECT v.line_number, v.byte_offset, v.raw FROM staged v JOIN dups d ON v.call_id = d.call_id
WHERE v.reason IS NULL AND v.line_number <> d.first_line
ORDER BY v.line_number"""

# Rows that pass the rules and are not a later copy of a call_id (dup_lines, registered).
_KEPT_WHERE = "v.reason IS NULL AND v.line_number NOT IN (SELECT line_number FROM dup_lines)"


def _kept_sql(agents: _Agents, where: str = _KEPT_WHERE, *, ordered: bool = True) -> str:
    """Rows in contract column order, plus line_number, rating_invalid and unknown_agent.

    No joins, so a scan of `staged` (filled in input order) yields rows in input order;
    ``ordered`` adds an explicit sort where the filter (an anti-join) may reorder them.
    """
    centi = s.MICROS_PER_CENTIMINUTE
    cols = {
        s.CALL_ID: "v.call_id",
        s.AGENT_ID: "v.agent_id",
        s.AGENT_NAME: agents.name("v.agent_code"),
        s.REGION: agents.region("v.agent_code"),
        s.CUSTOMER_ID: "v.customer_id",
        s.START_TIME: f"v.{s.START_TIME}",
        s.END_TIME: f"v.{s.END_TIME}",
        s.CALL_DURATION_MINUTES: (
            f"CAST((epoch_us(v.{s.END_TIME}) - epoch_us(v.{s.START_TIME}) + {centi // 2})"
            f" // {centi} AS DOUBLE) / 100.0"
        ),
        s.ISSUE_TYPE: f"v.{s.ISSUE_TYPE}",
        s.RESOLUTION: f"v.{s.RESOLUTION}",
        s.RATING: f"v.{s.RATING}",
        s.CALL_DATE: f"CAST(v.{s.START_TIME} AS DATE)",
        s.HOUR_OF_DAY: f"CAST(hour(v.{s.START_TIME}) AS INTEGER)",
    }
    select = ",\n  ".join(f"{cols[name]} AS {name}" for name in s.CLEANED_COLUMNS)
    extra = "v.line_number, v.rating_invalid, v.agent_code IS NULL AS unknown_agent"
    order = "\nORDER BY v.line_number" if ordered else ""
    return f"SELECT\n  {select},\n  {extra}\nFROM staged v\nWHERE {where}{order}"


_EXTRA_COLUMNS = ("line_number", "rating_invalid", "unknown_agent")

_WARNINGS_SQL = f"""
SELECT count(*) FILTER (WHERE v.rating_invalid) AS {s.WARN_INVALID_RATING},
       count(*) FILTER (WHERE v.agent_code IS NULL) AS {s.WARN_UNKNOWN_AGENT},
       count(*) AS kept
FROM staged v WHERE {_KEPT_WHERE}"""


def _connect(workdir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with bounded memory that spills to ``workdir``."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {_sql_str(config.DUCKDB_MEMORY_LIMIT)}")
    con.execute(f"SET threads = {int(config.DUCKDB_THREADS)}")
    if workdir:
        con.execute(f"SET temp_directory = {_sql_str(str(workdir / 'spill'))}")
    return con


# --------------------------------------------------------------------------------------------
# agents.csv
# --------------------------------------------------------------------------------------------
def load_agents(path: Path | str) -> pd.DataFrame:
    """Read agents.csv (BOM, quoted commas and extra columns tolerated) and validate its ids.

    Raises InputError for a missing/empty file, a missing required column, a row without an
    agent_id, or a duplicated agent_id, since any of those would silently mis-attribute calls.
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
    # strict: an unterminated quote would otherwise swallow every later row into one name.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [row for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise InputError(
            f"{path}: not valid CSV at line {reader.line_num} ({exc}); check the quoting"
        ) from None
    if not rows:
        raise InputError(
            f"{path}: agents file is empty; it needs a header {','.join(s.AGENT_COLUMNS)}"
        )
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in s.AGENT_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header needs "
            f"{','.join(s.AGENT_COLUMNS)} (found {','.join(header) or 'nothing'})"
        )
    idx = {c: header.index(c) for c in s.AGENT_COLUMNS}
    records: dict[str, list[str | None]] = {c: [] for c in s.AGENT_COLUMNS}
    seen: dict[str, int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
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
        seen[agent_id] = line_no
        for c in s.AGENT_COLUMNS:
            records[c].append(values[c] or None)
    return pd.DataFrame(records, columns=list(s.AGENT_COLUMNS), dtype=object)


def _agents_arrow(agents: pd.DataFrame) -> pa.Table:
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
    return pa.table(cols)


# --------------------------------------------------------------------------------------------
# Reading NDJSON as numbered lines
# --------------------------------------------------------------------------------------------
@dataclass
class _Chunk:
    table: pa.Table  # line_number, byte_offset, raw, bad_encoding
    nbytes: int


def _open_calls(path: Path) -> tuple[BinaryIO, bool]:
    """Open the calls file; gzip is detected by its magic bytes whatever the file is called."""
    fh = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
    if fh.read(2) == _GZIP_MAGIC:
        fh.close()
        return gzip.open(path, "rb"), True
    fh.seek(0)
    return fh, False


def _lines_table(data: bytes, first_line: int, base_offset: int) -> pa.Table:
    """Split a block of whole lines into an Arrow table without a Python loop per line."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    ends = newlines if data.endswith(b"\n") else np.append(newlines, len(data))
    n = len(ends)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    offsets[-1] = min(offsets[-1], len(data))
    starts = offsets[:-1]
    binary = pa.Array.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    bad = np.zeros(n, dtype=bool)
    try:
        text = binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        text, bad = _decode_lines_slowly(data, starts, offsets[1:])
    text = pc.utf8_rtrim(text, characters="\r\n")
    table = pa.table(
        {
            "line_number": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
            "byte_offset": pa.array(starts + base_offset),
            "raw": text,
            "bad_encoding": pa.array(bad),
        }
    )
    # Several record batches let DuckDB scan one chunk on all its threads.
    return pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS))


def _decode_lines_slowly(
    data: bytes, starts: np.ndarray, ends: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Per-line decoding for a block with invalid UTF-8: bad lines keep a readable escape."""
    texts: list[str] = []
    bad = np.zeros(len(starts), dtype=bool)
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        piece = data[a:b]
        try:
            texts.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(piece.decode("utf-8", "backslashreplace"))
            bad[i] = True
    return pa.array(texts, type=pa.large_string()), bad


def _iter_chunks(
    fh: BinaryIO, path: Path, chunk_bytes: int, hasher: Any | None
) -> Iterator[_Chunk]:
    """Yield blocks of whole lines; a BOM is dropped and a JSON array is refused up front."""
    carry = b""
    consumed = 0  # bytes of the (decompressed) stream before `carry`
    line_no = 1
    first = True
    while True:
        try:
            block = fh.read(chunk_bytes)
        except (EOFError, OSError, zlib.error) as exc:
            if not isinstance(fh, gzip.GzipFile):
                raise
            raise InputError(
                f"{path}: gzip data is truncated or corrupt ({exc}); copy the file again"
            ) from None
        if hasher is not None and block:
            hasher.update(block)
        data = carry + block
        if block:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            data, carry = data[:cut], data[cut:]
        else:
            carry = b""
        if first and data:
            first = False
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
                consumed += len(_BOM)
            head = data.lstrip()[:1]
            if head == b"[":
                raise InputError(
                    f"{path}: is a JSON array, not NDJSON (one JSON object per line); "
                    "convert it with: jq -c '.[]' FILE > calls.json"
                )
        if data:
            table = _lines_table(data, line_no, consumed)
            yield _Chunk(table, len(data))
            line_no += table.num_rows
            consumed += len(data)
        if not block:
            return


# --------------------------------------------------------------------------------------------
# In-memory API (notebooks, tests)
# --------------------------------------------------------------------------------------------
def load_calls(path: Path | str) -> pd.DataFrame:
    """Every non-blank line of an NDJSON calls file with its raw fields as text.

    Columns: line_number, raw, and each of ``schema.RAW_CALL_FIELDS`` (None where absent or
    where the line is not a JSON object). Pass the result to :func:`clean_calls`.
    """
    path = _check_calls_path(Path(path))
    con = _connect()
    fh, _ = _open_calls(path)
    frames = []
    with fh:
        for chunk in _iter_chunks(fh, path, config.READ_CHUNK_BYTES, None):
            con.register("chunk", chunk.table)
            frames.append(
                con.sql(
                    f"SELECT * EXCLUDE (byte_offset, is_object) FROM ({_parse_sql('chunk')}) "
                    f"WHERE {_NOT_BLANK}"
                ).to_arrow_table()
            )
            con.unregister("chunk")
    table = pa.concat_tables(frames) if frames else pa.table({})
    df = (
        table.drop_columns(["bad_encoding"]).to_pandas()
        if frames
        else pd.DataFrame(columns=["line_number", "raw", *s.RAW_CALL_FIELDS])
    )
    return df


@dataclass
class CleanResult:
    """Kept rows (contract columns), rejected rows (line_number, reason, raw) and warnings."""

    kept: pd.DataFrame
    rejected: pd.DataFrame
    warnings: dict[str, int]


def clean_calls(calls_df: pd.DataFrame, agents_df: pd.DataFrame) -> pd.DataFrame:
    """Apply the cleaning rules to a frame of raw calls; returns the kept rows per the contract."""
    return clean_calls_detailed(calls_df, agents_df).kept


def clean_calls_detailed(calls_df: pd.DataFrame, agents_df: pd.DataFrame) -> CleanResult:
    """Like :func:`clean_calls`, but also returns the rejects and the warning counts."""
    frame = pd.DataFrame(index=calls_df.index)
    frame["line_number"] = (
        calls_df["line_number"].astype("int64")
        if "line_number" in calls_df
        else np.arange(1, len(calls_df) + 1, dtype=np.int64)
    )
    frame["byte_offset"] = np.int64(-1)
    frame["raw"] = calls_df["raw"].astype(object) if "raw" in calls_df else None
    frame["bad_encoding"] = False
    # Rows from load_calls carry None for every field when the line was not a JSON object.
    if "raw" in calls_df:
        fields_absent = calls_df[[c for c in s.RAW_CALL_FIELDS if c in calls_df]].isna().all(axis=1)
        frame["is_object"] = ~fields_absent | calls_df["raw"].map(_is_json_object)
    else:
        frame["is_object"] = True
    for name in s.RAW_CALL_FIELDS:
        frame[name] = calls_df[name].map(_as_text) if name in calls_df else None
    con = _connect()
    con.register("raw_calls", pa.Table.from_pandas(frame, preserve_index=False))
    agents = _Agents.register(con, _agents_arrow(agents_df))
    con.execute(_STAGED_DDL)
    con.execute(f"INSERT INTO staged {_stage_select('raw_calls', True, agents)}")
    con.execute(_DUPS_SQL)
    con.execute(f"CREATE TEMP TABLE dup_lines AS {_DUP_LINES_SQL}")
    kept = _to_contract(
        con.sql(_kept_sql(agents)).to_arrow_table().drop_columns(list(_EXTRA_COLUMNS))
    )
    warn = con.execute(_WARNINGS_SQL).fetchone()
    rejected = con.execute(
        f"SELECT line_number, reason, raw FROM staged WHERE reason IS NOT NULL "
        f"UNION ALL SELECT line_number, '{s.REJECT_DUPLICATE}', raw FROM dup_lines "
        "ORDER BY line_number"
    ).df()
    return CleanResult(
        kept=_contract_frame(kept),
        rejected=rejected,
        warnings={s.WARN_INVALID_RATING: int(warn[0]), s.WARN_UNKNOWN_AGENT: int(warn[1])},
    )


def _is_json_object(raw: Any) -> bool:
    import json

    try:
        return isinstance(json.loads(raw), dict)
    except (TypeError, ValueError):
        return False


def _as_text(value: Any) -> str | None:
    """A raw field as text, the way json_extract_string renders it (timestamps ISO)."""
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_contract(table: pa.Table) -> pa.Table:
    try:
        return table.cast(s.CLEANED_SCHEMA)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise ContractError(f"cleaned rows do not fit the contract: {exc}") from None


def _contract_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get)


# --------------------------------------------------------------------------------------------
# The file-to-file run
# --------------------------------------------------------------------------------------------
@dataclass
class EtlResult:
    """What a run did; ``up_to_date`` means it found nothing to do."""

    rows_in: int
    rows_out: int
    rejected: dict[str, int]
    warnings: dict[str, int]
    blank_lines: int
    seconds: float
    up_to_date: bool
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        if self.up_to_date:
            return f"up to date: {self.rows_out:,} rows (nothing changed since the last run)"
        warn = ", ".join(f"{k} {v:,}" for k, v in self.warnings.items() if v) or "none"
        return (
            f"{self.rows_in:,} rows in, {self.rows_out:,} kept, {self.rows_rejected:,} rejected, "
            f"warnings: {warn} ({self.seconds:.1f}s)"
        )


def _check_calls_path(path: Path) -> Path:
    if not path.exists():
        raise InputError(
            f"{path}: calls file not found; pass --calls PATH or run "
            "`support-analytics simulate` first"
        )
    if path.is_dir():
        raise InputError(f"{path}: is a directory; pass the NDJSON calls file itself")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: calls file is empty (0 bytes)")
    return path


def _run_options(partition_by: str | None = None) -> dict[str, Any]:
    return {"schema_version": s.SCHEMA_VERSION, "partition_by": partition_by}


def is_up_to_date(
    manifest: dict[str, Any],
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    rejects: Path | str,
    *,
    partition_by: str | None = None,
) -> bool:
    """True when inputs, outputs and options all match what the manifest recorded.

    Paths may be local or s3://, files or (partitioned output) folders: ``storage`` checks.
    """
    inputs = manifest.get("inputs") or {}
    return (
        manifest.get("options") == _run_options(partition_by)
        and (inputs.get("calls") or {}).get("path") == str(calls)
        and (inputs.get("agents") or {}).get("path") == str(agents)
        and storage.fingerprint_matches(inputs.get("calls"), calls)
        and storage.fingerprint_matches(inputs.get("agents"), agents)
        and storage.fingerprint_matches(manifest.get("output"), output)
        and storage.fingerprint_matches(manifest.get("rejects"), rejects)
    )


PARTITION_COLUMNS: tuple[str, ...] = (s.CALL_DATE,)


def check_partition_by(partition_by: str | None) -> None:
    """Only call_date is a supported partition column (the layout Glue/Athena expect)."""
    if partition_by is not None and partition_by not in PARTITION_COLUMNS:
        raise InputError(
            f"--partition-by {partition_by}: not supported; use --partition-by {s.CALL_DATE}"
        )


def _result_from_manifest(manifest: dict[str, Any]) -> EtlResult:
    rows = manifest.get("rows") or {}
    return EtlResult(
        rows_in=int(rows.get("input", 0)),
        rows_out=int(rows.get("output", 0)),
        rejected=dict(rows.get("rejected") or {}),
        warnings=dict(manifest.get("warnings") or {}),
        blank_lines=int(rows.get("blank_lines", 0)),
        seconds=0.0,
        up_to_date=True,
        manifest=manifest,
    )


@contextlib.contextmanager
def _output_lock(output: Path, wait: float | None, quiet: bool) -> Iterator[None]:
    """One writer per output: a second run waits (saying so) or fails with a clear message."""
    output.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(output) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait is not None and wait <= 0:
            raise LockedError(
                f"{output}: another ETL run is writing it (lock {lock.lock_file}); try again "
                "when it finishes"
            ) from None
        if not quiet:
            print(f"waiting for another ETL run writing {output} to finish...", file=sys.stderr)
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise LockedError(
                f"{output}: still locked by another ETL run after {wait:.0f}s "
                f"(lock {lock.lock_file}); try again later"
            ) from None
    try:
        yield
    finally:
        lock.release()


class _Handoff:
    """A thread that feeds ``items`` through a bounded queue, and cannot deadlock its consumer.

    If the consumer fails (DuckDB out of memory, disk full) it stops taking items; the
    producer's ``_put`` then gives up once ``_stop`` is set instead of waiting forever on a
    full queue, so joining the thread returns.
    """

    def __init__(self, items: Iterable[Any], depth: int = 2) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, args=(items,), daemon=True)
        self._thread.start()

    def _produce(self, items: Iterable[Any]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        self._put(None)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def stop(self) -> None:
        """The consumer is done or failed: let the thread go instead of filling the queue."""
        self._stop.set()

    def _next(self) -> Any:
        """The next item; None at the end, once stopped, or once the producer is gone."""
        while True:
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return None
                if not self._thread.is_alive():  # all its puts are done: take what is left
                    try:
                        return self._queue.get_nowait()
                    except queue.Empty:
                        return None


class _Prefetcher(_Handoff):
    """Reads and splits chunks on a thread while DuckDB works on the previous ones.

    numpy, Arrow and file reads release the GIL, so on two cores this overlaps the Python
    side with the engine instead of alternating with it. An error on the thread (say, a JSON
    array) is kept and re-raised on the caller's thread by :meth:`reraise`.
    """

    def __init__(self, chunks: Iterator[_Chunk], bar: Progress) -> None:
        self.lines = 0
        self._bar = bar
        super().__init__(chunks)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while (chunk := self._next()) is not None:
            self.lines += chunk.table.num_rows
            self._bar.update(rows=chunk.table.num_rows, nbytes=chunk.nbytes)
            yield from chunk.table.to_batches()

    def arrow_reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(_LINES_SCHEMA, self._batches())

    def reraise(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


class _ReadAhead(_Handoff):
    """Fetches the next batches of a DuckDB result on a thread while the caller writes the last.

    DuckDB's fetch (both cores) and pyarrow's Parquet encoding (one core) both release the
    GIL; one after the other they took 4.3 s + 6.7 s of the 10M-row write. Iterating yields
    the batches in order and re-raises an error from the thread; leaving early stops it.
    """

    def __init__(self, reader: pa.RecordBatchReader, depth: int = 2) -> None:
        self.schema = reader.schema
        self._reader = reader
        super().__init__(reader, depth)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            while (batch := self._next()) is not None:
                yield batch
            if self.error is not None:
                raise self.error
        finally:
            self.stop()
            self._thread.join()
            self._reader.close()  # DuckDB runs no other query while a result is open


def run_etl(
    calls: Path | str = config.DEFAULT_CALLS,
    agents: Path | str = config.DEFAULT_AGENTS,
    output: Path | str = config.DEFAULT_OUTPUT,
    manifest: Path | str = config.DEFAULT_MANIFEST,
    rejects: Path | str = config.DEFAULT_REJECTS,
    *,
    force: bool = False,
    progress: bool = True,
    lock_wait: float | None = None,
    chunk_bytes: int = config.READ_CHUNK_BYTES,
    partition_by: str | None = None,
) -> EtlResult:
    """Clean an NDJSON calls file into Parquet + rejects + manifest, all written atomically.

    Does nothing (``up_to_date``) when the manifest shows the same inputs and intact outputs,
    unless ``force``. Raises InputError for unusable inputs before any output is touched.
    ``partition_by="call_date"`` writes a Hive-partitioned folder instead of one file; any
    path may be an s3:// URL (see :func:`_run_remote`).
    """
    check_partition_by(partition_by)
    if any(storage.is_remote(p) for p in (calls, agents, output, manifest, rejects)):
        return _run_remote(
            calls, agents, output, manifest, rejects, force, progress, chunk_bytes, partition_by
        )
    calls, agents, output = Path(calls), Path(agents), Path(output)
    manifest_path, rejects = Path(manifest), Path(rejects)
    _check_calls_path(calls)
    agents_table = _agents_arrow(load_agents(agents))

    with _output_lock(output, lock_wait, quiet=not progress):
        note = recover_interrupted_run(output)
        if note and progress:
            print(note, file=sys.stderr)
        previous = read_manifest(manifest_path)
        if not force and is_up_to_date(
            previous, calls, agents, output, rejects, partition_by=partition_by
        ):
            return _result_from_manifest(previous)
        return _run_locked(
            calls,
            agents,
            output,
            manifest_path,
            rejects,
            agents_table,
            progress,
            chunk_bytes,
            partition_by,
        )


def _run_locked(
    calls: Path,
    agents: Path,
    output: Path,
    manifest_path: Path,
    rejects: Path,
    agents_table: pa.Table,
    progress: bool,
    chunk_bytes: int,
    partition_by: str | None = None,
) -> EtlResult:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    lap = _lap_timer(timings)
    for target in (output, rejects, manifest_path):
        target.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".work", dir=output.parent))
    try:
        con = _connect(workdir)
        agents_sql = _Agents.register(con, agents_table)
        staged_path = workdir / "staged.parquet"
        with open(calls, "rb") as fh:
            gzipped = fh.read(2) == _GZIP_MAGIC
        fast = _stage_fast(con, calls, agents_sql, staged_path, progress)
        if fast.lines is not None:
            lines, calls_sha = fast.lines, fast.sha256
        else:
            if fast.fallback and progress:
                print(f"etl: {fast.fallback}; reading it line by line instead", file=sys.stderr)
            lines, calls_sha = _stage_slow(
                con, calls, agents_sql, staged_path, progress, chunk_bytes, fast.sha256
            )
        lap("read_and_rules")
        con.execute(
            f"CREATE VIEW staged AS SELECT * FROM read_parquet({_sql_str(str(staged_path))})"
        )
        rows_in = con.execute("SELECT count(*) FROM staged").fetchone()[0]
        blank = lines - rows_in

        if rows_in == 0:
            raise InputError(f"{calls}: holds no calls (only blank lines)")
        n_objects = con.execute(
            f"SELECT count(*) FROM staged WHERE reason IS DISTINCT FROM '{s.REJECT_MALFORMED}' "
            f"AND reason IS DISTINCT FROM '{s.REJECT_ENCODING}'"
        ).fetchone()[0]
        if n_objects == 0:
            raise InputError(
                f"{calls}: is not NDJSON: none of its {rows_in:,} lines is a JSON object"
            )

        con.execute(_DUPS_SQL)
        dup_lines = con.sql(_DUP_LINES_SQL).to_arrow_table()
        if not gzipped and dup_lines.num_rows:
            dup_lines = dup_lines.set_column(
                2,
                "raw",
                pa.array(
                    _read_lines_at(calls, dup_lines["byte_offset"].to_numpy()), type=pa.string()
                ),
            )
        con.register("dup_lines", dup_lines)
        lap("duplicates")

        tmp_parquet = workdir / ("cleaned" if partition_by else "cleaned.parquet")
        tmp_rejects = workdir / "rejects.jsonl"
        if partition_by:
            con.execute(
                f"COPY (SELECT * EXCLUDE ({', '.join(_EXTRA_COLUMNS)}) "
                f"FROM ({_kept_sql(agents_sql)})) TO {_sql_str(str(tmp_parquet))} "
                f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA "
                f"{{'support_analytics.schema_version': {_sql_str(s.SCHEMA_VERSION)}}}, "
                f"PARTITION_BY ({partition_by}), FILENAME_PATTERN 'part-{{i}}')"
            )
            if not tmp_parquet.exists():  # no kept rows: an empty folder
                tmp_parquet.mkdir()
            warn_row = con.execute(_WARNINGS_SQL).fetchone()
        else:
            warn_row = _write_kept(
                con, agents_sql, dup_lines["line_number"].to_numpy(), tmp_parquet
            )
        lap("write_parquet")
        _write_rejects(con, tmp_rejects)
        by_reason = dict(
            con.execute(
                "SELECT reason, count(*) FROM staged WHERE reason IS NOT NULL GROUP BY reason"
            ).fetchall()
        )
        if dup_lines.num_rows:
            by_reason[s.REJECT_DUPLICATE] = dup_lines.num_rows
        con.close()
        lap("write_rejects_and_count")

        rows_out = int(warn_row[2])
        rejected = {r: int(by_reason.get(r, 0)) for r in s.REJECT_REASONS}
        if rows_out + sum(rejected.values()) != rows_in:  # pragma: no cover - invariant
            raise ContractError(
                f"row counts do not reconcile: {rows_in} in != {rows_out} kept + "
                f"{sum(rejected.values())} rejected"
            )
        problems = s.contract_mismatches(storage.read_cleaned_schema(tmp_parquet))
        if problems:
            raise ContractError(f"{output}: output breaks the contract: {'; '.join(problems)}")
        staged_files = sorted(tmp_parquet.rglob("*.parquet")) if partition_by else [tmp_parquet]
        for staged_file in staged_files:
            _fsync(staged_file)
        _fsync(tmp_rejects)
        lap("check_and_fsync")

        warnings = {
            s.WARN_INVALID_RATING: int(warn_row[0]),
            s.WARN_UNKNOWN_AGENT: int(warn_row[1]),
        }
        seconds = time.perf_counter() - started
        payload = cleaned_calls_manifest(
            output,
            staged_output=tmp_parquet,
            engine=ENGINE,
            seconds=round(seconds, 3),
            timings=timings,
            options=_run_options(partition_by),
            inputs={
                "calls": file_fingerprint(calls, calls_sha),
                "agents": file_fingerprint(agents),
            },
            rejects=staged_fingerprint(rejects, tmp_rejects),
            rows={
                "input": rows_in,
                "output": rows_out,
                "rejected": rejected,
                "blank_lines": blank,
            },
            warnings=warnings,
        )
        _commit(
            workdir,
            [(tmp_parquet, output), (tmp_rejects, rejects)],
            manifest_path,
            payload,
        )
        return EtlResult(rows_in, rows_out, rejected, warnings, blank, seconds, False, payload)
    finally:
        # A commit record still here means publishing failed half-way (an error, Ctrl-C):
        # keep it so the next run replays it instead of leaving a mixed set.
        if not (workdir / _COMMIT_RECORD).exists():
            shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Committing a run: previous set or new set, never a mix that survives the next run
# --------------------------------------------------------------------------------------------
_COMMIT_RECORD = "commit.json"


def _commit(
    workdir: Path, moves: list[tuple[Path, Path]], manifest_path: Path, payload: dict[str, Any]
) -> None:
    """Make the staged files and manifest current; the commit record is the commit point.

    Three paths cannot change in one system call, so the run first writes (atomically) a
    record of every rename plus the manifest into its work dir. Killed before that, the
    previous set is untouched and the work dir is garbage; killed after it, the next run
    (or ``verify``) replays the record. Either way the set left is the previous or the new one.
    """
    record = {
        "moves": [[m[0].name, os.path.abspath(m[1])] for m in moves],
        "manifest_path": os.path.abspath(manifest_path),
        "manifest": payload,
    }
    atomic_write_bytes(workdir / _COMMIT_RECORD, json.dumps(record).encode("utf-8"))
    _fsync_dir(workdir)
    _publish(workdir, record)
    (workdir / _COMMIT_RECORD).unlink()


def _publish(workdir: Path, record: dict[str, Any]) -> None:
    """Carry out a commit record; idempotent, so a replay after a kill finishes the job."""
    for staged_name, target in record["moves"]:
        staged = workdir / staged_name
        if not staged.exists():
            continue
        if staged.is_dir() or Path(target).is_dir():  # a partitioned folder, or replacing one
            storage.replace_local(staged, Path(target))
        else:
            os.replace(staged, target)
            _fsync_dir(Path(target).parent)
    write_manifest(record["manifest_path"], record["manifest"])


def _work_dirs(output: Path) -> list[Path]:
    """Work dirs of runs on this output (``tempfile.mkdtemp`` names: 8 chars of [a-z0-9_])."""
    pattern = re.compile(re.escape(f".{output.name}.") + r"[a-z0-9_]{8}\.work")
    if not output.parent.is_dir():
        return []
    return sorted(p for p in output.parent.iterdir() if pattern.fullmatch(p.name) and p.is_dir())


def recover_interrupted_run(output: Path | str) -> str | None:
    """Finish or discard what a killed run left beside ``output``; call with the lock held.

    A work dir with a commit record reached its commit point: replay it (roll forward). Any
    other work dir died before committing, with the previous set untouched: delete it.
    Returns a note for the user when something was rolled forward, else None.
    """
    note = None
    for workdir in _work_dirs(Path(output)):
        record_path = workdir / _COMMIT_RECORD
        if record_path.is_file():
            _publish(workdir, json.loads(record_path.read_text(encoding="utf-8")))
            note = f"finished the commit of an interrupted ETL run on {output}"
        shutil.rmtree(workdir, ignore_errors=True)
    return note


def verify_run(
    output: Path | str = config.DEFAULT_OUTPUT,
    rejects: Path | str = config.DEFAULT_REJECTS,
    manifest: Path | str = config.DEFAULT_MANIFEST,
    *,
    lock_wait: float | None = None,
) -> str:
    """Check that the Parquet and rejects are the files the manifest records (by sha256).

    Takes the output lock and replays an interrupted commit first, so a crash is never
    reported as tampering. Raises IntegrityError with the fix when anything differs.
    """
    output, rejects, manifest_path = Path(output), Path(rejects), Path(manifest)
    with _output_lock(output, lock_wait, quiet=False):
        recover_interrupted_run(output)
        if not manifest_path.is_file():
            raise IntegrityError(f"{manifest_path}: no manifest; run `support-analytics etl`")
        recorded = read_manifest(manifest_path, warn=False)
        if not recorded:
            raise IntegrityError(
                f"{manifest_path}: manifest is unreadable; rerun `support-analytics etl --force`"
            )
        problems = [
            p
            for p in (
                verify_output(recorded, output, "output"),
                verify_output(recorded, rejects, "rejects"),
            )
            if p
        ]
    if problems:
        raise IntegrityError("; ".join(problems))
    rows = recorded.get("rows") or {}
    return (
        f"ok: {output} ({int(rows.get('output', 0)):,} rows) and {rejects} "
        f"({sum((rows.get('rejected') or {}).values()):,} rejects) match {manifest_path}"
    )


def _fsync_dir(path: Path) -> None:
    """Make renames in a folder durable (a crash of the machine, not only of the process)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _run_remote(
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    manifest: Path | str,
    rejects: Path | str,
    force: bool,
    progress: bool,
    chunk_bytes: int,
    partition_by: str | None,
) -> EtlResult:
    """The run with s3:// paths: stage remote inputs locally, clean, upload the outputs.

    DuckDB's httpfs extension cannot be downloaded here, so fsspec (s3fs, the usual AWS
    credential chain) moves the bytes. The manifest records the remote paths and their
    fingerprints (size, ETag, sha256) so up-to-date checks work against S3 too. There is no
    lock across machines on S3: one writer per output prefix is the caller's job.
    """
    calls, agents, output, manifest, rejects = (
        storage.as_path(p) for p in (calls, agents, output, manifest, rejects)
    )
    previous = read_manifest(manifest)
    if not force and is_up_to_date(
        previous, calls, agents, output, rejects, partition_by=partition_by
    ):
        return _result_from_manifest(previous)
    with tempfile.TemporaryDirectory(prefix="support-analytics-s3.") as tmp:
        work = Path(tmp)

        def local(path: Path | str, name: str, download: bool) -> Path:
            if not storage.is_remote(path):
                return Path(path)
            target = work / name / str(path).rstrip("/").rsplit("/", 1)[-1]
            return storage.download(path, target) if download else target

        out_local = local(output, "out", False)
        rejects_local = local(rejects, "rejects", False)
        result = run_etl(
            local(calls, "in", True),
            local(agents, "agents", True),
            out_local,
            work / "manifest" / "manifest.json",
            rejects_local,
            force=True,
            progress=progress,
            chunk_bytes=chunk_bytes,
            partition_by=partition_by,
        )
        for remote, staged in ((output, out_local), (rejects, rejects_local)):
            if storage.is_remote(remote):
                storage.upload(staged, remote)
        payload = dict(result.manifest)
        payload["inputs"] = {
            "calls": storage.fingerprint(calls),
            "agents": storage.fingerprint(agents),
        }
        payload["output"] = storage.fingerprint(output)
        payload["rejects"] = storage.fingerprint(rejects)
        write_manifest(manifest, payload)
        result.manifest = payload
        return result


# --------------------------------------------------------------------------------------------
# Pass 1: rules over every line, staged in input order
# --------------------------------------------------------------------------------------------
# DuckDB's CSV reader as a parallel line splitter: one VARCHAR column, no quoting, and a
# delimiter that `_Scan` proves absent. Blank lines come out as NULL rows, so row i is line i.
_MAX_FAST_LINE = 8 * 1024 * 1024


# What a failing DuckDB query raises while it streams: duckdb.Error before the first batch,
# and a plain OSError (through Arrow's stream) after it, as for an invalid byte on line
# 5,000,000.
_STREAM_ERRORS = (duckdb.Error, pa.ArrowException, OSError)


def _csv_lines_sql(path: Path, crlf: bool = False) -> str:
    new_line = "\\r\\n" if crlf else "\\n"
    return (
        f"read_csv({_sql_str(str(path))}, columns={{'raw': 'VARCHAR'}}, delim=chr(1), "
        "quote='', escape='', comment='', header=false, auto_detect=false, "
        f"strict_mode=false, new_line='{new_line}', max_line_size={_MAX_FAST_LINE})"
    )


class _Scan:
    """Hashes the calls file on a thread and looks for the bytes the fast reader cannot take.

    A \\x01 would split a line. With LF line ends any carriage return is refused; with CRLF
    line ends every CR must be followed by LF and every LF preceded by CR, since DuckDB reads
    a stray CR or LF in CRLF mode as a line end while keeping the byte total right. Either
    problem sends the run to the line-by-line reader. hashlib and bytes.find/count release
    the GIL, so this overlaps DuckDB's work.
    """

    def __init__(self, path: Path, crlf: bool = False) -> None:
        self.path = path
        self.crlf = crlf
        self.sha256 = ""
        self.problem: str | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        digest = hashlib.sha256()
        cr = lf = crlf = 0
        last = b""
        try:
            with open(self.path, "rb") as fh:
                while block := fh.read(8 * 1024 * 1024):
                    digest.update(block)
                    if self.problem is not None:
                        continue
                    if block.find(b"\x01") >= 0:
                        self.problem = "it has \\x01 control bytes"
                    elif not self.crlf and block.find(b"\r") >= 0:
                        self.problem = "it has carriage returns but not CRLF line ends"
                    elif self.crlf:
                        cr += block.count(b"\r")
                        lf += block.count(b"\n")
                        crlf += block.count(b"\r\n") + (last == b"\r" and block[:1] == b"\n")
                        last = block[-1:]
            if self.crlf and self.problem is None and not cr == lf == crlf:
                self.problem = "it mixes CRLF line ends with lone CR or LF bytes"
            self.sha256 = digest.hexdigest()
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc

    def join(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


@dataclass
class _FastResult:
    """Lines read (None when the fast reader did not finish), the file's sha256, and why not."""

    lines: int | None
    sha256: str | None
    fallback: str | None


def _stage_fast(
    con: duckdb.DuckDBPyConnection, calls: Path, agents: _Agents, staged: Path, progress: bool
) -> _FastResult:
    """Pass 1 with DuckDB reading and splitting the file on all its threads.

    Line numbers and byte offsets are assigned here, batch by batch, from each line's byte
    length: DuckDB keeps insertion order, and the lengths must add up to the file size or the
    result is thrown away. LF and CRLF files (as the first line ends) both qualify. Any
    surprise (gzip, invalid UTF-8, mixed line ends, \\x01 bytes, a line over 8 MiB) hands the
    file to the line-by-line reader, which handles all of them.
    """
    with open(calls, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(_GZIP_MAGIC):
        return _FastResult(None, None, None)
    bom = len(_BOM) if head.startswith(_BOM) else 0
    if head[bom:].lstrip()[:1] in (b"[", b""):  # a JSON array (or blank start): slow path
        return _FastResult(None, None, None)
    first_end = head.find(b"\n")
    crlf = first_end > 0 and head[first_end - 1 : first_end] == b"\r"
    scan = _Scan(calls, crlf)
    size = calls.stat().st_size
    terminator = 2 if crlf else 1
    bar = Progress("etl", total_bytes=size, enabled=progress)
    src = (
        "(SELECT CAST(NULL AS BIGINT) AS line_number, CAST(NULL AS BIGINT) AS byte_offset, "
        "raw, false AS bad_encoding, coalesce(strlen(raw), 0) AS nbytes, "
        f"NOT {_NOT_BLANK} AS blank FROM {_csv_lines_sql(calls, crlf)})"
    )
    extra = ", nbytes, blank"
    state = {"line": 1, "offset": bom}

    def number(batch: pa.RecordBatch) -> pa.Table:
        width = batch.column("nbytes").to_numpy().astype(np.int64) + terminator
        ends = state["offset"] + np.cumsum(width)
        n = batch.num_rows
        table = pa.Table.from_batches([batch])
        table = table.set_column(
            0, "line_number", pa.array(np.arange(state["line"], state["line"] + n))
        )
        table = table.set_column(1, "byte_offset", pa.array(ends - width))
        blank = table.column("blank")
        state["line"] += n
        state["offset"] = int(ends[-1]) if n else state["offset"]
        bar.update(rows=n, nbytes=int(width.sum()))
        if pc.any(blank).as_py():
            table = table.filter(pc.invert(blank))
        return table.drop_columns(["nbytes", "blank"])

    try:
        _stage(
            con,
            _stage_select(f"({_parse_sql(src, extra)})", False, agents, extra),
            staged,
            number,
        )
    except _STREAM_ERRORS as exc:
        scan.join()
        bar.close()
        return _FastResult(None, scan.sha256, _fast_reader_stop(str(exc)))
    scan.join()
    bar.close()
    if scan.problem:
        return _FastResult(None, scan.sha256, scan.problem)
    if state["offset"] not in (size, size + terminator):  # no line end after the last line
        return _FastResult(None, scan.sha256, "line lengths do not add up to the file size")
    if not _spot_check(con, calls, staged, state["line"] - 1):
        return _FastResult(None, scan.sha256, "a sampled line is not where the reader put it")
    return _FastResult(state["line"] - 1, scan.sha256, None)


def _fast_reader_stop(message: str) -> str:
    """DuckDB's CSV wording, said in terms of the calls file."""
    line = re.search(r"Line: (\d+)", message)
    where = f"line {line.group(1)}" if line else "a line"
    if "unicode" in message.lower():
        return f"{where} is not valid UTF-8"
    if "maximum line size" in message.lower():
        return f"{where} is longer than {_MAX_FAST_LINE // 2**20} MiB"
    first = message.splitlines()[0] if message else "unknown error"
    return f"the fast reader stopped at {where} ({first})"


_SIMPLE_ID = re.compile(r"[A-Za-z0-9_.:-]+")


def _spot_check(con: duckdb.DuckDBPyConnection, calls: Path, staged: Path, lines: int) -> bool:
    """Re-read ~256 staged rows straight from the file at their byte offsets.

    The byte total proves no line was lost or split; this proves rows kept their order and
    offsets (so line numbers in the rejects, and raw text read back for duplicates, are
    right). A reject must match its line exactly; a kept row's plain call_id must be in it.
    """
    step = max(1, lines // 256)
    rows = con.execute(
        f"SELECT byte_offset, raw, call_id FROM read_parquet({_sql_str(str(staged))}) "
        f"WHERE line_number % {step} = 1 % {step} LIMIT 512"
    ).fetchall()
    with open(calls, "rb") as fh:
        for offset, raw, call_id in rows:
            fh.seek(offset)
            text = fh.readline().rstrip(b"\r\n").decode("utf-8", "replace")
            if raw is not None and raw != text:
                return False
            if raw is None and call_id and _SIMPLE_ID.fullmatch(call_id) and call_id not in text:
                return False
    return True


def _stage_slow(
    con: duckdb.DuckDBPyConnection,
    calls: Path,
    agents: _Agents,
    staged: Path,
    progress: bool,
    chunk_bytes: int,
    sha256: str | None,
) -> tuple[int, str]:
    """Pass 1 with Python splitting lines: takes gzip, CRLF and invalid UTF-8 line by line."""
    fh, gzipped = _open_calls(calls)
    hasher = None if gzipped or sha256 else hashlib.sha256()
    bar = Progress("etl", total_bytes=None if gzipped else calls.stat().st_size, enabled=progress)
    with fh:
        reader = _Prefetcher(_iter_chunks(fh, calls, chunk_bytes, hasher), bar)
        con.register("chunk", reader.arrow_reader())
        non_blank = f"(SELECT * FROM chunk WHERE {_NOT_BLANK})"
        try:
            _stage(con, _stage_select(f"({_parse_sql(non_blank)})", gzipped, agents), staged)
        except _STREAM_ERRORS:
            reader.stop()
            reader.reraise()
            raise
        reader.reraise()
    bar.close()
    if sha256:
        return reader.lines, sha256
    return reader.lines, hasher.hexdigest() if hasher is not None else file_sha256(calls)


def _stage(
    con: duckdb.DuckDBPyConnection,
    query: str,
    path: Path,
    fix: Callable[[pa.RecordBatch], pa.Table] | None = None,
) -> None:
    """Write the rule results, in input order, to a plain uncompressed Parquet file.

    DuckDB's own Parquet writer spends as long encoding this file as the final one; pyarrow
    with no dictionary, codec or statistics writes it at close to disk speed, and DuckDB
    still reads it back within its memory limit, column by column.
    """

    stream = _ReadAhead(con.sql(query).to_arrow_reader(_ROW_GROUP_ROWS))
    writer = None
    try:
        for batch in stream:
            table = fix(batch) if fix is not None else pa.Table.from_batches([batch])
            if writer is None:
                writer = _plain_writer(path, table.schema)
            if table.num_rows:
                writer.write_table(table, row_group_size=_ROW_GROUP_ROWS)
        if writer is None:
            empty = stream.schema
            if fix is not None:
                empty = pa.schema([f for f in empty if f.name not in ("nbytes", "blank")])
            writer = _plain_writer(path, empty)
    finally:
        if writer is not None:
            writer.close()


def _plain_writer(path: Path, schema: pa.Schema) -> Any:
    import pyarrow.parquet as pq

    return pq.ParquetWriter(
        str(path), schema, compression="none", use_dictionary=False, write_statistics=False
    )


_ROW_GROUP_ROWS = 122_880  # DuckDB's default; a row group is the unit of a parallel scan


# Columns that repeat across rows get dictionary pages; ids and timestamps are close to
# unique, where a dictionary only costs time and bytes (pyarrow would try one and give up).
_DICTIONARY_COLUMNS = [
    c for c in s.CLEANED_COLUMNS if c not in (s.CALL_ID, s.CUSTOMER_ID, s.START_TIME, s.END_TIME)
]


# Min/max statistics where they let a reader skip row groups (times, dates, numbers).
# Those of text columns cost a sixth of the encoding time (measured at 10M rows) and prune
# nothing: ids are unique and names and regions repeat in every row group.
_STATISTICS_COLUMNS = [f.name for f in s.CLEANED_SCHEMA if not pa.types.is_string(f.type)]


def _write_kept(
    con: duckdb.DuckDBPyConnection, agents: _Agents, dup_lines: np.ndarray, path: Path
) -> tuple[int, int, int]:
    """Write the kept rows to one Parquet file in input order; returns the warning counts.

    A scan of `staged` comes out in input order, but DuckDB's parallel COPY lays row groups
    out differently from run to run, and a global sort to fix that costs more than the
    write. So DuckDB streams the ordered rows, later copies of a call_id are dropped here by
    line number, and one pyarrow writer cuts fixed-size row groups: same input, same bytes.
    Returns (invalid ratings, unknown agents, kept rows) like ``_WARNINGS_SQL``.
    """
    import pyarrow.parquet as pq

    dups = np.sort(dup_lines.astype(np.int64))
    reader = _ReadAhead(
        con.sql(_kept_sql(agents, "v.reason IS NULL", ordered=False)).to_arrow_reader(
            _ROW_GROUP_ROWS
        )
    )
    invalid = unknown = kept = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with pq.ParquetWriter(
        path,
        s.CLEANED_SCHEMA,
        compression="zstd",
        use_dictionary=_DICTIONARY_COLUMNS,
        write_statistics=_STATISTICS_COLUMNS,
    ) as writer:

        def flush(final: bool) -> None:
            nonlocal pending, pending_rows
            table = pa.Table.from_batches(pending, schema=reader.schema)
            cut = pending_rows if final else pending_rows - pending_rows % _ROW_GROUP_ROWS
            if cut:
                out = table.slice(0, cut).drop_columns(list(_EXTRA_COLUMNS))
                writer.write_table(_to_contract(out), row_group_size=_ROW_GROUP_ROWS)
            rest = table.slice(cut)
            pending, pending_rows = rest.to_batches(), rest.num_rows

        for batch in reader:
            if len(dups):
                lines = batch.column("line_number").to_numpy()
                at = np.minimum(np.searchsorted(dups, lines), len(dups) - 1)
                batch = batch.filter(pa.array(dups[at] != lines))
            if not batch.num_rows:
                continue
            invalid += pc.sum(batch.column("rating_invalid")).as_py() or 0
            unknown += pc.sum(batch.column("unknown_agent")).as_py() or 0
            kept += batch.num_rows
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= _ROW_GROUP_ROWS:
                flush(final=False)
        if pending_rows:
            flush(final=True)
    return invalid, unknown, kept


_REJECT_JSON = (
    f"CAST(to_json(struct_pack({s.REJECT_LINE_NUMBER} := line_number, "
    f"{s.REJECT_REASON} := reason, {s.REJECT_RAW} := raw)) AS VARCHAR)"
)
_REJECT_BATCH_ROWS = 1024  # a reject carries its whole line, which may be megabytes


def _write_rejects(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Every rejected line as one JSON object per line, in line order, streamed.

    A scan of `staged` is already in line order and `dup_lines` is sorted, so the two are
    merged here instead of sorted by DuckDB: a sort of the raw text ran out of memory on a
    file of 20 KB lines, half of them malformed.
    """
    dups = con.execute(
        f"SELECT line_number, {_REJECT_JSON} FROM "
        f"(SELECT line_number, '{s.REJECT_DUPLICATE}' AS reason, raw FROM dup_lines) "
        "ORDER BY line_number"
    ).fetchall()
    stream = _ReadAhead(
        con.sql(
            f"SELECT line_number, {_REJECT_JSON} AS j FROM staged WHERE reason IS NOT NULL"
        ).to_arrow_reader(_REJECT_BATCH_ROWS)
    )
    at = 0
    with open(path, "wb") as fh:
        for batch in stream:
            lines = batch.column(0).to_pylist()
            texts = batch.column(1).to_pylist()
            if not lines:
                continue
            if at == len(dups) or dups[at][0] > lines[-1]:  # no duplicate falls in between
                fh.write(("\n".join(texts) + "\n").encode("utf-8"))
                continue
            for line, text in zip(lines, texts, strict=True):
                while at < len(dups) and dups[at][0] < line:
                    fh.write(dups[at][1].encode("utf-8") + b"\n")
                    at += 1
                fh.write(text.encode("utf-8") + b"\n")
        for _, text in dups[at:]:
            fh.write(text.encode("utf-8") + b"\n")


def _lap_timer(timings: dict[str, float]) -> Callable[[str], None]:
    """Record seconds per phase into ``timings`` (kept in the manifest to show where time went)."""
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - last[0], 3)
        last[0] = now

    return lap


def _read_lines_at(path: Path, offsets: np.ndarray) -> list[str]:
    """The original text of the lines starting at these byte offsets (duplicates are rare)."""
    out: list[str] = []
    with open(path, "rb") as fh:
        for off in offsets.tolist():
            fh.seek(off)
            out.append(fh.readline().rstrip(b"\r\n").decode("utf-8", "backslashreplace"))
    return out


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
