"""The one-pass path's two outputs: kept rows encoded on a thread, rejects written in blocks.

Both take the stream's batches in input order from ``one_pass.py`` and write the same bytes
the staged path's writers (``writers.py``) write: the Parquet through the same
:class:`~support_analytics.etl.writers.KeptWriter`, the rejects as the same JSON lines.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from support_analytics import schema as s
from support_analytics.etl.rules import AgentLookup
from support_analytics.etl.writers import REJECT_JSON, KeptWriter

#: Contract columns the kept rows get from their agent code rather than from the stream.
LOOKED_UP = (s.AGENT_NAME, s.REGION)
#: The stream's columns for the kept rows: the contract's, but the agent's code in place of
#: its name and region (``rules.kept_sql(agent_codes=True)``), and the rating warning.
KEPT_NAMES = [
    *(c for c in s.CLEANED_COLUMNS if c not in LOOKED_UP),
    "rating_invalid",
    "agent_code",
]
#: What goes in front of a reject's JSON made without its line number (see one_pass.py).
REJECT_HEAD = '{"' + s.REJECT_LINE_NUMBER + '":'
_LARGE = {text: pa.scalar(text, pa.large_string()) for text in ("\n", ",", "", REJECT_HEAD)}
_REPEATS_SCHEMA = pa.schema(
    [("line_number", pa.int64()), ("reason", pa.string()), ("raw", pa.large_string())]
)


class KeptInBackground:
    """Filters and encodes the kept rows on a thread of their own.

    The Parquet encoding (a third of the run's CPU) and the row filter both release the GIL,
    so on a second core they overlap the numbering and duplicate checks of the next batch
    instead of holding up DuckDB's stream. Columns are filtered one by one (half the time
    of ``Table.filter``, measured), and the agent's name and region are looked up from its
    code only for the rows kept.
    """

    def __init__(self, output: Path, stream: pa.Schema, agents: AgentLookup) -> None:
        fields = {n: stream.field(n) for n in KEPT_NAMES}
        self._lookups = {
            s.AGENT_NAME: pa.array(agents.name_values, pa.string()),
            s.REGION: pa.array(agents.region_values, pa.string()),
        }
        schema = pa.schema([fields.get(c) or pa.field(c, pa.string()) for c in s.CLEANED_COLUMNS])
        self.writer = KeptWriter(output, schema)
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[pa.RecordBatch, np.ndarray] | None]
        self._queue = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                self._write(*item)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
            while self._queue.get() is not None:  # let the producer finish
                pass

    def _write(self, batch: pa.RecordBatch, keep: np.ndarray) -> None:
        mask = None if keep.all() else pa.array(keep)
        cols = {}
        for name in KEPT_NAMES:
            col = batch.column(name)
            cols[name] = col if mask is None else col.filter(mask)
        codes = cols.pop("agent_code")
        invalid = pc.sum(cols.pop("rating_invalid")).as_py() or 0
        for name, values in self._lookups.items():
            cols[name] = values.take(codes)
        rows = pa.table([cols[c] for c in s.CLEANED_COLUMNS], schema=self.writer.schema)
        self.writer.add_counted(rows, invalid, codes.null_count)

    def add(self, batch: pa.RecordBatch, keep: np.ndarray) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((batch, keep))

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


class RejectsOut:
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
                _LARGE[REJECT_HEAD],
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
        if self._bytes >= REJECTS_BLOCK:
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


REJECTS_BLOCK = 16 << 20


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
