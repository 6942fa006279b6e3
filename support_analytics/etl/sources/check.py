"""``support-analytics source check``: a mapping tried on a sample, before a real run.

It maps the sample through the same SQL and rules as ``etl --source`` (nothing is written
beside a temporary folder), then reports the first mapped rows and every problem with the
file and record it came from: a field no record has, a timestamp that does not parse, a
record the filter refused, a record that is not JSON.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from support_analytics import schema as s
from support_analytics.etl.rules import AgentLookup, connect, sql_str, stage_select
from support_analytics.etl.sources.diagnose import missing_fields
from support_analytics.etl.sources.engine import MappedEngine, RecordNumbers
from support_analytics.etl.sources.mapping import Mapping, load_mapping
from support_analytics.etl.sources.readers import check_format, list_files, source_sql
from support_analytics.etl.sources.select import EXTRA, mapped_sql, parsed_columns, reason_sql
from support_analytics.etl.writers import write_staged

SHOWN_COLUMNS = (
    s.CALL_ID, s.AGENT_ID, s.CUSTOMER_ID, s.START_TIME, s.END_TIME, s.ISSUE_TYPE,
    s.RESOLUTION, s.RATING,
)  # fmt: skip


@dataclass
class CheckReport:
    """What a check found: counts, the first rows, and one line per problem."""

    mapping: Mapping
    records: int = 0
    kept: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.kept > 0 and not any(p.startswith("unknown field") for p in self.problems)


def check_source(
    source: str | Path, calls: Path | str, *, rows: int = 5, max_problems: int = 50
) -> CheckReport:
    """Map ``calls`` with ``source`` and collect the first rows and the problems found."""
    mapping = load_mapping(source)
    engine = MappedEngine(mapping)
    files = list_files(calls)
    check_format(mapping, files)
    report = CheckReport(mapping)
    with tempfile.TemporaryDirectory(prefix="support-analytics-check.") as tmp:
        con = connect(Path(tmp))
        try:
            engine.with_retry(
                files, lambda: _check(con, engine, files, Path(tmp), report, rows, max_problems)
            )
        finally:
            con.close()
    return report


def _check(
    con: duckdb.DuckDBPyConnection,
    engine: MappedEngine,
    files: list[Path],
    tmp: Path,
    report: CheckReport,
    rows: int,
    max_problems: int,
) -> None:
    mapping = engine.mapping
    report.problems.clear()  # a retry on the serial CSV reader starts over
    empty = pa.table({c: pa.array([], pa.string()) for c in s.AGENT_COLUMNS})
    agents = AgentLookup.register(con, empty)
    for name in missing_fields(con, mapping, files):
        used = [n for n, sp in mapping.specs.items() if sp.field == name] or ["sql/filter"]
        report.problems.append(
            f"unknown field {name!r} (read for {', '.join(used)}): no record of the sample has "
            "it; check the spelling (names are case-sensitive) and the path"
        )
    mapped = mapped_sql(mapping, source_sql(con, mapping, files, engine.key), engine.key)
    src = f"(SELECT *, start_time AS start_text, end_time AS end_text FROM ({mapped}))"
    extra = EXTRA + ", start_text, end_text"
    staged = tmp / "staged.parquet"
    query = reason_sql(stage_select(src, True, agents, extra, parsed_columns(mapping)))
    write_staged(con, query, staged, RecordNumbers(engine.first_record()))
    con.execute(f"CREATE VIEW staged AS SELECT * FROM read_parquet({sql_str(str(staged))})")
    report.records = con.execute("SELECT count(*) FROM staged").fetchall()[0][0]
    report.rejected = dict(
        con.execute(
            "SELECT reason, count(*) FROM staged WHERE reason IS NOT NULL GROUP BY reason "
            "ORDER BY 2 DESC"
        ).fetchall()
    )
    report.kept = report.records - sum(report.rejected.values())
    cols = ", ".join(SHOWN_COLUMNS)
    cursor = con.execute(
        f"SELECT {cols} FROM staged WHERE reason IS NULL ORDER BY line_number LIMIT {int(rows)}"
    )
    names = [d[0] for d in cursor.description]
    report.rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    bad = con.execute(
        "SELECT source_file, record_number, reason, start_text, end_text FROM staged "
        f"WHERE reason IS NOT NULL ORDER BY line_number LIMIT {int(max_problems)}"
    ).fetchall()
    for file, record, reason, start, end in bad:
        report.problems.append(
            f"{file}: record {record}: {reason}: {_detail(mapping, reason, start, end)}"
        )
    shown = len(bad)
    total = sum(report.rejected.values())
    if total > shown:
        report.problems.append(f"... and {total - shown:,} more rejected records")


def _detail(mapping: Mapping, reason: str, start: str | None, end: str | None) -> str:
    fmt = {n: mapping.specs[n].format for n in (s.START_TIME, s.END_TIME)}
    if reason == s.REJECT_INVALID_TS:
        return (
            f"start_time {_shown(start)} / end_time {_shown(end)} do not both parse "
            f"(formats {fmt[s.START_TIME]!r}, {fmt[s.END_TIME]!r})"
        )
    if reason == s.REJECT_MISSING_TS:
        return f"start_time {_shown(start)} / end_time {_shown(end)}: one is empty"
    if reason == s.REJECT_NON_POSITIVE:
        return f"ends ({end}) at or before it starts ({start})"
    if reason == s.REJECT_NOT_A_CALL:
        return f"the filter ({mapping.filter}) excludes it"
    if reason == s.REJECT_MISSING_CALL_ID:
        return "call_id is empty"
    if reason == s.REJECT_MALFORMED:
        return "not a JSON object"
    return reason


def _shown(value: str | None) -> str:
    return "empty" if value is None else repr(value.removeprefix("!"))
