"""Threads that hand work across a bounded queue, so reading, DuckDB and writing overlap.

numpy, Arrow, file reads, DuckDB's fetch and Parquet encoding all release the GIL: on two
cores a reader thread ahead of DuckDB, or a fetch thread ahead of the writer, runs beside
the main thread instead of taking turns with it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import duckdb
import pyarrow as pa

from support_analytics.etl.lines import LINES_SCHEMA, Chunk
from support_analytics.progress import Progress

# What a failing DuckDB query raises while it streams: duckdb.Error before the first batch,
# and a plain OSError (through Arrow's stream) after it, as for an invalid byte on line
# 5,000,000.
STREAM_ERRORS = (duckdb.Error, pa.ArrowException, OSError)


class Handoff:
    """A thread that feeds ``items`` through a bounded queue, and cannot deadlock its consumer.

    If the consumer fails (DuckDB out of memory, disk full) it stops taking items; the
    producer's ``_put`` then gives up once ``_stop`` is set instead of waiting forever on a
    full queue, so joining the thread returns.
    """

    def __init__(self, items: Iterable[Any], depth: int = 2) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._produce, args=(items,), daemon=True)
        self._thread.start()

    def _produce(self, items: Iterable[Any]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        self._put(None)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def stop(self) -> None:
        """The consumer is done or failed: let the thread go instead of filling the queue."""
        self._stop.set()

    def _next(self) -> Any:
        """The next item; None at the end, once stopped, or once the producer is gone."""
        while True:
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return None
                if not self._thread.is_alive():  # all its puts are done: take what is left
                    try:
                        return self._queue.get_nowait()
                    except queue.Empty:
                        return None


class Prefetcher(Handoff):
    """Reads and splits chunks on a thread while DuckDB works on the previous ones.

    numpy, Arrow and file reads release the GIL, so on two cores this overlaps the Python
    side with the engine instead of alternating with it. An error on the thread (say, a JSON
    array) is kept and re-raised on the caller's thread by :meth:`reraise`.
    """

    def __init__(self, chunks: Iterator[Chunk], bar: Progress) -> None:
        self.lines = 0
        self._bar = bar
        super().__init__(chunks)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while (chunk := self._next()) is not None:
            self.lines += chunk.table.num_rows
            self._bar.update(rows=chunk.table.num_rows, nbytes=chunk.nbytes)
            yield from chunk.table.to_batches()

    def arrow_reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(LINES_SCHEMA, self._batches())

    def reraise(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


class ReadAhead(Handoff):
    """Fetches the next batches of a DuckDB result on a thread while the caller writes the last.

    DuckDB's fetch (both cores) and pyarrow's Parquet encoding (one core) both release the
    GIL; one after the other they took 4.3 s + 6.7 s of the 10M-row write. Iterating yields
    the batches in order and re-raises an error from the thread; leaving early stops it.
    """

    def __init__(self, reader: pa.RecordBatchReader, depth: int = 2) -> None:
        self.schema = reader.schema
        self._reader = reader
        super().__init__(reader, depth)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            while (batch := self._next()) is not None:
                yield batch
            if self.error is not None:
                raise self.error
        finally:
            self.stop()
            self._thread.join()
            self._reader.close()  # DuckDB runs no other query while a result is open
