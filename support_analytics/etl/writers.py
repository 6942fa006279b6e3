"""Writers: the staged rule results, the kept rows' Parquet and the rejects JSONL.

Each streams in input order without a global sort, so the same input gives the same bytes
and memory stays bounded by DuckDB's limit, not the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from support_analytics import schema as s
from support_analytics.etl.handoff import ReadAhead
from support_analytics.etl.rules import EXTRA_COLUMNS, AgentLookup, kept_sql, to_contract


def write_staged(
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

    stream = ReadAhead(con.sql(query).to_arrow_reader(ROW_GROUP_ROWS))
    writer = None
    try:
        for batch in stream:
            table = fix(batch) if fix is not None else pa.Table.from_batches([batch])
            if writer is None:
                writer = _plain_writer(path, table.schema)
            if table.num_rows:
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
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


ROW_GROUP_ROWS = 122_880  # DuckDB's default; a row group is the unit of a parallel scan


@contextmanager
def arrow_allocator() -> Iterator[None]:
    """Arrow's jemalloc pool while a run filters, converts and encodes its batches.

    Every batch allocates and frees buffers of the same few sizes. At 10M rows the run used
    0.5-1.8 CPU-seconds less with jemalloc than with pyarrow's default (mimalloc) in two
    interleaved comparisons (6 and 3 rounds, bench/README.md): small, but lower in both. The
    previous pool is put back afterwards, so a notebook that runs the ETL keeps its own.
    """
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


# Columns that repeat across rows get dictionary pages; ids and timestamps are close to
# unique, where a dictionary only costs time and bytes (pyarrow would try one and give up).
_DICTIONARY_COLUMNS = [
    c for c in s.CLEANED_COLUMNS if c not in (s.CALL_ID, s.CUSTOMER_ID, s.START_TIME, s.END_TIME)
]


# Min/max statistics where they let a reader skip row groups (times, dates, numbers).
# Those of text columns cost a sixth of the encoding time (measured at 10M rows) and prune
# nothing: ids are unique and names and regions repeat in every row group.
_STATISTICS_COLUMNS = [f.name for f in s.CLEANED_SCHEMA if not pa.types.is_string(f.type)]


class KeptWriter:
    """Kept rows, in input order, into one Parquet file of fixed-size row groups.

    DuckDB's parallel COPY lays row groups out differently from run to run, and a global
    sort to fix that costs more than the write; cutting row groups of ``ROW_GROUP_ROWS``
    here gives the same bytes for the same input. Batches carry ``EXTRA_COLUMNS`` beside
    the contract columns; the warning counts are taken from them on the way through.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        self.path = path
        #: The rows as they wait for a full row group: the contract's columns, not yet cast.
        self.schema = pa.schema([f for f in schema if f.name not in EXTRA_COLUMNS])
        self.invalid = self.unknown = self.kept = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(
            path,
            s.CLEANED_SCHEMA,
            compression="zstd",
            use_dictionary=_DICTIONARY_COLUMNS,
            write_statistics=_STATISTICS_COLUMNS,
        )

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Kept rows with ``EXTRA_COLUMNS`` beside the contract's, which are counted here."""
        if not batch.num_rows:
            return
        invalid = pc.sum(batch.column("rating_invalid")).as_py() or 0
        unknown = pc.sum(batch.column("unknown_agent")).as_py() or 0
        self.add_counted(batch.drop_columns(list(EXTRA_COLUMNS)), invalid, unknown)

    def add_counted(self, rows: pa.RecordBatch | pa.Table, invalid: int, unknown: int) -> None:
        """Kept rows in the contract's columns, with their warnings already counted."""
        if not rows.num_rows:
            return
        self.invalid += invalid
        self.unknown += unknown
        self.kept += rows.num_rows
        if isinstance(rows, pa.Table):
            self._pending.extend(rows.to_batches())
        else:
            self._pending.append(rows)
        self._pending_rows += rows.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        rows = self._pending_rows
        cut = rows if final else rows - rows % ROW_GROUP_ROWS
        if cut:
            out = to_contract(table.slice(0, cut))
            self._writer.write_table(out, row_group_size=ROW_GROUP_ROWS)
        rest = table.slice(cut)
        self._pending, self._pending_rows = rest.to_batches(), rest.num_rows

    def close(self) -> tuple[int, int, int]:
        """Writes the last row group; returns (invalid ratings, unknown agents, kept rows)."""
        try:
            if self._pending_rows:
                self._flush(final=True)
        finally:
            self._writer.close()
        return self.invalid, self.unknown, self.kept

    def abort(self) -> None:
        self._writer.close()


def write_kept(
    con: duckdb.DuckDBPyConnection, agents: AgentLookup, dup_lines: np.ndarray, path: Path
) -> tuple[int, int, int]:
    """Write the kept rows of `staged` to one Parquet file in input order.

    A scan of `staged` comes out in input order; later copies of a call_id are dropped here
    by line number. Returns (invalid ratings, unknown agents, kept rows) like ``WARNINGS_SQL``.
    """
    dups = np.sort(dup_lines.astype(np.int64))
    reader = ReadAhead(
        con.sql(kept_sql(agents, "v.reason IS NULL", ordered=False)).to_arrow_reader(ROW_GROUP_ROWS)
    )
    writer = KeptWriter(path, reader.schema)
    try:
        for batch in reader:
            if len(dups):
                lines = batch.column("line_number").to_numpy()
                at = np.minimum(np.searchsorted(dups, lines), len(dups) - 1)
                batch = batch.filter(pa.array(dups[at] != lines))
            writer.add(batch)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


REJECT_JSON = (
    f"CAST(to_json(struct_pack({s.REJECT_LINE_NUMBER} := line_number, "
    f"{s.REJECT_REASON} := reason, {s.REJECT_RAW} := raw)) AS VARCHAR)"
)
_REJECT_BATCH_ROWS = 1024  # a reject carries its whole line, which may be megabytes


def write_rejects(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Every rejected line as one JSON object per line, in line order, streamed.

    A scan of `staged` is already in line order and `dup_lines` is sorted, so the two are
    merged here instead of sorted by DuckDB: a sort of the raw text ran out of memory on a
    file of 20 KB lines, half of them malformed.
    """
    dups = con.execute(
        f"SELECT line_number, {REJECT_JSON} FROM "
        f"(SELECT line_number, '{s.REJECT_DUPLICATE}' AS reason, raw FROM dup_lines) "
        "ORDER BY line_number"
    ).fetchall()
    stream = ReadAhead(
        con.sql(
            f"SELECT line_number, {REJECT_JSON} AS j FROM staged WHERE reason IS NOT NULL"
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


def rejects_by_reason(con: duckdb.DuckDBPyConnection, duplicates: int) -> dict[str, int]:
    """The staged rows' reject counts by reason, with the repeated call_ids found apart."""
    counted = con.execute(
        "SELECT reason, count(*) FROM staged WHERE reason IS NOT NULL GROUP BY reason"
    ).fetchall()
    by_reason = {str(r): int(n) for r, n in counted}
    if duplicates:
        by_reason[s.REJECT_DUPLICATE] = int(duplicates)
    return by_reason
