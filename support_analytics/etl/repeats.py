"""Repeated call_ids found in one pass, through 64-bit hashes of the ids kept so far.

The one-pass path (``one_pass.py``) cannot GROUP BY over rows it has not staged, so it asks
this set, batch by batch and in input order, which rows repeat an earlier id's hash. A hash
match is a candidate only: the caller proves each one (two ids can share a hash).
"""

from __future__ import annotations

import numpy as np


class SeenIds:
    """The 64-bit hashes of the call_ids kept so far, to find later repeats in one pass.

    Sorted runs merged like an LSM tree keep 8 bytes per kept call; a bit map indexed by
    the hash's top bits answers "certainly new" for all but a few percent of ids, so only
    those are searched for in the runs. A batch's hashes are sorted first, so the map is
    read and written in address order and the runs are searched with sorted probes (random
    access into either was most of the cost). A hash match is only a candidate:
    :func:`~support_analytics.etl.one_pass.stage_one_pass` proves the repeats against the
    written output, since two different call_ids may share a hash.
    """

    def __init__(self, expected: int) -> None:
        bits = int(np.clip(np.ceil(np.log2(max(expected, 1) * 16)), 19, 28))
        self._map = np.zeros(1 << (bits - 3), dtype=np.uint8)
        self._byte_shift = np.uint64(64 - (bits - 3))  # the top bits pick the byte,
        self._bit_shift = np.uint64(64 - bits)  # the next three the bit in it
        self._runs: list[np.ndarray] = []
        self._tiers: list[int] = []

    def repeats(self, keys: np.ndarray) -> np.ndarray:
        """Positions in ``keys`` whose hash was seen before (earlier batches or rows)."""
        if not len(keys):
            return np.zeros(0, dtype=np.intp)
        ordered = np.sort(keys)
        first = np.ones(len(ordered), dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        repeat = np.zeros(len(keys), dtype=bool)
        if not first.all():  # copies within the batch: mark all but the first of each
            near = _member(ordered[~first], keys)
            _, firsts = np.unique(keys[near], return_index=True)  # in row order: first wins
            repeat[near] = True
            repeat[near[firsts]] = False
        slots = (ordered >> self._byte_shift).astype(np.intp)  # ascending
        bits = np.left_shift(
            np.uint8(1), ((ordered >> self._bit_shift) & np.uint64(7)).astype(np.uint8)
        )
        probe = ordered[first & ((self._map[slots] & bits) != 0)]  # sorted
        if len(probe):
            hit = np.zeros(len(probe), dtype=bool)
            for run in self._runs:
                at = np.minimum(np.searchsorted(run, probe), len(run) - 1)
                hit |= run[at] == probe
            if hit.any():
                seen = probe[hit]
                repeat[_member(seen, keys)] = True  # every copy of an id seen before
                first[_member(seen, ordered)] = False  # old ids: not in the new run
        starts = np.flatnonzero(np.concatenate(([True], slots[1:] != slots[:-1])))
        self._map[slots[starts]] |= np.bitwise_or.reduceat(bits, starts)
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
            merged = np.concatenate(self._runs[-_FANOUT:])
            tier = self._tiers[-1] + 1
            del self._runs[-_FANOUT:], self._tiers[-_FANOUT:]  # freed before the sort's buffer
            merged.sort(kind="stable")  # in place: sorted runs, so a merge
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
