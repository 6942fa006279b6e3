"""SeenIds: exactly the later repeats of a hash, across and within batches."""

from __future__ import annotations

import numpy as np
import pytest

from support_analytics.etl.repeats import SeenIds


def first_repeats(keys: np.ndarray) -> np.ndarray:
    """Positions of keys seen at an earlier position: the exact answer."""
    _, first = np.unique(keys, return_index=True)
    return np.setdiff1d(np.arange(len(keys)), first)


@pytest.mark.parametrize("batch", [1, 7, 1000, 4096])
def test_seen_ids_finds_exactly_the_later_repeats(batch: int) -> None:
    rng = np.random.default_rng(batch)
    keys = rng.integers(0, 2**63, 20_000, dtype=np.int64).astype(np.uint64)
    keys[rng.integers(0, len(keys), 3000)] = keys[rng.integers(0, len(keys), 3000)]
    keys[5000:5010] = keys[4000]  # a run of copies inside one batch and across batches
    seen = SeenIds(len(keys))
    found = [seen.repeats(keys[a : a + batch]) + a for a in range(0, len(keys), batch)]
    assert np.array_equal(np.sort(np.concatenate(found)), first_repeats(keys))


def test_seen_ids_stays_exact_when_its_bit_map_is_full() -> None:
    # A tiny map answers "maybe" for nearly every id; the sorted runs must still decide.
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**20, 30_000, dtype=np.int64).astype(np.uint64)
    seen = SeenIds(1)
    found = [seen.repeats(keys[a : a + 500]) + a for a in range(0, len(keys), 500)]
    assert np.array_equal(np.sort(np.concatenate(found)), first_repeats(keys))


def test_an_empty_batch_is_no_repeat() -> None:
    seen = SeenIds(10)
    assert len(seen.repeats(np.zeros(0, dtype=np.uint64))) == 0
    assert seen.repeats(np.array([5, 5], dtype=np.uint64)).tolist() == [1]
