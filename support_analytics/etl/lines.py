"""An NDJSON calls file as numbered lines, by either of two readers.

A plain file (UTF-8, all lines ending LF or all CRLF) is split by DuckDB's parallel CSV reader
(:func:`csv_lines_sql`); line numbers and byte offsets are then counted from each line's
length, and :class:`FileScan` and :func:`spot_check` prove the split right. Anything else
(gzip, mixed line ends, invalid UTF-8) goes through Python's reader (:func:`iter_chunks`),
which splits byte chunks with numpy. Both give (line_number, byte_offset, raw, bad_encoding).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from support_analytics.errors import InputError
from support_analytics.etl.rules import sql_str
from support_analytics.io import storage

GZIP_MAGIC = b"\x1f\x8b"
#: The fix for a calls file with nothing to read: most often a wrong path or a cut export.
NOT_THE_CALLS_FIX = "check that --calls names the calls export and that the export finished"
BOM = b"\xef\xbb\xbf"
_BATCH_ROWS = 65_536
LINES_SCHEMA = pa.schema(
    [
        ("line_number", pa.int64()),
        ("byte_offset", pa.int64()),
        ("raw", pa.large_string()),
        ("bad_encoding", pa.bool_()),
    ]
)


# --------------------------------------------------------------------------------------------
# Reading NDJSON as numbered lines
# --------------------------------------------------------------------------------------------
@dataclass
class Chunk:
    table: pa.Table  # line_number, byte_offset, raw, bad_encoding
    nbytes: int


def open_calls(path: Path) -> tuple[BinaryIO, bool]:
    """Open the calls file; gzip is detected by its magic bytes whatever the file is called."""
    fh = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
    if fh.read(2) == GZIP_MAGIC:
        fh.close()
        return gzip.open(path, "rb"), True
    fh.seek(0)
    return fh, False


def lines_table(data: bytes, first_line: int, base_offset: int) -> pa.Table:
    """Split a block of whole lines into an Arrow table without a Python loop per line."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    ends = newlines if data.endswith(b"\n") else np.append(newlines, len(data))
    n = len(ends)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    offsets[-1] = min(offsets[-1], len(data))
    starts = offsets[:-1]
    binary = pa.Array.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    bad = np.zeros(n, dtype=bool)
    try:
        text = binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        text, bad = _decode_lines_slowly(data, starts, offsets[1:])
    text = pc.utf8_rtrim(text, characters="\r\n")
    table = pa.table(
        {
            "line_number": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
            "byte_offset": pa.array(starts + base_offset),
            "raw": text,
            "bad_encoding": pa.array(bad),
        }
    )
    # Several record batches let DuckDB scan one chunk on all its threads.
    return pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS))


