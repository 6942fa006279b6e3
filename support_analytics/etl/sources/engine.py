"""The DuckDB engine for a mapped source: read, map, the same rules, the same writers.

The run shell (``run.py``) does everything around staging exactly as for the default
format (refusals, up-to-date, lock, contract check, manifest, atomic publish). Here the
source's files become rules-ready rows (``select.py``), numbered per file in input order;
the rule SQL, the duplicate search and the kept-rows writer are the default format's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl.engine import Staged, Staging
from support_analytics.etl.handoff import STREAM_ERRORS
from support_analytics.etl.rules import (
    DUP_LINES_SQL,
    DUPS_SQL,
    EXTRA_COLUMNS,
    WARNINGS_SQL,
    AgentLookup,
    connect,
    kept_sql,
    sql_str,
    stage_select,
)
from support_analytics.etl.sources.diagnose import diagnose
from support_analytics.etl.sources.mapping import Mapping
from support_analytics.etl.sources.pseudonym import key_id, load_key
from support_analytics.etl.sources.readers import (
    NEEDS_SERIAL,
    check_format,
    first_line,
    list_files,
    source_sql,
)
from support_analytics.etl.sources.select import (
    EXTRA,
    LATEST_DUP_LINES_SQL,
    mapped_sql,
    parsed_columns,
    reason_sql,
)
from support_analytics.etl.writers import (
    arrow_allocator,
    rejects_by_reason,
    write_kept,
    write_staged,
)
from support_analytics.io import storage

ENGINE = "duckdb"


class RecordNumbers:
    """Numbers rows as they stream by: ``line_number`` over the whole run (the rules' order),
    ``record_number`` within each file (what the rejects file names: the n-th object, or the
    CSV line when the file has a header)."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.total = 0
        self.file: str | None = None
        self.in_file = 0

    def __call__(self, batch: pa.RecordBatch) -> pa.Table:
        n = batch.num_rows
        table = pa.Table.from_batches([batch])
        lines = np.arange(self.total + 1, self.total + n + 1, dtype=np.int64)
        self.total += n
        records = np.empty(n, dtype=np.int64)
        runs = pc.run_end_encode(batch.column("source_file"))
        start = 0
        for end, name in zip(runs.run_ends.to_numpy(), runs.values.to_pylist(), strict=True):
            if name != self.file:
                self.file, self.in_file = name, 0
            count = int(end) - start
            records[start:end] = np.arange(count, dtype=np.int64) + self.in_file + self.first
            self.in_file += count
            start = int(end)
        for name, values in (("line_number", lines), ("record_number", records)):
            table = table.set_column(table.schema.get_field_index(name), name, pa.array(values))
        return table


class MappedEngine:
    """Stages a mapped source with DuckDB on this machine (local files, folders, globs)."""

    name = ENGINE
    reads_remote = False

    def __init__(self, mapping: Mapping, key_file: Path | None = None) -> None:
        self.mapping = mapping
        self.key = load_key(key_file) if mapping.personal or _personal_sql(mapping) else None

    def options(self) -> dict[str, Any]:
        """What the manifest records of the source (a changed mapping or key reruns)."""
        out = self.mapping.options()
        if self.key is not None:
            out["pseudonym_key"] = key_id(self.key)
        return out

    def check_calls(self, calls: Path | str) -> None:
        """Refuse missing, empty or wrong-format files before any output is touched.

        An s3:// file or prefix is only checked to exist here: the run shell downloads it
        into the run's work dir, and :meth:`stage` checks the copy.
        """
        if storage.is_remote(calls):
            if not storage.exists(calls):
                raise InputError(f"{calls}: not found; check the bucket and the prefix")
            return
        if not Path(str(calls)).exists() and set("*?[") & set(str(calls)):
            raise InputError(
                f"{calls}: a glob; with --source, pass the folder (it is read recursively)"
            )
        check_format(self.mapping, list_files(calls))

    def stage(self, job: Staging) -> Staged:
        files = list_files(job.calls)
        check_format(self.mapping, files)  # again: a downloaded s3:// copy was not checked
        con = connect(job.workdir)
        try:
            with arrow_allocator():
                return self._stage(con, files, Path(job.output), job)
        finally:
            con.close()

    def staged_query(
        self, con: duckdb.DuckDBPyConnection, files: list[Path], agents: AgentLookup
    ) -> str:
        """The rules' staged rows for these files (numbers filled in by RecordNumbers)."""
        source = source_sql(con, self.mapping, files, self.key)
        mapped = mapped_sql(self.mapping, source, self.key)
        parsed = parsed_columns(self.mapping)
        return reason_sql(stage_select(f"({mapped})", True, agents, EXTRA, parsed))

    def first_record(self) -> int:
        """The number of a file's first record: its line, under a CSV header."""
        return 2 if self.mapping.format == "csv" and self.mapping.header else 1

    def _stage(
        self, con: duckdb.DuckDBPyConnection, files: list[Path], output: Path, job: Staging
    ) -> Staged:
        agents = AgentLookup.register(con, job.agents)
        staged_path = job.workdir / "staged.parquet"
        self.with_retry(
            files,
            lambda: write_staged(
                con,
                self.staged_query(con, files, agents),
                staged_path,
                RecordNumbers(self.first_record()),
            ),
        )
        job.lap("read_map_and_rules")
        con.execute(
            f"CREATE VIEW staged AS SELECT * FROM read_parquet({sql_str(str(staged_path))})"
        )
        rows_in, objects = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE reason IS DISTINCT FROM "
            f"'{s.REJECT_MALFORMED}') FROM staged"
        ).fetchall()[0]
        if rows_in and objects == 0:
            raise InputError(
                f"{job.calls}: none of its {rows_in:,} records is a JSON object; check the "
                f"file and [source] format in {self.mapping.origin}"
            )
        con.execute(DUPS_SQL)
        dup_sql = LATEST_DUP_LINES_SQL if self.mapping.latest else DUP_LINES_SQL
        dup_lines = con.sql(dup_sql).to_arrow_table()
        con.register("dup_lines", dup_lines)
        job.lap("duplicates")
        if job.partition_by:
            invalid, unknown, kept = write_partitioned(con, agents, output, job.partition_by)
        else:
            invalid, unknown, kept = write_kept(
                con, agents, dup_lines["line_number"].to_numpy(), output
            )
        if rows_in and kept == 0:
            problem = diagnose(con, self.mapping, files)
            if problem:
                raise InputError(problem)
        job.lap("write_parquet")
        many = len(files) > 1 or Path(job.calls).is_dir()
        write_mapped_rejects(con, job.rejects, job.calls, many)
        rejected = rejects_by_reason(con, dup_lines.num_rows)
        job.lap("write_rejects_and_count")
        warnings = {s.WARN_INVALID_RATING: int(invalid), s.WARN_UNKNOWN_AGENT: int(unknown)}
        per_file = file_counts(con, job.calls) if many else []
        return Staged(
            output, int(rows_in), int(rows_in), int(objects), int(kept), rejected, warnings,
            files=per_file,
        )  # fmt: skip

    def with_retry(self, files: list[Path], read: Callable[[], object]) -> None:
        """Run ``read``; a CSV with quoted newlines once more on DuckDB's serial reader; any
        DuckDB complaint as a one-line InputError (they reach us through Arrow as OSError)."""
        try:
            try:
                read()
            except STREAM_ERRORS as exc:
                if NEEDS_SERIAL not in str(exc) or self.mapping.serial:
                    raise
                self.mapping = replace(self.mapping, serial=True)
                read()
        except STREAM_ERRORS as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # a real I/O error (disk full...): the CLI names the path
            raise self.explain(exc, files) from None

    def explain(self, exc: BaseException, files: list[Path]) -> InputError:
        """DuckDB's complaint as a one-line error naming the file or the mapping, and the fix."""
        text = first_line(exc)
        where = files[0] if len(files) == 1 else f"{len(files)} files under {files[0].parent}"
        binder = isinstance(exc, duckdb.BinderException | duckdb.ParserException)
        if binder or str(exc).startswith(("Binder Error", "Parser Error")):
            return InputError(
                f"{self.mapping.origin}: {text}; the mapping's sql and filter read the source "
                f"fields {', '.join(self.mapping.source_fields())} (list others under "
                "[source] fields)"
            )
        if "JSON" in text:
            return InputError(
                f"{text}; the file must hold JSON objects (one per line, or concatenated); "
                "fix or remove that record, or set [source] format"
            )
        return InputError(f"{where}: {text}; check [source] options in {self.mapping.origin}")


