"""The DuckDB engine: one machine, streaming, memory bounded by DuckDB's limit.

A plain file into one Parquet file takes the one pass (``one_pass.py``). Otherwise (a
partitioned output, an update checked against an id index, or a file only the line-by-line
reader can take) pass 1 stages the rule results of every line in input order; then
duplicates are found over the staged rows, and the kept rows and the rejects are written.
The run shell (``run.py``) does everything around that, and :func:`run_etl` is that shell
with this engine.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from support_analytics import config
from support_analytics import schema as s
from support_analytics.etl.engine import Staged, Staging
from support_analytics.etl.handoff import STREAM_ERRORS, Prefetcher
from support_analytics.etl.lines import (
    FAST_EXTRA,
    GZIP_MAGIC,
    FileScan,
    LineNumbers,
    fast_layout,
    fast_lines_sql,
    fast_reader_stop,
    iter_chunks,
    open_calls,
    read_lines_at,
    spot_check,
)
from support_analytics.etl.one_pass import stage_one_pass
from support_analytics.etl.rules import (
    DUP_LINES_SQL,
    DUPS_SQL,
    EXTRA_COLUMNS,
    NOT_BLANK,
    WARNINGS_SQL,
    AgentLookup,
    connect,
    kept_sql,
    parse_sql,
    seen_dup_lines_sql,
    sql_str,
    stage_select,
)
from support_analytics.etl.run import run_calls
from support_analytics.etl.run_steps import EtlResult
from support_analytics.etl.sources import MappedEngine, is_default, load_mapping
from support_analytics.etl.writers import (
    arrow_allocator,
    rejects_by_reason,
    write_kept,
    write_rejects,
    write_staged,
)
from support_analytics.io.files import file_sha256
from support_analytics.progress import Progress

ENGINE = "duckdb"


class DuckDBEngine:
    """Stages and writes with DuckDB on this machine; reads local files only."""

    name = ENGINE
    reads_remote = False

    def check_calls(self, calls: Path | str) -> None:
        """Nothing beyond the shell's checks: the readers refuse a JSON array themselves."""

    def stage(self, job: Staging) -> Staged:
        calls, output = Path(job.calls), Path(job.output)
        con = connect(job.workdir)
        try:
            with arrow_allocator():
                return self._stage(con, calls, output, job)
        finally:
            con.close()

    def _stage(
        self, con: duckdb.DuckDBPyConnection, calls: Path, output: Path, job: Staging
    ) -> Staged:
        agents = AgentLookup.register(con, job.agents)
        staged_path = job.workdir / "staged.parquet"
        with open(calls, "rb") as fh:
            gzipped = fh.read(2) == GZIP_MAGIC
        one = None
        if not job.partition_by and not job.seen_ids:
            one = stage_one_pass(con, calls, agents, output, job.rejects, job.progress)
            if one.staged is not None:
                job.lap("one_pass")
                return one.staged
            if not one.line_by_line and job.progress:
                print(
                    f"etl: {calls}: {one.fallback}; taking the staged path instead", file=sys.stderr
                )
        if one is not None and one.line_by_line:
            fast = FastResult(None, one.sha256, one.fallback)
        else:
            fast = stage_fast(con, calls, agents, staged_path, job.progress)
        if fast.lines is not None:
            lines, calls_sha = fast.lines, fast.sha256
        else:
            if fast.fallback and job.progress:
                print(
                    f"etl: {calls}: {fast.fallback}; reading it line by line instead",
                    file=sys.stderr,
                )
            lines, calls_sha = stage_slow(
                con, calls, agents, staged_path, job.progress, job.chunk_bytes, fast.sha256
            )
        job.lap("read_and_rules")
        con.execute(
            f"CREATE VIEW staged AS SELECT * FROM read_parquet({sql_str(str(staged_path))})"
        )
        rows_in, objects = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE reason IS DISTINCT FROM "
            f"'{s.REJECT_MALFORMED}' AND reason IS DISTINCT FROM '{s.REJECT_ENCODING}') "
            "FROM staged"
        ).fetchone()
        if rows_in == 0 or objects == 0:  # refused by the shell; nothing more to write
            return Staged(output, lines, rows_in, objects, 0, {}, {}, calls_sha)

        con.execute(DUPS_SQL)
        dup_sql = seen_dup_lines_sql(job.seen_ids) if job.seen_ids else DUP_LINES_SQL
        dup_lines = con.sql(dup_sql).to_arrow_table()
        if not gzipped and dup_lines.num_rows:
            dup_lines = dup_lines.set_column(
                2,
                "raw",
                pa.array(
                    read_lines_at(calls, dup_lines["byte_offset"].to_numpy()), type=pa.string()
                ),
            )
        con.register("dup_lines", dup_lines)
        job.lap("duplicates")

        if job.partition_by:
            con.execute(
                f"COPY (SELECT * EXCLUDE ({', '.join(EXTRA_COLUMNS)}) "
                f"FROM ({kept_sql(agents)})) TO {sql_str(str(output))} "
                f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA "
                f"{{'support_analytics.schema_version': {sql_str(s.SCHEMA_VERSION)}}}, "
                f"PARTITION_BY ({job.partition_by}), FILENAME_PATTERN 'part-{{i}}')"
            )
            if not output.exists():  # no kept rows: an empty folder
                output.mkdir()
            warn_row = con.execute(WARNINGS_SQL).fetchone()
        else:
            warn_row = write_kept(con, agents, dup_lines["line_number"].to_numpy(), output)
        job.lap("write_parquet")
        write_rejects(con, job.rejects)
        rejected = rejects_by_reason(con, dup_lines.num_rows)
        job.lap("write_rejects_and_count")
        warnings = {s.WARN_INVALID_RATING: int(warn_row[0]), s.WARN_UNKNOWN_AGENT: int(warn_row[1])}
        return Staged(
            output, lines, rows_in, objects, int(warn_row[2]), rejected, warnings, calls_sha
        )


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
    rebuild: bool = False,
    source: str | Path | None = None,
) -> EtlResult:
    """Clean an NDJSON calls file into Parquet + rejects + manifest, all written atomically.

    Does nothing (``up_to_date``) when the manifest shows the same inputs and intact outputs,
    unless ``force``. Raises InputError for unusable inputs before any output is touched.
    ``partition_by="call_date"`` writes a Hive-partitioned folder instead of one file; any
    path may be an s3:// URL (inputs are staged locally, outputs uploaded).

    ``calls`` may also be a folder or glob of daily files (with ``partition_by``): then only
    files not yet ingested are read (``incremental.run_incremental``); ``rebuild``
    reprocesses them all, ``force`` a changed file and the files after it.

    ``source`` names a preset or a mapping file (``etl/sources``) for exports in another
    format; None or ``ndjson`` is the default format above.
    """
    if not is_default(source):
        engine = MappedEngine(load_mapping(source))
        return run_calls(
            engine, calls, agents, output, manifest, rejects, force=force or rebuild,
            progress=progress, lock_wait=lock_wait, partition_by=partition_by,
            source=engine.options(),
        )  # fmt: skip
    return run_calls(
        DuckDBEngine(),
        calls,
        agents,
        output,
        manifest,
        rejects,
        force=force,
        rebuild=rebuild,
        progress=progress,
        lock_wait=lock_wait,
        chunk_bytes=chunk_bytes,
        partition_by=partition_by,
    )


