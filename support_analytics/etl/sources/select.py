"""A mapping as SQL: the source's text columns -> the raw contract fields the rules read.

The result has the layout ``rules.parse_sql`` gives the NDJSON readers (line_number,
byte_offset, raw, bad_encoding, is_object, then one text column per raw field), so the
mapped rows go through the very same rule SQL: every guarantee of the default format holds.
Times in a format or zone of their own are parsed here, to TIMESTAMPTZ beside their text
(``rules_sql``'s ``parsed``); ISO-8601 times in UTC are left to the rules' own parse.
"""

from __future__ import annotations

from support_analytics import schema as s
from support_analytics.etl.rules import sql_str
from support_analytics.etl.sources.mapping import TIME_FIELDS, FieldSpec, Mapping
from support_analytics.etl.sources.pseudonym import pseudonym_sql
from support_analytics.etl.sources.readers import ident

#: Columns carried beside the rules' own: the filter's verdict, the copy's update time
#: (latest wins), the file and the record's number in it, and the times the mapping parsed.
EXTRA = ", is_call, latest_key, source_file, record_number, start_parsed, end_parsed"
PARSED = ("start_parsed", "end_parsed")
# No offset in the text: with a timezone, the text is that zone's local time.
_NAIVE_ISO = sql_str(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$")
_ISO = sql_str(s.ISO_TIMESTAMP_REGEX)


def parses_itself(spec: FieldSpec) -> bool:
    """Whether a time field is parsed here (its own format or zone) rather than by the rules'
    strict ISO-8601 parse of the text, which ISO times in UTC take like the default format."""
    return spec.format != "iso" or spec.timezone != "UTC"


def time_sql(text: str, fmt: str, timezone: str) -> str:
    """A timestamp's text in the mapping's format and zone -> TIMESTAMPTZ (NULL: no parse).

    Parsed straight to a timestamp: a round trip through ISO text cost twice as much.
    """
    zone = sql_str(timezone)
    if fmt == "iso":
        local = f"timezone({zone}, TRY_CAST({text} AS TIMESTAMP))"
        whole = f"TRY_CAST({text} AS TIMESTAMPTZ)"
        return (
            f"CASE WHEN regexp_matches({text}, {_NAIVE_ISO}) THEN {local} "
            f"WHEN regexp_matches({text}, {_ISO}) THEN {whole} END"
        )
    if fmt == "epoch":
        return f"to_timestamp(TRY_CAST({text} AS DOUBLE))"
    if fmt == "epoch_ms":
        return f"timezone('UTC', epoch_ms(TRY_CAST({text} AS BIGINT)))"
    if "%z" in fmt or "%Z" in fmt:
        return f"try_strptime({text}, {sql_str(fmt)})"
    return f"timezone({zone}, try_strptime({text}, {sql_str(fmt)}))"


def field_sql(spec: FieldSpec | None, key: bytes | None) -> str:
    """One raw field's text: source field, constant or expression, then map and format."""
    if spec is None:
        return "CAST(NULL AS VARCHAR)"
    if spec.field is not None:
        text = ident(spec.field)
    elif spec.value is not None:
        text = sql_str(spec.value)
    else:
        text = f"CAST(({spec.sql}) AS VARCHAR)"
        if spec.personal and key is not None:
            text = pseudonym_sql(key, text)
    if spec.map is not None:
        whens = " ".join(
            f"WHEN {sql_str(k)} THEN {'NULL' if v is None else sql_str(v)}"
            for k, v in spec.map.items()
        )
        other = text if spec.default is None else sql_str(spec.default)
        text = f"CASE trim({text}, ' ') {whens} ELSE {other} END"
    elif spec.default is not None:
        text = f"coalesce(NULLIF({text}, ''), {sql_str(spec.default)})"
    return text


def parsed_sql(spec: FieldSpec | None, text: str) -> str:
    """A time field's TIMESTAMPTZ when the mapping parses it (else NULL: the rules do)."""
    if spec is None or not parses_itself(spec):
        return "CAST(NULL AS TIMESTAMPTZ)"
    return time_sql(text, spec.format, spec.timezone)


def parsed_columns(mapping: Mapping) -> tuple[str | None, str | None]:
    """The ``parsed`` pair for the rules: which time fields this mapping parses itself."""
    start, end = (mapping.specs[n] for n in TIME_FIELDS)
    return (PARSED[0] if parses_itself(start) else None, PARSED[1] if parses_itself(end) else None)


def mapped_sql(mapping: Mapping, source: str, key: bytes | None) -> str:
    """The source relation -> rules-ready rows (line and record numbers are set afterwards)."""
    fields = mapping.source_fields()
    if mapping.format == "json" and not mapping.personal:
        raw = "record"  # the object as it was delivered
    else:
        pairs = ", ".join(f"{sql_str(f)}, {ident(f)}" for f in fields)
        raw = f"CAST(json_object({pairs}) AS VARCHAR)"  # the fields read, personal ones masked
    raw = f"CASE WHEN is_object THEN {raw} END"
    texts = {name: field_sql(mapping.specs.get(name), key) for name in s.RAW_CALL_FIELDS}
    cols = ",\n  ".join(f"{text} AS {name}" for name, text in texts.items())
    parsed = ", ".join(
        f"{parsed_sql(mapping.specs.get(n), texts[n])} AS {p}"
        for n, p in zip(TIME_FIELDS, PARSED, strict=True)
    )
    is_call = f"coalesce(({mapping.filter}), false)" if mapping.filter else "true"
    latest = f"TRY_CAST({ident(mapping.latest)} AS TIMESTAMPTZ)" if mapping.latest else "NULL"
    return f"""
SELECT CAST(0 AS BIGINT) AS line_number, CAST(NULL AS BIGINT) AS byte_offset,
  {raw} AS raw, false AS bad_encoding, is_object,
  {cols},
  {is_call} AS is_call, {latest} AS latest_key, source_file,
  CAST(0 AS BIGINT) AS record_number, {parsed}
FROM ({source})"""


def reason_sql(stage: str) -> str:
    """The rules' staged rows, with records the mapping's filter refused as ``not_a_call``.

    The filter is judged right after the record is read (only an unreadable record is
    rejected before it), so the order of reasons is that of ``schema.REJECT_REASONS``.
    """
    first = f"('{s.REJECT_ENCODING}', '{s.REJECT_MALFORMED}')"
    return (
        f"SELECT * EXCLUDE (is_call, {', '.join(PARSED)}) REPLACE (CASE WHEN reason IN "
        f"{first} THEN reason WHEN NOT is_call THEN '{s.REJECT_NOT_A_CALL}' ELSE reason END "
        f"AS reason) FROM ({stage})"
    )


# The copy with the greatest update time wins among rows that pass the rules (ties and
# missing times: the later record); only call_ids seen twice are sorted.
LATEST_DUP_LINES_SQL = """
SELECT line_number, byte_offset, raw FROM (
  SELECT v.line_number, v.byte_offset, v.raw,
    row_number() OVER (PARTITION BY v.call_id
                       ORDER BY v.latest_key DESC NULLS LAST, v.line_number DESC) AS copy
  FROM staged v JOIN dups d ON v.call_id = d.call_id
  WHERE v.reason IS NULL
) WHERE copy > 1
ORDER BY line_number"""