def write_partitioned(
    con: duckdb.DuckDBPyConnection, agents: AgentLookup, output: Path, partition_by: str
) -> tuple[int, int, int]:
    """The kept rows as a Hive-partitioned folder (what a folder's report run asks for)."""
    con.execute(
        f"COPY (SELECT * EXCLUDE ({', '.join(EXTRA_COLUMNS)}) FROM ({kept_sql(agents)})) "
        f"TO {sql_str(str(output))} (FORMAT parquet, COMPRESSION zstd, KV_METADATA "
        f"{{'support_analytics.schema_version': {sql_str(s.SCHEMA_VERSION)}}}, "
        f"PARTITION_BY ({partition_by}), FILENAME_PATTERN 'part-{{i}}')"
    )
    if not output.exists():  # no kept rows: an empty folder
        output.mkdir()
    invalid, unknown, kept = con.execute(WARNINGS_SQL).fetchall()[0]
    return int(invalid), int(unknown), int(kept)


def _personal_sql(mapping: Mapping) -> bool:
    return any(spec.personal for spec in mapping.specs.values())


def _relative(calls: Path | str) -> str:
    """source_file relative to the calls folder, as SQL (what rejects and counts name)."""
    prefix = str(calls).rstrip("/") + "/"
    return (
        f"CASE WHEN starts_with(source_file, {sql_str(prefix)}) "
        f"THEN source_file[{len(prefix) + 1}:] ELSE source_file END"
    )


