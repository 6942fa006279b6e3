"""Calls as NDJSON text: a fixed-width matrix of digits for ids and timestamps, dictionaries
for the rest, and a slower flexible path for the faults that change a line's structure."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from support_analytics import schema
from support_analytics.simulate.calls import Rows
from support_analytics.simulate.roster import agent_width
from support_analytics.simulate.world import (
    BAD_RATINGS,
    BAD_TIMESTAMPS,
    CLEAN,
    F_BAD_TS,
    F_GARBAGE,
    F_MISSING_TS,
    F_TRUNCATED,
    F_UNKNOWN_AGENT,
    FAST_FAULTS,
    GARBAGE_LINES,
    ISSUE_STRINGS,
    N_BAD_TS,
    N_ISSUE_STATES,
    N_RATING_STATES,
    N_RES_STATES,
    N_TAILS,
    REGIONS,
    RESOLUTION_STRINGS,
    TAIL_ABSENT,
    TAIL_BAD0,
    TAIL_NULL,
    TRUNCATE_MIN_KEEP,
)


# --- text -------------------------------------------------------------------------------------
@cache
def _digit_table(width: int) -> np.ndarray:
    """All ``width``-digit zero-padded numbers as fixed-size byte records (``V{width}``)."""
    digits = np.empty((10**width, width), dtype=np.uint8)
    rest = np.arange(10**width)
    for col in range(width - 1, -1, -1):
        rest, digits[:, col] = np.divmod(rest, 10)
    digits += ord("0")
    return digits.view(f"V{width}").ravel()


@cache
def _clock_table() -> np.ndarray:
    """``HH:MM:SS`` for every second of a day, as 8-byte records."""
    clock = np.full((86_400, 8), ord(":"), dtype=np.uint8)
    hour, rest = np.divmod(np.arange(86_400), 3600)
    minute, second = np.divmod(rest, 60)
    two = _digit_table(2)
    for col, part in ((0, hour), (3, minute), (6, second)):
        _column(clock, col, 2)[:] = two[part]
    return clock.view("V8").ravel()


def _column(mat: np.ndarray, col: int, width: int) -> np.ndarray:
    """A view of ``mat[:, col:col+width]`` as one ``width``-byte record per row."""
    return np.ndarray(
        (mat.shape[0],), dtype=f"V{width}", buffer=mat, offset=col, strides=(mat.shape[1],)
    )


class _FixedWidth:
    """A fixed-width text layout: literal bytes with digit slots, rendered as a uint8 matrix.

    The matrix becomes an Arrow string array without a copy, because every row has the same
    width: offsets are just ``i * width``. Slots are filled by table look-ups (a gather and a
    strided store per field), far cheaper than per-digit arithmetic.
    """

    def __init__(self, *segments: bytes | tuple[str, int]) -> None:
        template = bytearray()
        self.slots: list[tuple[str, int, int]] = []
        for seg in segments:
            if isinstance(seg, bytes):
                template += seg
                continue
            kind, width = seg
            self.slots.append((kind, len(template), width))
            template += b"0000-00-00T00:00:00" if kind == "ts" else b"0" * width
        self.template = np.frombuffer(bytes(template), dtype=np.uint8)
        self.width = len(template)

    def render(
        self, values: Sequence[np.ndarray], valid: np.ndarray | None = None
    ) -> pa.StringArray:
        n = len(values[0]) if values else 0
        mat = np.empty((n, self.width), dtype=np.uint8)
        mat[:] = self.template
        for (kind, col, width), vals in zip(self.slots, values, strict=True):
            if kind == "ts":
                _put_timestamps(mat, col, vals)
            else:
                _put_digits(mat, col, width, vals)
        offsets = np.arange(0, (n + 1) * self.width, self.width, dtype=np.int32)
        bitmap = None
        if valid is not None and not valid.all():
            bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat), bitmap)


def _put_digits(mat: np.ndarray, col: int, width: int, values: np.ndarray) -> None:
    """Zero-padded decimal ``values`` (each < 10**width) into ``mat[:, col:col+width]``."""
    v = values.astype(np.int64)
    end = col + width
    while end > col:
        step = min(4, end - col)
        if end - step > col:
            v, low = np.divmod(v, 10**step)
        else:
            low = v
        _column(mat, end - step, step)[:] = _digit_table(step)[low]
        end -= step


def _put_timestamps(mat: np.ndarray, col: int, secs: np.ndarray) -> None:
    """``YYYY-MM-DDTHH:MM:SS`` of epoch seconds into ``mat[:, col:col+19]`` (the T is preset)."""
    if len(secs) == 0:
        return
    days, sod = np.divmod(secs, 86_400)
    first, last = int(days.min()), int(days.max())
    # A chunk spans a handful of days: format each day once, then look it up per row.
    dates = np.datetime_as_string(np.arange(first, last + 1).astype("datetime64[D]"))
    table = np.frombuffer(dates.astype("S10").tobytes(), dtype="V10")
    _column(mat, col, 10)[:] = table[days - first]
    _column(mat, col + 11, 8)[:] = _clock_table()[sod]


def _strings(values: Sequence[str]) -> pa.StringArray:
    return pa.array(list(values), type=pa.string())


def _take(dictionary: pa.StringArray, idx: np.ndarray, valid: np.ndarray | None = None) -> Any:
    mask = None if valid is None else ~valid
    return dictionary.take(pa.array(idx, type=pa.int32(), mask=mask))


@cache
def _dictionaries() -> dict[str, pa.StringArray]:
    """The small text pieces lines are assembled from (independent of the arguments)."""
    q = '"'
    tails = ["Z" + q, q] + [r.offset_text + q for r in REGIONS]
    ratings = [f',"{schema.RATING}":{i}' for i in range(1, 6)]
    ratings += [f',"{schema.RATING}":null', ""]
    ratings += [f',"{schema.RATING}":{bad}' for bad in BAD_RATINGS]
    bodies = [
        f',"{schema.ISSUE_TYPE}":"{issue}","{schema.RESOLUTION}":"{res}"{rating}}}'
        for issue in ISSUE_STRINGS
        for res in RESOLUTION_STRINGS
        for rating in ratings
    ]

    def field_tails(key: str) -> list[str]:
        bad = [f',"{key}":{value}' for value in BAD_TIMESTAMPS]
        return tails + ["", f',"{key}":null', *bad]

    return {
        # Fast path: the end timestamp's suffix, then the rest of the line, newline included.
        "rest": _strings([tail + body + "\n" for tail in tails for body in bodies]),
        "tail": _strings(tails),
        # Flexible path.
        "body": _strings(bodies),
        "start_tail": _strings(field_tails(schema.START_TIME)),
        "end_tail": _strings(field_tails(schema.END_TIME)),
        "garbage": _strings(GARBAGE_LINES),
    }


class Renderer:
    """Turns a chunk of ``Rows`` into NDJSON bytes."""

    def __init__(self, *, agents: int, calls: int, customers: int) -> None:
        wc = max(9, len(str(calls)))
        wa = agent_width(agents)
        wu = max(7, len(str(customers)))
        q = '"'
        call, agent, customer = schema.CALL_ID, schema.AGENT_ID, schema.CUSTOMER_ID
        start, end = schema.START_TIME, schema.END_TIME
        # Fast path: '{..call_id..agent_id..customer_id.."start_time":"2026-..:SS' in one run.
        self.head = _FixedWidth(
            f'{{"{call}":"C'.encode(),
            ("int", wc),
            f'","{agent}":"A'.encode(),
            ("int", wa),
            f'","{customer}":"CU'.encode(),
            ("int", wu),
            f'","{start}":"'.encode(),
            ("ts", 19),
        )
        self.end = _FixedWidth(f',"{end}":"'.encode(), ("ts", 19))
        # Flexible path: one piece per field so any piece can be swapped out.
        self.call = _FixedWidth(f'{{"{call}":"C'.encode(), ("int", wc), q.encode())
        self.customer = _FixedWidth(f',"{customer}":"CU'.encode(), ("int", wu), q.encode())
        self.start_ts = _FixedWidth(f',"{start}":"'.encode(), ("ts", 19))
        self.agent_pieces = _strings(
            [f',"{agent}":"A{i + 1:0{wa}d}"' for i in range(agents)]
            + [f',"{agent}":"{bad}"' for bad in ("A999x", "A" + "0" * wa, f"A{agents + 1:0{wa}d}")]
        )
        self.agents = agents
        self.n_unknown = len(self.agent_pieces) - agents
        self.dicts = _dictionaries()

    def render(self, rows: Rows) -> pa.Buffer:
        n = len(rows)
        if n == 0:
            return pa.py_buffer(b"")
        fast = np.isin(rows.fault, (CLEAN, *FAST_FAULTS))
        rest_idx = (
            (rows.tail.astype(np.int32) * N_ISSUE_STATES + rows.issue) * N_RES_STATES
            + rows.resolution
        ) * N_RATING_STATES + rows.rating
        args = [
            self.head.render(
                [rows.call_no, rows.agent + 1, rows.customer, rows.start_wall], valid=fast
            ),
            _take(self.dicts["tail"], rows.tail, fast),
            self.end.render([rows.end_wall], valid=fast),
            _take(self.dicts["rest"], rest_idx, fast),
        ]
        slow = np.flatnonzero(~fast)
        if len(slow):
            args.append(_scatter(n, slow, self._render_flexible(rows.take(slow))))
        lines = pc.binary_join_element_wise(*args, "", null_handling="skip")
        offsets = _offsets(lines)
        if lines.null_count:  # a bug, not bad input: every row renders
            raise RuntimeError("simulate: a call line failed to render")
        return lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))

    def _render_flexible(self, rows: Rows) -> pa.StringArray:
        """Lines for rows whose structure is faulty, one JSON member at a time."""
        m = len(rows)
        fault, variant = rows.fault, rows.variant
        agent_code = rows.agent.copy()
        unknown = fault == F_UNKNOWN_AGENT
        agent_code[unknown] = self.agents + variant[unknown] % self.n_unknown

        start_tail = rows.tail.astype(np.int32)
        end_tail = start_tail.copy()
        start_epoch = np.zeros(m, dtype=bool)
        end_epoch = np.zeros(m, dtype=bool)
        missing = fault == F_MISSING_TS
        on_end = variant % 2 == 1
        as_null = (variant // 2) % 2 == 1
        code = np.where(as_null, TAIL_NULL, TAIL_ABSENT)
        start_tail[missing & ~on_end] = code[missing & ~on_end]
        end_tail[missing & on_end] = code[missing & on_end]
        bad = fault == F_BAD_TS
        which = (variant // 2) % N_BAD_TS
        epoch = which == N_BAD_TS - 1
        code = np.where(epoch, TAIL_ABSENT, TAIL_BAD0 + which)
        start_tail[bad & ~on_end] = code[bad & ~on_end]
        end_tail[bad & on_end] = code[bad & on_end]
        start_epoch[bad & ~on_end & epoch] = True
        end_epoch[bad & on_end & epoch] = True

        body_idx = (
            rows.issue.astype(np.int32) * N_RES_STATES + rows.resolution
        ) * N_RATING_STATES + rows.rating
        start_ok = start_tail < N_TAILS
        end_ok = end_tail < N_TAILS
        pieces = [
            self.call.render([rows.call_no]),
            _take(self.agent_pieces, agent_code),
            self.customer.render([rows.customer]),
            self.start_ts.render([rows.start_wall], valid=start_ok),
            _epoch_patch(
                _take(self.dicts["start_tail"], start_tail),
                start_epoch,
                rows.start_utc,
                schema.START_TIME,
            ),
            self.end.render([rows.end_wall], valid=end_ok),
            _epoch_patch(
                _take(self.dicts["end_tail"], end_tail), end_epoch, rows.end_utc, schema.END_TIME
            ),
            _take(self.dicts["body"], body_idx),
        ]
        lines = pc.binary_join_element_wise(*pieces, "", null_handling="skip")

        trunc = np.flatnonzero(fault == F_TRUNCATED)
        if len(trunc):
            whole = lines.take(pa.array(trunc))
            length = np.diff(_offsets(whole))
            # Keep at least a recognisable prefix, always lose the closing brace.
            keep = TRUNCATE_MIN_KEEP + (rows.cut[trunc] * (length - 1 - TRUNCATE_MIN_KEEP)).astype(
                np.int64
            )
            lines = pc.replace_with_mask(
                lines, pa.array(fault == F_TRUNCATED), _prefixes(whole, keep)
            )
        garbage = fault == F_GARBAGE
        if garbage.any():
            junk = _take(self.dicts["garbage"], variant[garbage] % len(GARBAGE_LINES))
            lines = pc.replace_with_mask(lines, pa.array(garbage), junk)
        return pc.binary_join_element_wise(lines, "\n", "")


def _epoch_patch(tails: Any, where: np.ndarray, epoch: np.ndarray, key: str) -> Any:
    """Swap in ``,"key":<epoch seconds>`` (a bare integer) where asked."""
    if not where.any():
        return tails
    numbers = pc.cast(pa.array(epoch[where]), pa.string())
    text = pc.binary_join_element_wise(f',"{key}":', numbers, "")
    return pc.replace_with_mask(tails, pa.array(where), text)


def _offsets(strings: pa.StringArray) -> np.ndarray:
    """The int32 value offsets of a string array (respecting a sliced array's offset)."""
    first = strings.offset
    raw = np.frombuffer(strings.buffers()[1], dtype=np.int32, count=first + len(strings) + 1)
    return raw[first:]


def _prefixes(strings: pa.StringArray, keep: np.ndarray) -> pa.StringArray:
    """The first ``keep[i]`` bytes of each string (ASCII input, so any cut is valid UTF-8)."""
    n = len(strings)
    offsets = _offsets(strings)
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)
    new_offsets = np.concatenate([[0], np.cumsum(keep)]).astype(np.int32)
    src = np.arange(new_offsets[-1], dtype=np.int64) + np.repeat(
        offsets[:-1] - new_offsets[:-1], keep
    )
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(data[src]))


def _scatter(n: int, rows: np.ndarray, values: pa.StringArray) -> pa.StringArray:
    """A length-``n`` string array holding ``values`` at ``rows`` (sorted) and nulls elsewhere."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    offsets = _offsets(values)
    lengths = np.zeros(n, dtype=np.int64)
    lengths[rows] = np.diff(offsets)
    data = values.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    valid = np.zeros(n, dtype=bool)
    valid[rows] = True
    new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), data, bitmap)
