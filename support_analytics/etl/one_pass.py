"""One pass over a plain calls file: rules, derived columns and the final write in one stream.

The staged path (``duckdb_engine``) writes every line's rule results to a staging file, finds
repeated call_ids with a GROUP BY over it, then reads it back to write the output. For one
plain file into one Parquet file, this module does the same work in a single stream: DuckDB
splits the file and applies the rules on all its threads, and each batch is numbered,
checked for repeated call_ids (:class:`SeenIds`) and written, kept rows to the Parquet file
and rejects to the JSONL file, as it arrives and in input order. The bytes out are the same
as the staged path's; anything unusual hands the file back to it.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
from support_analytics.etl.rules import (
    EXTRA_COLUMNS,
    NOT_BLANK,
    AgentLookup,
    connect,
    kept_sql,
    parse_sql,
    sql_str,
    stage_select,
)
from support_analytics.etl.writers import REJECT_JSON, ROW_GROUP_ROWS, KeptWriter
from support_analytics.progress import Progress

# What the stream carries beside the kept columns: the reject reason and raw text, the line's
# byte length and blankness (for numbering), and a 64-bit hash of the call_id.
ID_HASH_SQL = "hash(v.call_id)"
# A reject's JSON line is made on DuckDB's threads without its line number, which only this
# side knows: '{"reason":..,"raw":..}' gets '{"line_number":N,' put in front of it here, the
# same bytes as REJECT_JSON. Only repeated call_ids (found here) take REJECT_JSON itself.
_REJECT_TAIL = (
    f"CASE WHEN v.reason IS NOT NULL THEN CAST(to_json(struct_pack("
    f"{s.REJECT_REASON} := v.reason, {s.REJECT_RAW} := v.raw)) AS VARCHAR) END AS reject_tail"
)
_REJECT_HEAD = '{"' + s.REJECT_LINE_NUMBER + '":'
_CARRIED = ", v.reason, " + _REJECT_TAIL + ", v.nbytes, v.blank, {id_hash} AS id_hash"
_KEPT_NAMES = [*s.CLEANED_COLUMNS, *EXTRA_COLUMNS]
_LARGE = {text: pa.scalar(text, pa.large_string()) for text in ("\n", ",", "", _REJECT_HEAD)}
_REPEATS_SCHEMA = pa.schema(
    [("line_number", pa.int64()), ("reason", pa.string()), ("raw", pa.large_string())]
)
_LINE_COLUMN = _KEPT_NAMES.index("line_number")
_SAMPLES = 256  # rows re-read from the file to prove the split, as the staged path does


class SeenIds:
    """The 64-bit hashes of the call_ids kept so far, to find later repeats in one pass.

    Sorted runs merged like an LSM tree keep 8 bytes per kept call; a bit map indexed by
    the hash answers "certainly new" for all but a few percent of ids, so only those are
    searched for in the runs (sorted first: a binary search per random id is cache-miss
    bound). A hash match is only a candidate: :func:`stage_one_pass` proves the repeats
    against the written output, since two different call_ids may share a hash.
    """

    def __init__(self, expected: int) -> None:
        bits = int(np.clip(np.ceil(np.log2(max(expected, 1) * 16)), 19, 28))
        self._map = np.zeros(1 << (bits - 3), dtype=np.uint8)
        self._mask = np.uint64((1 << (bits - 3)) - 1)
        self._runs: list[np.ndarray] = []
        self._tiers: list[int] = []

    def repeats(self, keys: np.ndarray) -> np.ndarray:
        """Positions in ``keys`` whose hash was seen before (earlier batches or rows)."""
        ordered = np.sort(keys)
        first = np.ones(len(ordered), dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        repeat = np.zeros(len(keys), dtype=bool)
        if not first.all():  # copies within the batch: mark all but the first of each
            copied = ordered[~first]
            near = _member(copied, keys)
            _, firsts = np.unique(keys[near], return_index=True)  # in row order: first wins
            repeat[near] = True
            repeat[near[firsts]] = False
        slots = ((keys >> np.uint64(3)) & self._mask).astype(np.intp)
        bits = np.left_shift(np.uint8(1), (keys & np.uint64(7)).astype(np.uint8))
        check = np.flatnonzero((self._map[slots] & bits).astype(bool) & ~repeat)
        if len(check):
            check = check[np.argsort(keys[check])]
            probe = keys[check]
            hit = np.zeros(len(check), dtype=bool)
            for run in self._runs:
                at = np.minimum(np.searchsorted(run, probe), len(run) - 1)
                hit |= run[at] == probe
            if hit.any():
                repeat[check[hit]] = True
                first[_member(probe[hit], ordered)] = False  # old ids: not in the new run
        self._map[slots] |= bits  # two ids in one byte keep only one bit here:
        lost = np.flatnonzero((self._map[slots] & bits) == 0)
        np.bitwise_or.at(self._map, slots[lost], bits[lost])  # so those few are set again
        self._push(ordered[first])
        return np.flatnonzero(repeat)

    def _push(self, run: np.ndarray) -> None:
        """Add a sorted run; eight runs of one tier merge into one of the next tier.

        So each id is merged about log8(batches) times (twice at 10M rows), not each time
        the newest run outgrows a fraction of the largest.
        """
        if not len(run):
            return
        self._runs.append(run)
        self._tiers.append(0)
        while len(self._tiers) >= _FANOUT and len(set(self._tiers[-_FANOUT:])) == 1:
            merged = np.sort(np.concatenate(self._runs[-_FANOUT:]), kind="stable")
            tier = self._tiers[-1] + 1
            del self._runs[-_FANOUT:], self._tiers[-_FANOUT:]
            self._runs.append(merged)
            self._tiers.append(tier)


_FANOUT = 8


def _member(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Positions of ``keys`` equal to one of ``values`` (few values, sorted or not).

    A 64 Ki-entry table on 16 of the hash's bits rules out nearly every key at the cost of
    one lookup; only the rest are binary-searched.
    """
    values = np.unique(values)
    table = np.zeros(1 << 16, dtype=bool)
    table[(values >> np.uint64(48)).astype(np.intp)] = True
    near = np.flatnonzero(table[(keys >> np.uint64(48)).astype(np.intp)])
    at = np.minimum(np.searchsorted(values, keys[near]), len(values) - 1)
    return near[values[at] == keys[near]]


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


