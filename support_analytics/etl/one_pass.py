"""One pass over a plain calls file: rules, derived columns and the final write in one stream.

The staged path (``duckdb_engine``) writes every line's rule results to a staging file, finds
repeated call_ids with a GROUP BY over it, then reads it back to write the output. For one
plain file into one Parquet file, this module does the same work in a single stream: DuckDB
splits the file and applies the rules on all its threads, and each batch is numbered,
checked for repeated call_ids (``repeats.SeenIds``) and written, kept rows to the Parquet file
and rejects to the JSONL file, as it arrives and in input order. The bytes out are the same
as the staged path's; anything unusual hands the file back to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from support_analytics import config
from support_analytics import schema as s
from support_analytics.etl.engine import Staged
from support_analytics.etl.handoff import STREAM_ERRORS, ReadAhead
from support_analytics.etl.lines import (
    FAST_EXTRA,
    FastLayout,
    FileScan,
    fast_layout,
    fast_lines_sql,
    fast_reader_stop,
    read_spans,
    rows_in_place,
)
from support_analytics.etl.one_pass_writers import KeptInBackground, RejectsOut
from support_analytics.etl.repeats import SeenIds
from support_analytics.etl.rules import (
    NOT_BLANK,
    AgentLookup,
    connect,
    kept_sql,
    parse_sql,
    sql_str,
    stage_select,
)
from support_analytics.etl.writers import ROW_GROUP_ROWS
from support_analytics.progress import Progress

# What the stream carries beside the kept columns: the reject reason and the reject's JSON
# line (below), the line's byte length and blankness (for numbering), and a 64-bit hash of
# the call_id (for repeats).
ID_HASH_SQL = "hash(v.call_id)"
# A reject's JSON line is made on DuckDB's threads without its line number, which only this
# side knows: '{"reason":..,"raw":..}' gets '{"line_number":N,' put in front of it here, the
# same bytes as REJECT_JSON. Only repeated call_ids (found here) take REJECT_JSON itself.
_REJECT_TAIL = (
    f"CASE WHEN v.reason IS NOT NULL THEN CAST(to_json(struct_pack("
    f"{s.REJECT_REASON} := v.reason, {s.REJECT_RAW} := v.raw)) AS VARCHAR) END AS reject_tail"
)
_CARRIED = ", v.reason, " + _REJECT_TAIL + ", v.nbytes, v.blank, {id_hash} AS id_hash"
_SAMPLES = 256  # rows re-read from the file to prove the split, as the staged path does


@dataclass
class OnePassResult:
    """The run's counts, or why the file goes back to the staged path (and which reader)."""

    staged: Staged | None
    sha256: str | None = None
    fallback: str | None = None
    #: True when the file itself needs the line-by-line reader (not just the staged path).
    line_by_line: bool = False


@dataclass
class _Tally:
    lines: int = 0
    offset: int = 0
    rows_in: int = 0
    objects: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    step: int = 0
    repeated_ids: list[pa.Array] = field(default_factory=list)


