"""The cleaning rules as DuckDB SQL, and agents.csv as a lookup: the spec, readable on its own.

Both readers, the in-memory API and the writers build their queries from here, so notebooks,
tests and the CLI can never disagree about what "clean" means. The Spark engine mirrors these
rules in ``spark_rules.py`` and a parity suite holds the two together. agents.csv itself is
read and checked in ``agents.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from support_analytics import config
from support_analytics import schema as s
from support_analytics.errors import ContractError


def sql_str(value: str) -> str:
    """A SQL string literal (quotes doubled): values reach DuckDB as text, never as code."""
    return "'" + value.replace("'", "''") + "'"


_ISO = sql_str(s.ISO_TIMESTAMP_REGEX)
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
NOT_BLANK = (
    "CASE WHEN raw IS NULL THEN false WHEN starts_with(raw, ' ') THEN ltrim(raw, ' ') <> '' "
    "ELSE raw <> '' END"
)


def parse_sql(src: str, extra: str = "") -> str:
    """(line_number, byte_offset, raw, bad_encoding) -> the same plus raw fields as text.

    ``extra`` (", a, b") names further source columns to carry through, here and in the
    rules and stage selects.
    """
    paths = ", ".join(sql_str(f"$.{name}") for name in s.RAW_CALL_FIELDS)
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
    """A text timestamp -> TIMESTAMPTZ, or NULL unless it is strict ISO-8601 (naive = UTC).

    The only lower-case letter the pattern lets through is a 'z' suffix, so the copy that
    upper() makes is taken only then (it was a tenth of the rules' time).
    """
    text = f"CASE WHEN contains({col}, 'z') THEN upper({col}) ELSE {col} END"
    return f"CASE WHEN regexp_matches({col}, {_ISO}) THEN TRY_CAST({text} AS TIMESTAMPTZ) END"


def _longer_than(col: str, cap: int) -> str:
    """Over ``cap`` characters (code points, as Spark's length and Python's len count).

    strlen (bytes, free in DuckDB) is never less than length, so only a value with more
    bytes than the cap is counted character by character.
    """
    return f"(strlen({col}) > {cap} AND length({col}) > {cap})"


Parsed = tuple[str | None, str | None] | None


def rules_sql(src: str, extra: str = "", parsed: Parsed = None) -> str:
    """Raw text fields -> typed contract fields plus the reject reason (NULL when kept).

    Reasons are tested in the order of ``schema.REJECT_REASONS``; the first that applies wins.
    Duplicates are decided later, over all rows that pass these rules. ``parsed``: start and
    end TIMESTAMPTZ columns of ``extra`` a mapped source parsed itself (NULL: did not parse).
    """
    start_ts, end_ts = parsed or (None, None)
    # Text fields lose leading/trailing spaces (SQL trim, the same in Spark); timestamps are
    # not trimmed: a padded timestamp is not strict ISO-8601.
    txt = {name: f"NULLIF({_trim_spaces(name)}, '')" for name in s.RAW_CALL_FIELDS}
    for name in (s.START_TIME, s.END_TIME):
        txt[name] = f"NULLIF(CAST({name} AS VARCHAR), '')"
    rating_ok = " OR ".join(f"rating_num = {n}" for n in range(s.MIN_RATING, s.MAX_RATING + 1))
    trimmed = {s.ISSUE_TYPE: "issue_type_txt", s.RESOLUTION: "resolution_txt"}
    too_long = " OR ".join(
        _longer_than(trimmed.get(name, name), s.FIELD_MAX_LENGTH[name])
        for name in s.BOUNDED_CALL_FIELDS
    )
    return f"""
SELECT line_number, byte_offset, raw{extra},
  CASE
    WHEN bad_encoding THEN '{s.REJECT_ENCODING}'
    WHEN NOT is_object THEN '{s.REJECT_MALFORMED}'
    WHEN {too_long} THEN '{s.REJECT_TOO_LONG}'
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
  SELECT *, {start_ts or _ts_sql("start_txt")} AS start_ts,
         {end_ts or _ts_sql("end_txt")} AS end_ts,
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


STAGED_DDL = f"""
CREATE TABLE staged (
  line_number BIGINT, byte_offset BIGINT, raw VARCHAR, reason VARCHAR,
  call_id VARCHAR, agent_id VARCHAR, customer_id VARCHAR,
  {s.START_TIME} TIMESTAMPTZ, {s.END_TIME} TIMESTAMPTZ,
  {s.ISSUE_TYPE} VARCHAR, {s.RESOLUTION} VARCHAR, {s.RATING} INTEGER, rating_invalid BOOLEAN,
  agent_code INTEGER
)"""

_AGENT_TYPE = "agent_key"


@dataclass(frozen=True)
class AgentLookup:
    """agents.csv as per-row SQL expressions instead of a join.

    A hash join in DuckDB does not keep row order, and the kept rows must come out in input
    order without a global sort (the sort was a third of the 10M-row run). So agent ids become
    an ENUM: ``enum_code`` is an O(1) lookup and the name and region are list literals indexed
    by it. An empty agents table makes every call an unknown agent.
    """

    names: str
    regions: str
    empty: bool
    #: The same names and regions as values, in agent-code order (the one pass looks them
    #: up in Arrow, after dropping the rejected rows, rather than in DuckDB for every row).
    name_values: tuple[str | None, ...] = ()
    region_values: tuple[str | None, ...] = ()

    @classmethod
    def register(cls, con: duckdb.DuckDBPyConnection, agents: pa.Table) -> AgentLookup:
        rows = sorted(
            zip(*(agents[c].to_pylist() for c in s.AGENT_COLUMNS), strict=True),
            key=lambda r: r[0],
        )
        if not rows:
            return cls("NULL", "NULL", True)

        def literal(values: list[str | None]) -> str:
            items = ", ".join("NULL" if v is None else sql_str(v) for v in values)
            return f"([{items}]::VARCHAR[])"

        ids = ", ".join(sql_str(r[0]) for r in rows)
        con.execute(f"CREATE TYPE {_AGENT_TYPE} AS ENUM ({ids})")
        col = {c: i for i, c in enumerate(s.AGENT_COLUMNS)}
        names = [r[col[s.AGENT_NAME]] for r in rows]
        regions = [r[col[s.REGION]] for r in rows]
        return cls(literal(names), literal(regions), False, tuple(names), tuple(regions))

    def code(self, agent_id: str) -> str:
        if self.empty:
            return "CAST(NULL AS INTEGER)"
        return f"CAST(enum_code(TRY_CAST({agent_id} AS {_AGENT_TYPE})) AS INTEGER)"

    def name(self, code: str) -> str:
        return "CAST(NULL AS VARCHAR)" if self.empty else f"{self.names}[{code} + 1]"

    def region(self, code: str) -> str:
        return "CAST(NULL AS VARCHAR)" if self.empty else f"{self.regions}[{code} + 1]"


def stage_select(
    src: str, keep_raw: bool, agents: AgentLookup, extra: str = "", parsed: Parsed = None
) -> str:
    """Rule results in `staged` layout; raw text is kept only where a reject needs it."""
    raw = "raw" if keep_raw else "CASE WHEN reason IS NOT NULL THEN raw END"
    return f"""
SELECT line_number, byte_offset, {raw} AS raw, reason, call_id, agent_id, customer_id,
       {s.START_TIME}, {s.END_TIME}, {s.ISSUE_TYPE}, {s.RESOLUTION}, {s.RATING}, rating_invalid,
       {agents.code("agent_id")} AS agent_code{extra}
FROM ({rules_sql(src, extra, parsed)})"""


# Later lines that repeat a kept call_id; `dups` holds only call_ids seen more than once,
# so the tables below stay small even for 10M distinct calls.
DUPS_SQL = """
CREATE TEMP TABLE dups AS
SELECT call_id, min(line_number) AS first_line
FROM staged WHERE reason IS NULL
GROUP BY call_id HAVING count(*) > 1"""

DUP_LINES_SQL = """
SELECT v.line_number, v.byte_offset, v.raw FROM staged v JOIN dups d ON v.call_id = d.call_id
WHERE v.reason IS NULL AND v.line_number <> d.first_line
ORDER BY v.line_number"""


def seen_dup_lines_sql(id_files: list[Path]) -> str:
    """DUP_LINES_SQL plus the lines repeating a call_id kept by an earlier file.

    The index is filtered by the (small) set of this file's ids first, so an update joins a
    day's rows against the history without building a hash table of every id ever kept.
    """
    files = "[" + ", ".join(sql_str(str(p)) for p in id_files) + "]"
    return f"""
WITH seen AS (
  SELECT DISTINCT call_id FROM read_parquet({files})
  WHERE call_id IN (SELECT call_id FROM staged WHERE reason IS NULL)
)
SELECT v.line_number, v.byte_offset, v.raw
FROM staged v LEFT JOIN dups d ON v.call_id = d.call_id
WHERE v.reason IS NULL AND (v.call_id IN (SELECT call_id FROM seen)
                            OR (d.call_id IS NOT NULL AND v.line_number <> d.first_line))
ORDER BY v.line_number"""


# Rows that pass the rules and are not a later copy of a call_id (dup_lines, registered).
KEPT_WHERE = "v.reason IS NULL AND v.line_number NOT IN (SELECT line_number FROM dup_lines)"


def kept_sql(
    agents: AgentLookup,
    where: str = KEPT_WHERE,
    *,
    ordered: bool = True,
    source: str = "staged",
    extra: str = "",
    agent_codes: bool = False,
) -> str:
    """Rows in contract column order, plus line_number, rating_invalid and unknown_agent.

    No joins, so a scan of `staged` (filled in input order) yields rows in input order;
    ``ordered`` adds an explicit sort where the filter (an anti-join) may reorder them.
    ``source`` is any relation in `staged` layout (the one-pass stream reads the rules'
    query itself) and ``extra`` (", v.a, ...") carries more of its columns through.
    With ``agent_codes`` the agent's name and region are left out and its code (null for an
    unknown agent) is carried instead of line_number and unknown_agent.
    """
    centi = s.MICROS_PER_CENTIMINUTE
    of_day = f"((epoch_us(v.{s.START_TIME}) % {_DAY_US} + {_DAY_US}) % {_DAY_US})"  # UTC
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
        s.CALL_DATE: (
            f"CAST(DATE '1970-01-01' + CAST((epoch_us(v.{s.START_TIME}) - {of_day})"
            f" // {_DAY_US} AS INTEGER) AS DATE)"
        ),
        s.HOUR_OF_DAY: f"CAST({of_day} // {_HOUR_US} AS INTEGER)",
    }
    names = s.CLEANED_COLUMNS
    carried = "v.line_number, v.rating_invalid, v.agent_code IS NULL AS unknown_agent" + extra
    if agent_codes:
        names = [n for n in names if n not in (s.AGENT_NAME, s.REGION)]
        carried = "v.rating_invalid, v.agent_code" + extra
    select = ",\n  ".join(f"{cols[name]} AS {name}" for name in names)
    order = "\nORDER BY v.line_number" if ordered else ""
    return f"SELECT\n  {select},\n  {carried}\nFROM {source} v\nWHERE {where}{order}"