@dataclass
class FastResult:
    """Lines read (None when the fast reader did not finish), the file's sha256, and why not."""

    lines: int | None
    sha256: str | None
    fallback: str | None


def stage_fast(
    con: duckdb.DuckDBPyConnection, calls: Path, agents: AgentLookup, staged: Path, progress: bool
) -> FastResult:
    """Pass 1 with DuckDB reading and splitting the file on all its threads.

    Line numbers and byte offsets are assigned here, batch by batch, from each line's byte
    length: DuckDB keeps insertion order, and the lengths must add up to the file size or the
    result is thrown away. LF and CRLF files (as the first line ends) both qualify. Any
    surprise (gzip, invalid UTF-8, mixed line ends, \\x01 bytes, a line over 8 MiB) hands the
    file to the line-by-line reader, which handles all of them.
    """
    layout = fast_layout(calls)
    if layout is None:
        return FastResult(None, None, None)
    scan = FileScan(calls, layout.crlf)
    size = calls.stat().st_size
    bar = Progress("etl", total_bytes=size, enabled=progress)
    numbers = LineNumbers(layout, bar.update)
    src = fast_lines_sql(calls, layout, NOT_BLANK)
    try:
        write_staged(
            con,
            stage_select(f"({parse_sql(src, FAST_EXTRA)})", False, agents, FAST_EXTRA),
            staged,
            numbers,
        )
    except STREAM_ERRORS as exc:
        scan.join()
        bar.close()
        return FastResult(None, scan.sha256, fast_reader_stop(str(exc)))
    scan.join()
    bar.close()
    if scan.problem:
        return FastResult(None, scan.sha256, scan.problem)
    if not numbers.adds_up(size):
        return FastResult(None, scan.sha256, "line lengths do not add up to the file size")
    if not spot_check(con, calls, staged, numbers.lines):
        return FastResult(None, scan.sha256, "a sampled line is not where the reader put it")
    return FastResult(numbers.lines, scan.sha256, None)


def stage_slow(
    con: duckdb.DuckDBPyConnection,
    calls: Path,
    agents: AgentLookup,
    staged: Path,
    progress: bool,
    chunk_bytes: int,
    sha256: str | None,
) -> tuple[int, str]:
    """Pass 1 with Python splitting lines: takes gzip, CRLF and invalid UTF-8 line by line."""
    fh, gzipped = open_calls(calls)
    hasher = None if gzipped or sha256 else hashlib.sha256()
    bar = Progress("etl", total_bytes=None if gzipped else calls.stat().st_size, enabled=progress)
    with fh:
        reader = Prefetcher(iter_chunks(fh, calls, chunk_bytes, hasher), bar)
        con.register("chunk", reader.arrow_reader())
        non_blank = f"(SELECT * FROM chunk WHERE {NOT_BLANK})"
        try:
            write_staged(con, stage_select(f"({parse_sql(non_blank)})", gzipped, agents), staged)
        except STREAM_ERRORS:
            reader.stop()
            reader.reraise()
            raise
        reader.reraise()
    bar.close()
    if sha256:
        return reader.lines, sha256
    return reader.lines, hasher.hexdigest() if hasher is not None else file_sha256(calls)
