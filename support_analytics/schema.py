"""The data contract: raw input fields, the cleaned Parquet columns and their Arrow types.

Every other module (ETL, Spark job, metrics, notebooks, tests) spells column names through
this module so that a rename is one edit, and so both engines write byte-compatible types.
"""

from __future__ import annotations

import pyarrow as pa

#: Bump when a column is added, removed, renamed or changes type, or when the rules change
#: what a column may hold (1.1: text fields have a maximum length, ``FIELD_MAX_LENGTH``).
#: The manifest records it, so an output cleaned under other rules is never taken as up to
#: date or added to.
SCHEMA_VERSION = "1.1"

# --- raw input (NDJSON calls) -------------------------------------------------------------
CALL_ID = "call_id"
AGENT_ID = "agent_id"
AGENT_NAME = "agent_name"
REGION = "region"
CUSTOMER_ID = "customer_id"
START_TIME = "start_time"
END_TIME = "end_time"
CALL_DURATION_MINUTES = "call_duration_minutes"
ISSUE_TYPE = "issue_type"
RESOLUTION = "resolution"
RATING = "rating"
CALL_DATE = "call_date"
HOUR_OF_DAY = "hour_of_day"

#: Fields read from each raw call line; anything else on the line is ignored.
RAW_CALL_FIELDS: tuple[str, ...] = (
    CALL_ID,
    AGENT_ID,
    CUSTOMER_ID,
    START_TIME,
    END_TIME,
    ISSUE_TYPE,
    RESOLUTION,
    RATING,
)

#: Columns agents.csv must have (extra columns are ignored).
AGENT_COLUMNS: tuple[str, ...] = (AGENT_ID, AGENT_NAME, REGION)

# --- bounded text ------------------------------------------------------------------------
# One 20 MB issue type once made the report take two minutes and 4.5 GB: every text value is
# a label, a legend entry or a filter option somewhere. So each text field has a maximum
# length, in characters (Unicode code points) of the value with its spaces trimmed, the
# value the Parquet would hold. Ids allow 256 (an email address, a URN or an AWS ARN fits);
# categories and names allow 100. A call line with a longer value is rejected whole
# (REJECT_TOO_LONG), never truncated; agents.csv with one is refused (ids and names there
# are typed by hand, and a truncated name would be a silent edit).
MAX_ID_LENGTH = 256
MAX_NAME_LENGTH = 100
FIELD_MAX_LENGTH: dict[str, int] = {
    CALL_ID: MAX_ID_LENGTH,
    AGENT_ID: MAX_ID_LENGTH,
    CUSTOMER_ID: MAX_ID_LENGTH,
    ISSUE_TYPE: MAX_NAME_LENGTH,
    RESOLUTION: MAX_NAME_LENGTH,
    AGENT_NAME: MAX_NAME_LENGTH,
    REGION: MAX_NAME_LENGTH,
}
#: The bounded fields of a call line (the rest come from agents.csv).
BOUNDED_CALL_FIELDS: tuple[str, ...] = tuple(f for f in RAW_CALL_FIELDS if f in FIELD_MAX_LENGTH)

# --- cleaned output -----------------------------------------------------------------------
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

CLEANED_SCHEMA = pa.schema(
    [
        pa.field(CALL_ID, pa.string(), nullable=False),
        pa.field(AGENT_ID, pa.string()),
        pa.field(AGENT_NAME, pa.string()),
        pa.field(REGION, pa.string()),
        pa.field(CUSTOMER_ID, pa.string()),
        pa.field(START_TIME, UTC_TIMESTAMP, nullable=False),
        pa.field(END_TIME, UTC_TIMESTAMP, nullable=False),
        pa.field(CALL_DURATION_MINUTES, pa.float64(), nullable=False),
        pa.field(ISSUE_TYPE, pa.string()),
        pa.field(RESOLUTION, pa.string()),
        pa.field(RATING, pa.int32()),
        pa.field(CALL_DATE, pa.date32(), nullable=False),
        pa.field(HOUR_OF_DAY, pa.int32(), nullable=False),
    ],
    metadata={"support_analytics.schema_version": SCHEMA_VERSION},
)

CLEANED_COLUMNS: tuple[str, ...] = tuple(CLEANED_SCHEMA.names)

# --- rejects and warnings -----------------------------------------------------------------
# Reasons are checked in this order; a line gets the first that applies.
REJECT_ENCODING = "invalid_encoding"
REJECT_MALFORMED = "malformed_json"
REJECT_NOT_A_CALL = "not_a_call"
REJECT_TOO_LONG = "field_too_long"
REJECT_MISSING_CALL_ID = "missing_call_id"
REJECT_MISSING_TS = "missing_timestamp"
REJECT_INVALID_TS = "invalid_timestamp"
REJECT_NON_POSITIVE = "non_positive_duration"
REJECT_DUPLICATE = "duplicate_call_id"

REJECT_REASONS: tuple[str, ...] = (
    REJECT_ENCODING,
    REJECT_MALFORMED,
    REJECT_NOT_A_CALL,
    REJECT_TOO_LONG,
    REJECT_MISSING_CALL_ID,
    REJECT_MISSING_TS,
    REJECT_INVALID_TS,
    REJECT_NON_POSITIVE,
    REJECT_DUPLICATE,
)

WARN_INVALID_RATING = "invalid_rating"
WARN_UNKNOWN_AGENT = "unknown_agent"
WARNING_KINDS: tuple[str, ...] = (WARN_INVALID_RATING, WARN_UNKNOWN_AGENT)

#: Columns of each line in the rejects file.
REJECT_LINE_NUMBER = "line_number"
REJECT_REASON = "reason"
REJECT_RAW = "raw"
REJECT_COLUMNS: tuple[str, ...] = (REJECT_LINE_NUMBER, REJECT_REASON, REJECT_RAW)
#: Rejects of a folder of call files also name the file the line came from (first key).
REJECT_FILE = "file"

# --- parsing rules shared by every engine -------------------------------------------------
#: ISO-8601 date-time: date, 'T' or space, hh:mm[:ss[.fraction]], optional Z or +hh[:mm] offset.
#: No offset means UTC. Offsets run from -14:00 to +14:00, as real time zones do. Dates
#: alone, epoch numbers and words are invalid.
ISO_TIMESTAMP_REGEX = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
    r"([Zz]|[+-](?:(?:0\d|1[0-3])(?::?[0-5]\d)?|14(?::?00)?))?$"
)
MIN_RATING = 1
MAX_RATING = 5
#: Duration in hundredths of a minute = (end - start in microseconds + 300_000) // 600_000:
#: integer arithmetic rounds half up identically in DuckDB and Spark.
MICROS_PER_CENTIMINUTE = 600_000


def empty_cleaned_table() -> pa.Table:
    """An empty table with the contract's schema, so no-data paths still write valid Parquet."""
    return CLEANED_SCHEMA.empty_table()


def contract_mismatches(schema: pa.Schema) -> list[str]:
    """Human-readable differences between a Parquet schema and the contract (empty if none)."""
    problems: list[str] = []
    names = list(schema.names)
    if names != list(CLEANED_COLUMNS):
        problems.append(f"columns {names} != contract {list(CLEANED_COLUMNS)}")
    for field in CLEANED_SCHEMA:
        if field.name in names and not schema.field(field.name).type.equals(field.type):
            problems.append(
                f"{field.name}: {schema.field(field.name).type} != contract {field.type}"
            )
    return problems
