"""Why a mapped source kept no row at all: a field no record has, or a format no value fits.

A run that rejects every record is almost always a mapping mistake, not bad data; saying
which field or format is wrong, with the record it was seen on, saves reading the rejects.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from support_analytics import schema as s
from support_analytics.etl.rules import sql_str
from support_analytics.etl.sources.mapping import REQUIRED_FIELDS, TIME_FIELDS, Mapping
from support_analytics.etl.sources.readers import ident, source_sql
from support_analytics.etl.sources.select import mapped_sql, parsed_columns

_ISO = sql_str(s.ISO_TIMESTAMP_REGEX)


def missing_fields(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, files: list[Path]
) -> list[str]:
    """Source fields the mapping reads that no record has (or only as null/empty)."""
    fields = mapping.source_fields()
    source = source_sql(con, mapping, files, None if not mapping.personal else b"x" * 32)
    counts = ", ".join(f"count(NULLIF({ident(f)}, ''))" for f in fields)
    row = con.execute(f"SELECT {counts} FROM ({source})").fetchall()[0]
    return [f for f, n in zip(fields, row, strict=True) if n == 0]


def diagnose(con: duckdb.DuckDBPyConnection, mapping: Mapping, files: list[Path]) -> str | None:
    """One line naming the mapping mistake behind a run that kept nothing, or None."""
    where = files[0] if len(files) == 1 else files[0].parent
    missing = set(missing_fields(con, mapping, files))
    for name in REQUIRED_FIELDS:
        spec = mapping.specs[name]
        if spec.field in missing:
            return (
                f"{where}: no record has {spec.field!r} (read for {name}); fix [fields] {name} "
                f"in {mapping.origin} (names are case-sensitive; `support-analytics source "
                "check` shows the records)"
            )
    invalid = con.execute(
        f"SELECT count(*) FROM staged WHERE reason = '{s.REJECT_INVALID_TS}'"
    ).fetchall()[0][0]
    passed_before = con.execute(
        f"SELECT count(*) FROM staged WHERE reason IS NULL OR reason IN "
        f"('{s.REJECT_INVALID_TS}', '{s.REJECT_NON_POSITIVE}', '{s.REJECT_DUPLICATE}')"
    ).fetchall()[0][0]
    if not invalid or invalid != passed_before:
        return None
    source = source_sql(con, mapping, files, b"x" * 32 if mapping.personal else None)
    mapped = mapped_sql(mapping, source, None)
    for name, parsed in zip(TIME_FIELDS, parsed_columns(mapping), strict=True):
        spec = mapping.specs[name]
        bad = f"{parsed} IS NULL" if parsed else f"NOT regexp_matches({name}, {_ISO})"
        found = con.execute(
            f"SELECT source_file, {name} FROM ({mapped}) WHERE {name} <> '' AND {bad} LIMIT 1"
        ).fetchall()
        if found:
            row = found[0]
            return (
                f"{row[0]}: {name} {row[1].removeprefix('!')!r} (first record) does not "
                f"match format {spec.format!r}, nor does any other record's; fix [fields] "
                f"{name} format in {mapping.origin}"
            )
    return None