def _decode_lines_slowly(
    data: bytes, starts: np.ndarray, ends: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Per-line decoding for a block with invalid UTF-8: bad lines keep a readable escape."""
    texts: list[str] = []
    bad = np.zeros(len(starts), dtype=bool)
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        piece = data[a:b]
        try:
            texts.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(piece.decode("utf-8", "backslashreplace"))
            bad[i] = True
    return pa.array(texts, type=pa.large_string()), bad


def iter_chunks(fh: BinaryIO, path: Path, chunk_bytes: int, hasher: Any | None) -> Iterator[Chunk]:
    """Yield blocks of whole lines; a BOM is dropped and a JSON array is refused up front."""
    carry = b""
    consumed = 0  # bytes of the (decompressed) stream before `carry`
    line_no = 1
    first = True
    while True:
        try:
            block = fh.read(chunk_bytes)
        except (EOFError, OSError, zlib.error) as exc:
            if not isinstance(fh, gzip.GzipFile):
                raise
            raise InputError(
                f"{path}: gzip data is truncated or corrupt ({exc}); copy the file again"
            ) from None
        if hasher is not None and block:
            hasher.update(block)
        data = carry + block
        if block:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            data, carry = data[:cut], data[cut:]
        else:
            carry = b""
        if first and data:
            first = False
            if data.startswith(BOM):
                data = data[len(BOM) :]
                consumed += len(BOM)
            head = data.lstrip()[:1]
            if head == b"[":
                raise InputError(
                    f"{path}: is a JSON array, not NDJSON (one JSON object per line); "
                    "convert it with: jq -c '.[]' FILE > calls.json"
                )
        if data:
            table = lines_table(data, line_no, consumed)
            yield Chunk(table, len(data))
            line_no += table.num_rows
            consumed += len(data)
        if not block:
            return


def check_calls_path(path: Path | str) -> Path | str:
    """Refuse a calls file that cannot be read at all, local or s3://, before anything runs."""
    fs, p = storage.filesystem(path)
    if not fs.exists(p):
        raise InputError(
            f"{path}: calls file not found; pass --calls PATH or run "
            "`support-analytics simulate` first"
        )
    if fs.isdir(p):
        raise InputError(f"{path}: is a directory; pass the NDJSON calls file itself")
    if fs.size(p) == 0:
        raise InputError(f"{path}: calls file is empty (0 bytes); {NOT_THE_CALLS_FIX}")
    return path


# --------------------------------------------------------------------------------------------
# The fast reader: DuckDB splits the file, the byte total and a sample prove the split
# --------------------------------------------------------------------------------------------
# DuckDB's CSV reader as a parallel line splitter: one VARCHAR column, no quoting, and a
# delimiter that `FileScan` proves absent. Blank lines come out as NULL rows, so row i is line i.
MAX_FAST_LINE = 8 * 1024 * 1024


def csv_lines_sql(path: Path, crlf: bool = False) -> str:
    new_line = "\\r\\n" if crlf else "\\n"
    return (
        f"read_csv({sql_str(str(path))}, columns={{'raw': 'VARCHAR'}}, delim=chr(1), "
        "quote='', escape='', comment='', header=false, auto_detect=false, "
        f"strict_mode=false, new_line='{new_line}', max_line_size={MAX_FAST_LINE})"
    )


@dataclass(frozen=True)
class FastLayout:
    """What a file's first 64 KiB say: a leading BOM's length and whether lines end CRLF."""

    bom: int
    crlf: bool

    @property
    def terminator(self) -> int:
        return 2 if self.crlf else 1


def fast_layout(path: Path) -> FastLayout | None:
    """The layout for the fast reader, or None when only the line-by-line reader can read it.

    Gzip, a JSON array and a file that starts blank go to the line-by-line reader, which
    refuses or handles each of them.
    """
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(GZIP_MAGIC):
        return None
    bom = len(BOM) if head.startswith(BOM) else 0
    if head[bom:].lstrip()[:1] in (b"[", b""):
        return None
    first_end = head.find(b"\n")
    return FastLayout(bom, first_end > 0 and head[first_end - 1 : first_end] == b"\r")


# Columns the fast reader's source carries beside the lines until LineNumbers drops them.
FAST_EXTRA = ", nbytes, blank"


def fast_lines_sql(path: Path, layout: FastLayout, not_blank: str) -> str:
    """DuckDB's split of the file as (line_number, byte_offset, raw, bad_encoding) + extras.

    Numbers are NULL here: :class:`LineNumbers` fills them in batch by batch.
    """
    return (
        "(SELECT CAST(NULL AS BIGINT) AS line_number, CAST(NULL AS BIGINT) AS byte_offset, "
        "raw, false AS bad_encoding, coalesce(strlen(raw), 0) AS nbytes, "
        f"NOT {not_blank} AS blank FROM {csv_lines_sql(path, layout.crlf)})"
    )


class LineNumbers:
    """Numbers the fast reader's batches from each line's byte length, and drops blank lines.

    DuckDB keeps insertion order, so line i starts where the lengths of lines before it end;
    :meth:`adds_up` then proves no line was lost or split.
    """

    def __init__(self, layout: FastLayout, on_batch: Any = None) -> None:
        self.line = 1
        self.offset = layout.bom
        self._terminator = layout.terminator
        self._on_batch = on_batch

    @property
    def lines(self) -> int:
        return self.line - 1

    def __call__(self, batch: pa.RecordBatch) -> pa.Table:
        width = batch.column("nbytes").to_numpy().astype(np.int64) + self._terminator
        ends = self.offset + np.cumsum(width)
        n = batch.num_rows
        table = pa.Table.from_batches([batch])
        table = table.set_column(0, "line_number", pa.array(np.arange(self.line, self.line + n)))
        table = table.set_column(1, "byte_offset", pa.array(ends - width))
        blank = table.column("blank")
        self.line += n
        self.offset = int(ends[-1]) if n else self.offset
        if self._on_batch is not None:
            self._on_batch(rows=n, nbytes=int(width.sum()))
        if pc.any(blank).as_py():
            table = table.filter(pc.invert(blank))
        return table.drop_columns(["nbytes", "blank"])

    def adds_up(self, size: int) -> bool:
        """Whether the lines cover the file exactly (the last may lack its line end)."""
        return self.offset in (size, size + self._terminator)


class FileScan:
    """Hashes the calls file on a thread and looks for the bytes the fast reader cannot take.

    A \\x01 would split a line. With LF line ends any carriage return is refused; with CRLF
    line ends every CR must be followed by LF and every LF preceded by CR, since DuckDB reads
    a stray CR or LF in CRLF mode as a line end while keeping the byte total right. Either
    problem sends the run to the line-by-line reader. hashlib and bytes.find/count release
    the GIL, so this overlaps DuckDB's work.
    """

    def __init__(self, path: Path, crlf: bool = False) -> None:
        self.path = path
        self.crlf = crlf
        self.sha256 = ""
        self.problem: str | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        digest = hashlib.sha256()
        cr = lf = crlf = 0
        last = b""
        try:
            with open(self.path, "rb") as fh:
                while block := fh.read(8 * 1024 * 1024):
                    digest.update(block)
                    if self.problem is not None:
                        continue
                    if block.find(b"\x01") >= 0:
                        self.problem = "it has \\x01 control bytes"
                    elif not self.crlf and block.find(b"\r") >= 0:
                        self.problem = "it has carriage returns but not CRLF line ends"
                    elif self.crlf:
                        cr += block.count(b"\r")
                        lf += block.count(b"\n")
                        crlf += block.count(b"\r\n") + (last == b"\r" and block[:1] == b"\n")
                        last = block[-1:]
            if self.crlf and self.problem is None and not cr == lf == crlf:
                self.problem = "it mixes CRLF line ends with lone CR or LF bytes"
            self.sha256 = digest.hexdigest()
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc

    def join(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error


def fast_reader_stop(message: str) -> str:
    """DuckDB's CSV wording, said in terms of the calls file."""
    line = re.search(r"Line: (\d+)", message)
    where = f"line {line.group(1)}" if line else "a line"
    if "unicode" in message.lower():
        return f"{where} is not valid UTF-8"
    if "maximum line size" in message.lower():
        return f"{where} is longer than {MAX_FAST_LINE // 2**20} MiB"
    first = message.splitlines()[0] if message else "unknown error"
    return f"the fast reader stopped at {where} ({first})"


_SIMPLE_ID = re.compile(r"[A-Za-z0-9_.:-]+")


def spot_check(con: duckdb.DuckDBPyConnection, calls: Path, staged: Path, lines: int) -> bool:
    """Re-read ~256 staged rows straight from the file at their byte offsets.

    The byte total proves no line was lost or split; this proves rows kept their order and
    offsets (so line numbers in the rejects, and raw text read back for duplicates, are
    right). A reject must match its line exactly; a kept row's plain call_id must be in it.
    """
    step = max(1, lines // 256)
    rows = con.execute(
        f"SELECT byte_offset, raw, call_id FROM read_parquet({sql_str(str(staged))}) "
        f"WHERE line_number % {step} = 1 % {step} LIMIT 512"
    ).fetchall()
    return rows_in_place(calls, rows)


def rows_in_place(calls: Path, rows: list[tuple[int, str | None, str | None]]) -> bool:
    """Whether each (byte_offset, raw of a reject, call_id of a kept row) matches the file."""
    with open(calls, "rb") as fh:
        for offset, raw, call_id in rows:
            fh.seek(offset)
            text = fh.readline().rstrip(b"\r\n").decode("utf-8", "replace")
            if raw is not None and raw != text:
                return False
            if raw is None and call_id and _SIMPLE_ID.fullmatch(call_id) and call_id not in text:
                return False
    return True


def read_spans(path: Path, offsets: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The text of lines whose start and byte length the fast reader counted (no line end)."""
    out: list[str] = []
    fd = os.open(path, os.O_RDONLY)
    try:
        for off, n in zip(offsets.tolist(), lengths.tolist(), strict=True):
            out.append(os.pread(fd, n, off).decode("utf-8", "backslashreplace"))
    finally:
        os.close(fd)
    return out


def read_lines_at(path: Path, offsets: np.ndarray) -> list[str]:
    """The original text of the lines starting at these byte offsets (duplicates are rare)."""
    out: list[str] = []
    with open(path, "rb") as fh:
        for off in offsets.tolist():
            fh.seek(off)
            out.append(fh.readline().rstrip(b"\r\n").decode("utf-8", "backslashreplace"))
    return out