# The call's UTC date and hour by integer arithmetic on its microseconds: the same values as
# CAST(.. AS DATE) and hour() in a UTC session (checked on 3M instants from year 1 to 9999),
# which go through ICU's calendar and cost three times as much (0.65 s of CPU at 10M rows).
_DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000

EXTRA_COLUMNS = ("line_number", "rating_invalid", "unknown_agent")

WARNINGS_SQL = f"""
SELECT count(*) FILTER (WHERE v.rating_invalid) AS {s.WARN_INVALID_RATING},
       count(*) FILTER (WHERE v.agent_code IS NULL) AS {s.WARN_UNKNOWN_AGENT},
       count(*) AS kept
FROM staged v WHERE {KEPT_WHERE}"""


def connect(workdir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC with bounded memory that spills to ``workdir``."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {sql_str(config.DUCKDB_MEMORY_LIMIT)}")
    con.execute(f"SET threads = {int(config.DUCKDB_THREADS)}")
    if workdir:
        con.execute(f"SET temp_directory = {sql_str(str(workdir / 'spill'))}")
    return con


def to_contract(table: pa.Table) -> pa.Table:
    """Cast to the contract's Arrow schema; a row that does not fit is a ContractError."""
    try:
        return table.cast(s.CLEANED_SCHEMA)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise ContractError(f"cleaned rows do not fit the contract: {exc}") from None
