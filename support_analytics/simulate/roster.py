"""The agents: names, regions and the sampling tables calls are drawn from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from support_analytics.simulate.world import FIRST_NAMES, ISSUE_TYPES, LAST_NAMES, REGIONS


# --- agents -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Roster:
    """Agents: region, name, load (share of their region's calls) and skill (a z-score)."""

    region: np.ndarray  # int64 index into REGIONS
    names: tuple[str, ...]
    skill: np.ndarray
    load: np.ndarray
    resolved_cdf: np.ndarray  # (agents * issue types,) P(resolved)
    escalated_cdf: np.ndarray  # (agents * issue types,) P(resolved or escalated)
    pick_table: np.ndarray  # (regions * pick_width,) agent per slot, see pick()
    pick_width: int

    @classmethod
    def make(cls, rng: np.random.Generator, agents: int) -> Roster:
        n_regions = len(REGIONS)
        shares = np.array([r.agent_share for r in REGIONS])
        first = rng.permutation(n_regions)[: min(agents, n_regions)]  # every region staffed
        rest = rng.choice(n_regions, size=agents - len(first), p=shares / shares.sum())
        region = rng.permutation(np.concatenate([first, rest]).astype(np.int64))

        combos = len(FIRST_NAMES) * len(LAST_NAMES)
        picks = rng.choice(combos, size=agents, replace=agents > combos)
        names = tuple(
            f"{FIRST_NAMES[p // len(LAST_NAMES)]} {LAST_NAMES[p % len(LAST_NAMES)]}"
            for p in picks.tolist()
        )
        skill = rng.standard_normal(agents)
        load = rng.gamma(4.0, 1.0, agents)

        # Resolution mix: base mix of the issue type, tilted by skill in log space.
        base = np.log(np.array([it.resolution_probs for it in ISSUE_TYPES]))  # (issues, 3)
        tilt = np.array([0.45, -0.10, -0.35])
        logits = base[None, :, :] + skill[:, None, None] * tilt[None, None, :]
        probs = np.exp(logits)
        probs /= probs.sum(axis=2, keepdims=True)
        cdf = np.cumsum(probs, axis=2)

        # Each region's agents laid out over `width` slots in proportion to their load, so
        # picking an agent is one random slot and one look-up (at least 8 slots per agent).
        most = int(np.bincount(region, minlength=n_regions).max())
        width = 1 << max(_SAMPLE_SLOTS.bit_length() - 1, (8 * most - 1).bit_length())
        pick_table = np.zeros(n_regions * width, dtype=np.int64)
        for r in range(n_regions):  # per region, not per agent
            members = np.flatnonzero(region == r)
            if len(members):
                pick_table[r * width : (r + 1) * width] = members[
                    sampling_table(load[members], width)
                ]
        return cls(
            region=region,
            names=names,
            skill=skill,
            load=load,
            resolved_cdf=cdf[:, :, 0].ravel(),
            escalated_cdf=cdf[:, :, 1].ravel(),
            pick_table=pick_table,
            pick_width=width,
        )

    def __len__(self) -> int:
        return len(self.names)

    def region_weights(self) -> np.ndarray:
        """Share of all calls each region takes: the summed load of its agents."""
        weights = np.bincount(self.region, weights=self.load, minlength=len(REGIONS))
        return weights / weights.sum()

    def pick(self, rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
        """An agent of each call's region, busier agents more often."""
        slot = rng.integers(0, self.pick_width, len(region))
        return self.pick_table[region * self.pick_width + slot]

    def csv_rows(self) -> Iterator[tuple[str, str, str]]:
        width = agent_width(len(self))
        for i, (name, region) in enumerate(zip(self.names, self.region.tolist(), strict=True)):
            yield f"A{i + 1:0{width}d}", name, REGIONS[region].name


def agent_width(agents: int) -> int:
    return max(3, len(str(agents)))


_SAMPLE_SLOTS = 4096


def sampling_table(weights: Sequence[float] | np.ndarray, slots: int = _SAMPLE_SLOTS) -> np.ndarray:
    """Category of each of ``slots`` equal slices of [0, 1), in proportion to ``weights``.

    Drawing a uniform slot and looking it up is a categorical draw quantised to 1/slots: much
    cheaper per call than ``searchsorted`` on a CDF, and precise enough for a simulation.
    """
    cdf = np.cumsum(weights, dtype=np.float64)
    cdf /= cdf[-1]
    centres = (np.arange(slots) + 0.5) / slots
    return np.minimum(np.searchsorted(cdf, centres, side="right"), len(cdf) - 1)


def draw(rng: np.random.Generator, table: np.ndarray, n: int) -> np.ndarray:
    return table[rng.integers(0, len(table), n)]


def time_order(start: np.ndarray) -> np.ndarray:
    """The permutation sorting ``start``, ties by position.

    Sorting unique keys (time << bits | position) gives the same permutation whatever sort
    algorithm numpy picks on this CPU, so output stays byte-identical across machines, and the
    default (SIMD) sort is several times faster than a stable argsort.
    """
    n = len(start)
    bits = max(1, (n - 1).bit_length())
    keys = ((start - start.min()) << bits) | np.arange(n, dtype=np.int64)
    return np.sort(keys) & ((1 << bits) - 1)