class _KeptInBackground:
    """Filters and encodes the kept rows on a thread of their own.

    The Parquet encoding (a third of the run's CPU) and the row filter both release the GIL,
    so on a second core they overlap the numbering and duplicate checks of the next batch
    instead of holding up DuckDB's stream.
    """

    def __init__(self, writer: KeptWriter) -> None:
        self.writer = writer
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[pa.RecordBatch, np.ndarray, np.ndarray] | None]
        self._queue = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                batch, lines, keep = item
                table = pa.Table.from_batches([batch]).select(_KEPT_NAMES)
                table = table.set_column(_LINE_COLUMN, "line_number", pa.array(lines))
                if not keep.all():
                    table = table.filter(pa.array(keep))
                self.writer.add(table)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
            while self._queue.get() is not None:  # let the producer finish
                pass

    def add(self, batch: pa.RecordBatch, lines: np.ndarray, keep: np.ndarray) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((batch, lines, keep))

    def close(self) -> tuple[int, int, int]:
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.writer.close()

    def abort(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.writer.abort()


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
    return kept_sql(agents, "true", ordered=False, source=f"({rules})", extra=carried)


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
    writer: _KeptInBackground | None = None
    query = one_pass_sql(calls, layout, agents)
    try:
        try:  # only DuckDB's read is a reason to fall back; our own errors are raised
            stream = ReadAhead(con.sql(query).to_arrow_reader(batch_rows(calls)))
        except STREAM_ERRORS as exc:
            raise _ReaderStopped(fast_reader_stop(str(exc))) from None
        writer = _KeptInBackground(
            KeptWriter(output, pa.schema([stream.schema.field(n) for n in _KEPT_NAMES]))
        )
        seen = SeenIds(size // 150)
        with open(rejects, "wb") as fh:
            out = _RejectsOut(fh, side)
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
    writer: _KeptInBackground,
    out: _RejectsOut,
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
    writer.add(batch, lines, keep)

    malformed = 0
    if rejected.any():
        rej = pa.Table.from_batches([batch]).select(["reason", "reject_tail"])
        rej = rej.filter(pa.array(rejected))
        for item in pc.value_counts(rej.column("reason")).to_pylist():
            why, count = item["values"], item["counts"]
            tally.by_reason[why] = tally.by_reason.get(why, 0) + count
            if why in (s.REJECT_MALFORMED, s.REJECT_ENCODING):
                malformed += count
        out.add_rejects(lines[rejected], rej.column("reject_tail").combine_chunks())
    tally.objects += non_blank - malformed
    if len(repeat_rows):
        tally.by_reason[s.REJECT_DUPLICATE] = tally.by_reason.get(s.REJECT_DUPLICATE, 0) + len(
            repeat_rows
        )
        tally.repeated_ids.append(batch.column("call_id").take(pa.array(repeat_rows)))
        raws = read_spans(calls, starts[repeat_rows], width[repeat_rows] - layout.terminator)
        out.add_repeats(lines[repeat_rows], raws)
    out.end_batch()

    picks = np.flatnonzero(~blank & ((lines % tally.step) == (1 % tally.step)))
    room = 2 * _SAMPLES - len(tally.samples)
    if room > 0 and len(picks):
        picks = picks[:room]
        tails = batch.column("reject_tail").take(pa.array(picks)).to_pylist()
        ids = batch.column("call_id").take(pa.array(picks)).to_pylist()
        for i, tail, c in zip(picks.tolist(), tails, ids, strict=True):
            raw = None if tail is None else json.loads(tail)[s.REJECT_RAW]
            tally.samples.append((int(starts[i]), raw, None if raw is not None else c))
    return int(width.sum())


class _RejectsOut:
    """The rejects file, written in line order in blocks of about 16 MiB.

    Rejects come as JSON without their line number (made on DuckDB's threads); repeated
    call_ids come as raw text, which DuckDB escapes in one side query per block rather
    than one per batch (the query's fixed cost was most of the repeats' cost).
    """

    def __init__(self, out: BinaryIO, side: duckdb.DuckDBPyConnection) -> None:
        self._out = out
        self._side = side
        self._numbers: list[np.ndarray] = []
        self._texts: list[pa.Array] = []
        self._repeat_numbers: list[np.ndarray] = []
        self._repeat_raws: list[str] = []
        self._bytes = 0

    def add_rejects(self, numbers: np.ndarray, tails: pa.Array) -> None:
        self._numbers.append(numbers)
        self._texts.append(
            pc.binary_join_element_wise(
                _LARGE[_REJECT_HEAD],
                pc.cast(pa.array(numbers), pa.large_string()),
                _LARGE[","],
                pc.utf8_slice_codeunits(tails, 1).cast(pa.large_string()),
                _LARGE[""],
            )
        )
        self._grew(self._texts[-1].nbytes)

    def add_repeats(self, numbers: np.ndarray, raws: list[str]) -> None:
        self._repeat_numbers.append(numbers)
        self._repeat_raws.extend(raws)
        self._grew(sum(len(r) for r in raws))

    def _grew(self, nbytes: int) -> None:
        self._bytes += nbytes

    def end_batch(self) -> None:
        """Write out once a block is full; only between batches, as a batch's rejects and
        repeats interleave."""
        if self._bytes >= _REJECTS_BLOCK:
            self.flush()

    def flush(self) -> None:
        numbers, texts = self._numbers, self._texts
        if self._repeat_numbers:
            repeats = np.concatenate(self._repeat_numbers)
            numbers.append(repeats)
            texts.append(_repeat_json(self._side, repeats, self._repeat_raws))
        if texts:
            text = pa.concat_arrays(texts)
            if len(texts) > 1:  # blocks of rejects and repeats, each in line order: merge
                text = text.take(pa.array(np.argsort(np.concatenate(numbers), kind="stable")))
            _write_lines(self._out, text)
        self._numbers, self._texts, self._repeat_numbers, self._repeat_raws = [], [], [], []
        self._bytes = 0


_REJECTS_BLOCK = 16 << 20


def _repeat_json(side: duckdb.DuckDBPyConnection, lines: np.ndarray, raws: list[str]) -> pa.Array:
    """Reject lines for repeated call_ids, written by DuckDB as every other reject is."""
    side.register(
        "repeats_batch",
        pa.table(
            {
                "line_number": pa.array(lines),
                "reason": pa.array([s.REJECT_DUPLICATE] * len(lines), pa.string()),
                "raw": pa.array(raws, pa.large_string()),
            },
            schema=_REPEATS_SCHEMA,
        ),
    )
    try:
        table = side.sql(f"SELECT {REJECT_JSON} AS j FROM repeats_batch").to_arrow_table()
    finally:
        side.unregister("repeats_batch")
    return table.column("j").combine_chunks().cast(pa.large_string())


def _write_lines(out: BinaryIO, text: pa.Array) -> None:
    """Each string and a newline, straight from Arrow's buffers (no Python string per line)."""
    lines = pc.binary_join_element_wise(text, _LARGE["\n"], _LARGE[""])
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    out.write(memoryview(lines.buffers()[2])[start:end])


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