def file_counts(con: duckdb.DuckDBPyConnection, calls: Path | str) -> list[dict[str, int | str]]:
    """Records in, kept and rejected per file of a folder: each file's own rows in = kept +
    rejected, in the manifest (rows.files)."""
    rows = con.execute(
        f"SELECT {_relative(calls)} AS f, count(*), count(*) FILTER (WHERE reason IS NOT NULL "
        "OR line_number IN (SELECT line_number FROM dup_lines)) FROM staged GROUP BY f ORDER BY f"
    ).fetchall()
    return [{"file": f, "input": n, "output": n - bad, "rejected": bad} for f, n, bad in rows]


def write_mapped_rejects(
    con: duckdb.DuckDBPyConnection, path: Path, calls: Path | str, many: bool
) -> None:
    """Every rejected record as one JSON line (file, its record number, reason, raw), in order."""
    file_key = f"{s.REJECT_FILE} := {_relative(calls)}, " if many else ""
    text = (
        f"CAST(to_json(struct_pack({file_key}{s.REJECT_LINE_NUMBER} := record_number, "
        f"{s.REJECT_REASON} := reason, {s.REJECT_RAW} := raw)) AS VARCHAR)"
    )
    query = f"""
SELECT {text} FROM (
  SELECT line_number, record_number, source_file, reason, raw FROM staged
  WHERE reason IS NOT NULL
  UNION ALL
  SELECT line_number, record_number, source_file, '{s.REJECT_DUPLICATE}' AS reason, raw
  FROM staged WHERE line_number IN (SELECT line_number FROM dup_lines)
) ORDER BY line_number"""
    reader = con.sql(query).to_arrow_reader(1024)
    with open(path, "wb") as fh:
        for batch in reader:
            texts = batch.column(0).to_pylist()
            if texts:
                fh.write(("\n".join(texts) + "\n").encode("utf-8"))