def batch_rows(calls: Path) -> int:
    """Rows per batch so that a batch holds about 32 MiB of text, whatever the line length.

    Three batches are in flight at once, and a rejected line travels with its raw text: at a
    fixed 122,880 rows, a file of 20 KB lines put gigabytes in memory. The output's row
    groups do not depend on this (the writer cuts them at a fixed size).
    """
    with open(calls, "rb") as fh:
        head = fh.read(1 << 20)
    average = len(head) / max(head.count(b"\n"), 1)
    return int(np.clip((32 << 20) // max(average, 1), 1024, ROW_GROUP_ROWS))


def one_pass_sql(calls: Path, layout: FastLayout, agents: AgentLookup) -> str:
    """Every line of the file with its rule results and the kept columns, in input order."""
    src = fast_lines_sql(calls, layout, NOT_BLANK)
    rules = stage_select(f"({parse_sql(src, FAST_EXTRA)})", False, agents, FAST_EXTRA)
    carried = _CARRIED.format(id_hash=ID_HASH_SQL)
    return kept_sql(
        agents, "true", ordered=False, source=f"({rules})", extra=carried, agent_codes=True
    )


def stage_one_pass(
    con: duckdb.DuckDBPyConnection,
    calls: Path,
    agents: AgentLookup,
    output: Path,
    rejects: Path,
    progress: bool,
) -> OnePassResult:
    """Clean a plain file into ``output`` and ``rejects`` in one stream, or say why not."""
    layout = fast_layout(calls)
    if layout is None:
        return OnePassResult(None, line_by_line=True)
    size = calls.stat().st_size
    scan = FileScan(calls, layout.crlf)
    bar = Progress("etl", total_bytes=size, enabled=progress)
    tally = _Tally(offset=layout.bom)
    side = connect()
    writer: KeptInBackground | None = None
    query = one_pass_sql(calls, layout, agents)
    con.execute(f"SET memory_limit = {sql_str(config.ONE_PASS_MEMORY_LIMIT)}")
    try:
        try:  # only DuckDB's read is a reason to fall back; our own errors are raised
            stream = ReadAhead(con.sql(query).to_arrow_reader(batch_rows(calls)))
        except STREAM_ERRORS as exc:
            raise _ReaderStopped(fast_reader_stop(str(exc))) from None
        writer = KeptInBackground(output, stream.schema, agents)
        seen = SeenIds(size // 150)
        with open(rejects, "wb") as fh:
            out = RejectsOut(fh, side)
            for batch in _batches(stream):
                nbytes = _take(batch, layout, calls, tally, seen, writer, out, size)
                bar.update(rows=batch.num_rows, nbytes=nbytes)
            out.flush()
        invalid, unknown, kept = writer.close()
        writer = None
    except _ReaderStopped as stop:
        side.close()
        scan.join()
        bar.close()
        return OnePassResult(None, scan.sha256, stop.reason, line_by_line=True)
    except BaseException:
        side.close()
        raise
    finally:
        if writer is not None:
            writer.abort()
        con.execute(f"SET memory_limit = {sql_str(config.DUCKDB_MEMORY_LIMIT)}")  # staged path
    scan.join()
    bar.close()
    problem = scan.problem
    if problem is None and tally.offset not in (size, size + layout.terminator):
        problem = "line lengths do not add up to the file size"
    if problem is None and not rows_in_place(calls, tally.samples):
        problem = "a sampled line is not where the reader put it"
    if problem is not None:
        side.close()
        return OnePassResult(None, scan.sha256, problem, line_by_line=True)
    try:
        if not _repeats_are_real(side, tally.repeated_ids, output):
            return OnePassResult(None, scan.sha256, "two call_ids share a 64-bit hash")
    finally:
        side.close()
    rejected = {r: n for r, n in tally.by_reason.items() if n}
    warnings = {s.WARN_INVALID_RATING: int(invalid), s.WARN_UNKNOWN_AGENT: int(unknown)}
    staged = Staged(
        output, tally.lines, tally.rows_in, tally.objects, kept, rejected, warnings, scan.sha256
    )
    return OnePassResult(staged, scan.sha256)


class _ReaderStopped(Exception):
    """DuckDB could not read the file as plain lines (say, invalid UTF-8 on line N)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _batches(stream: ReadAhead) -> Iterator[pa.RecordBatch]:
    batches = iter(stream)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except STREAM_ERRORS as exc:
            raise _ReaderStopped(fast_reader_stop(str(exc))) from None
        yield batch


def _take(
    batch: pa.RecordBatch,
    layout: FastLayout,
    calls: Path,
    tally: _Tally,
    seen: SeenIds,
    writer: KeptInBackground,
    out: RejectsOut,
    size: int,
) -> int:
    """Number one batch, split it into kept rows and rejects, and write both; returns bytes."""
    n = batch.num_rows
    if not n:
        return 0
    width = batch.column("nbytes").to_numpy(zero_copy_only=False).astype(np.int64)
    width += layout.terminator
    ends = tally.offset + np.cumsum(width)
    starts = ends - width
    lines = np.arange(tally.lines + 1, tally.lines + 1 + n, dtype=np.int64)
    tally.lines += n
    tally.offset = int(ends[-1])
    if not tally.step:  # sample about _SAMPLES rows over the file, as estimated from here
        tally.step = max(1, int(size * n / max(int(width.sum()), 1)) // _SAMPLES)

    blank = batch.column("blank").to_numpy(zero_copy_only=False)
    valid = batch.column("reason").is_valid().to_numpy(zero_copy_only=False)
    rejected = valid & ~blank
    candidate = ~(blank | valid)
    non_blank = int(n - np.count_nonzero(blank))
    tally.rows_in += non_blank

    cand_rows = np.flatnonzero(candidate)
    keys = batch.column("id_hash").to_numpy(zero_copy_only=False)[cand_rows]
    repeat_rows = cand_rows[seen.repeats(keys.astype(np.uint64, copy=False))]
    keep = candidate
    keep[repeat_rows] = False
    writer.add(batch, keep)

    malformed = 0
    if rejected.any():
        at = pa.array(np.flatnonzero(rejected))
        for item in pc.value_counts(batch.column("reason").take(at)).to_pylist():
            why, count = item["values"], item["counts"]
            tally.by_reason[why] = tally.by_reason.get(why, 0) + count
            if why in (s.REJECT_MALFORMED, s.REJECT_ENCODING):
                malformed += count
        out.add_rejects(lines[rejected], batch.column("reject_tail").take(at))
    tally.objects += non_blank - malformed
    if len(repeat_rows):
        tally.by_reason[s.REJECT_DUPLICATE] = tally.by_reason.get(s.REJECT_DUPLICATE, 0) + len(
            repeat_rows
        )
        tally.repeated_ids.append(batch.column("call_id").take(pa.array(repeat_rows)))
        raws = read_spans(calls, starts[repeat_rows], width[repeat_rows] - layout.terminator)
        out.add_repeats(lines[repeat_rows], raws)
    out.end_batch()

    step = tally.step  # lines 1, 1 + step, 1 + 2 * step, ... (the staged path's sample)
    first_pick = int(lines[0]) + (1 - int(lines[0])) % step
    picks = np.arange(first_pick - int(lines[0]), n, step)
    picks = picks[~blank[picks]]
    room = 2 * _SAMPLES - len(tally.samples)
    if room > 0 and len(picks):
        picks = picks[:room]
        tails = batch.column("reject_tail").take(pa.array(picks)).to_pylist()
        ids = batch.column("call_id").take(pa.array(picks)).to_pylist()
        for i, tail, c in zip(picks.tolist(), tails, ids, strict=True):
            raw = None if tail is None else json.loads(tail)[s.REJECT_RAW]
            tally.samples.append((int(starts[i]), raw, None if raw is not None else c))
    return int(width.sum())


def _repeats_are_real(
    side: duckdb.DuckDBPyConnection, repeated: list[pa.Array], output: Path
) -> bool:
    """Whether every call_id dropped as a repeat is in the output (so it truly repeats one).

    The output holds one row per hash, the first; a dropped row's call_id is there only if
    that first row had the same call_id. Otherwise two ids shared a hash: the caller then
    runs the staged path, which compares the ids themselves.
    """
    if not repeated:
        return True
    ids = pa.table({"call_id": pa.concat_arrays([a.cast(pa.string()) for a in repeated])})
    side.register("repeated_ids", ids)
    wanted, found = side.execute(
        f"""SELECT (SELECT count(DISTINCT call_id) FROM repeated_ids),
                   (SELECT count(DISTINCT call_id) FROM read_parquet({sql_str(str(output))})
                    WHERE call_id IN (SELECT call_id FROM repeated_ids))"""
    ).fetchall()[0]
    side.unregister("repeated_ids")
    return bool(wanted == found)
