"""Calls as numbers: when, who, about what, how long, how it ended, and which fault it carries
(one chunk of vectorised draws, no Python loop per call)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields

import numpy as np

from support_analytics.simulate import plant
from support_analytics.simulate.roster import Roster, draw, sampling_table, time_order
from support_analytics.simulate.world import (
    BAD_RATINGS,
    CASINGS,
    CLEAN,
    CUSTOMER_POOL_SHARE,
    DUP_LOOKBACK,
    F_BAD_RATING,
    F_CASING,
    F_DUPLICATE,
    F_END_BEFORE,
    F_GARBAGE,
    F_TRUNCATED,
    FAULT_KINDS,
    FOLLOW_UP_ACCEPT,
    FOLLOW_UP_GAP_WEIGHTS,
    FOLLOW_UP_SHARE,
    FOLLOW_UP_TRIES,
    ISSUE_TYPES,
    RATED_SHARE,
    RATING_ABSENT,
    RATING_BAD0,
    RATING_MEANS,
    RATING_NULL,
    REGIONS,
    STYLE_SHARES,
    TAIL_NAIVE,
    TAIL_Z,
    TIME_OF_DAY_PEAKS,
    WEEKDAY_WEIGHTS,
)


# --- calls ------------------------------------------------------------------------------------
@dataclass
class Rows:
    """One chunk of calls in output order, as numbers; the renderer turns them into text."""

    call_no: np.ndarray  # the number in call_id (a duplicate repeats an earlier one)
    agent: np.ndarray  # 0-based agent index
    customer: np.ndarray  # 1-based customer number
    start_utc: np.ndarray  # epoch seconds
    end_utc: np.ndarray
    start_wall: np.ndarray  # epoch seconds of the wall time as written (UTC or local)
    end_wall: np.ndarray
    tail: np.ndarray  # offset-suffix code (_TAIL_*)
    issue: np.ndarray  # issue-state: issue * (1 + CASINGS) + spelling
    resolution: np.ndarray  # resolution-state, same layout
    rating: np.ndarray  # rating state (see N_RATING_STATES)
    fault: np.ndarray  # index into FAULT_KINDS or CLEAN
    variant: np.ndarray  # random int choosing the flavour of the fault
    cut: np.ndarray  # where a truncated line is cut, as a share of its length

    def __len__(self) -> int:
        return len(self.call_no)

    def take(self, idx: np.ndarray) -> Rows:
        return Rows(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


class CallGenerator:
    """Draws calls chunk by chunk from one random stream.

    Calls are laid out by (local day, region) blocks whose sizes are drawn up front, so a
    chunk knows each call's day and region. A follow-up call picks an earlier call of the same
    region 1..6 days before (preferring unresolved/escalated ones) and takes its customer; a
    rolling history of the last days' customers and outcomes makes that work across chunks.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        roster: Roster,
        calls: int,
        days: int,
        start: datetime.date,
        dirty_rate: float,
        plan: plant.Plan | None = None,
    ) -> None:
        self.rng = rng
        self.plan = plan
        # the plan's own stream, apart from the main one (same seed, another spawn key)
        self.plan_rng = np.random.default_rng([plan.seed, 1]) if plan is not None else None
        self.roster = roster if plan is None else plant.with_escalation(roster, plan)
        self.calls = calls
        self.dirty_rate = dirty_rate
        self.customer_pool = max(1, round(calls * CUSTOMER_POOL_SHARE))
        self.day0 = (start - datetime.date(1970, 1, 1)).days * 86400
        n_regions = len(REGIONS)

        weekday = (start.weekday() + np.arange(days)) % 7
        day_weight = np.array(WEEKDAY_WEIGHTS)[weekday] * np.exp(rng.normal(0.0, 0.08, days))
        if plan is None:
            per_day = rng.multinomial(calls, day_weight / day_weight.sum())
            per_block = rng.multinomial(per_day, roster.region_weights())  # (days, regions)
        else:
            day_weight = day_weight * plant.day_factors(plan, days, roster.region_weights())
            per_day = rng.multinomial(calls, day_weight / day_weight.sum())
            tilted = plant.region_weights_by_day(plan, days, roster.region_weights())
            per_block = rng.multinomial(per_day, tilted)
        self.block_start = np.concatenate([[0], np.cumsum(per_block.ravel())]).astype(np.int64)
        self.n_regions = n_regions

        self.offset_s = np.array([r.utc_offset_minutes * 60 for r in REGIONS], dtype=np.int64)
        self.open_h = np.array([r.open_hour for r in REGIONS])
        self.close_h = np.array([r.close_hour for r in REGIONS])
        self.issue_table = sampling_table([it.share for it in ISSUE_TYPES])
        self.median_s = np.array([it.median_minutes * 60 for it in ISSUE_TYPES])
        self.sigma = np.array([it.sigma for it in ISSUE_TYPES])
        self.gap_table = sampling_table(FOLLOW_UP_GAP_WEIGHTS)
        self.style_table = sampling_table(STYLE_SHARES)
        self.peak_table = sampling_table([share for share, _, _ in TIME_OF_DAY_PEAKS])
        self.peak_mean = np.array([mean for _, mean, _ in TIME_OF_DAY_PEAKS])
        self.peak_sd = np.array([sd for _, _, sd in TIME_OF_DAY_PEAKS])

        # Rolling history (block order) for follow-ups: customers and outcomes from hist_lo on.
        self.hist_lo = 0
        self.hist_customer = np.empty(0, dtype=np.int64)
        self.hist_outcome = np.empty(0, dtype=np.int8)
        # Recent clean call numbers, for duplicate call_id faults.
        self.recent_clean = np.empty(0, dtype=np.int64)

    def day_ranges(self) -> list[tuple[int, int]]:
        """(first, end) call positions of each local day, in day order."""
        starts = self.block_start[:: self.n_regions]
        return [(int(starts[d]), int(starts[d + 1])) for d in range(len(starts) - 1)]

    def _day_of(self, pos: int) -> int:
        block = int(np.searchsorted(self.block_start, pos, side="right")) - 1
        return block // self.n_regions

    def chunk(self, lo: int, hi: int) -> Rows:
        """Calls ``lo..hi-1`` (positions in block order), returned sorted by start time."""
        rng = self.rng
        n = hi - lo
        bs = self.block_start
        k0 = int(np.searchsorted(bs, lo, side="right")) - 1
        k1 = int(np.searchsorted(bs, hi - 1, side="right")) - 1
        ks = np.arange(k0, k1 + 1)
        block = np.repeat(ks, np.minimum(bs[ks + 1], hi) - np.maximum(bs[ks], lo))
        day, region = np.divmod(block, self.n_regions)

        # Local time of day within business hours, then the UTC instant.
        peak = draw(rng, self.peak_table, n)
        hour = self.peak_mean[peak] + self.peak_sd[peak] * rng.standard_normal(n)
        open_h, close_h = self.open_h[region], self.close_h[region]
        flat = open_h + rng.random(n) * (close_h - open_h)
        hour = np.where((self.peak_sd[peak] == 0) | (hour < open_h) | (hour >= close_h), flat, hour)
        start = self.day0 + day * 86400 + (hour * 3600).astype(np.int64) - self.offset_s[region]
        order = time_order(start)
        start = start[order]
        region = region[order]

        # Everything else is drawn directly in output (time) order.
        agent = self.roster.pick(rng, region)
        skill = self.roster.skill[agent]
        issue = draw(rng, self.issue_table, n)
        if self.plan is not None:
            issue = plant.issues(self.plan, self.plan_rng, issue, day[order])
        median = self.median_s[issue]
        duration = median * np.exp(self.sigma[issue] * rng.standard_normal(n) - 0.12 * skill)
        if self.plan is not None:
            duration = plant.durations(self.plan, duration, day[order])
        duration = np.clip(np.rint(duration), 30, 4 * 3600).astype(np.int64)

        pair = agent * len(ISSUE_TYPES) + issue
        u = rng.random(n)
        outcome = (u >= self.roster.resolved_cdf[pair]).astype(np.int8)
        outcome += u >= self.roster.escalated_cdf[pair]

        mean = np.array(RATING_MEANS)[outcome] + 0.3 * skill - 0.3 * np.log(duration / median)
        stars = np.clip(np.rint(mean + rng.normal(0.0, 0.8, n)), 1, 5).astype(np.int8)
        u = rng.random(n)
        unrated = 1.0 - RATED_SHARE
        rating = np.where(
            u < unrated / 2, RATING_NULL, np.where(u < unrated, RATING_ABSENT, stars - 1)
        ).astype(np.int8)

        by_block = np.empty_like(outcome)
        by_block[order] = outcome
        customer = self._customers(lo, hi, day, block, by_block)[order]

        style = draw(rng, self.style_table, n)
        local = style == 1
        tail = np.where(local, 2 + region, np.where(style == 0, TAIL_Z, TAIL_NAIVE))
        rows = Rows(
            call_no=np.arange(lo + 1, hi + 1, dtype=np.int64),
            agent=agent,
            customer=customer + 1,
            start_utc=start,
            end_utc=start + duration,
            start_wall=start,
            end_wall=start,
            tail=tail.astype(np.int8),
            issue=(issue * (1 + CASINGS)).astype(np.int8),
            resolution=(outcome * (1 + CASINGS)).astype(np.int8),
            rating=rating,
            fault=np.full(n, CLEAN, dtype=np.int8),
            variant=rng.integers(0, 1 << 30, n),
            cut=np.zeros(n),
        )
        self._inject_faults(rows)
        shift = np.where(local, self.offset_s[region], 0)
        rows.start_wall = rows.start_utc + shift
        rows.end_wall = rows.end_utc + shift
        return rows

    def _customers(
        self, lo: int, hi: int, day: np.ndarray, block: np.ndarray, outcome: np.ndarray
    ) -> np.ndarray:
        """0-based customer of each call (block order); follow-ups reuse an earlier customer."""
        rng = self.rng
        n = hi - lo
        bs = self.block_start
        back = draw(rng, self.gap_table, n) + 1
        wants = rng.random(n) < FOLLOW_UP_SHARE
        parent_block = block - back * self.n_regions  # same region, `back` days earlier
        ok = wants & (day - back >= 0)
        parent_block = np.where(ok, parent_block, 0)
        size = bs[parent_block + 1] - bs[parent_block]
        follow = np.flatnonzero(ok & (size > 0))

        m = len(follow)
        first = bs[parent_block[follow]]
        tries = first[:, None] + (rng.random((m, FOLLOW_UP_TRIES)) * size[follow][:, None]).astype(
            np.int64
        )
        outcomes = np.concatenate([self.hist_outcome, outcome])
        accept = (
            rng.random((m, FOLLOW_UP_TRIES))
            < np.array(FOLLOW_UP_ACCEPT)[outcomes[tries - self.hist_lo]]
        )
        chosen = np.where(accept.any(axis=1), accept.argmax(axis=1), FOLLOW_UP_TRIES - 1)
        parent = tries[np.arange(m), chosen] - self.hist_lo

        # Follow parent pointers to the first call of each chain (pointer jumping). Pointers
        # are positions from hist_lo; history entries are already resolved, so only this
        # chunk's rows (>= h) need following.
        h = len(self.hist_customer)
        fresh = rng.integers(0, self.customer_pool, n)
        root = np.arange(h, h + n)
        root[follow] = parent
        while True:
            inside = np.flatnonzero(root >= h)
            nxt = root[root[inside] - h]
            if np.array_equal(nxt, root[inside]):
                break
            root[inside] = nxt
        inside = root >= h
        customers = np.where(inside, fresh[np.where(inside, root - h, 0)], 0)
        customers[~inside] = self.hist_customer[root[~inside]]

        # Keep only what a later chunk can still refer to: six days before its first day.
        keep_from = self.hist_lo
        if hi < self.calls:
            first_day = self._day_of(hi)
            gap_days = len(FOLLOW_UP_GAP_WEIGHTS)
            keep_from = max(keep_from, int(bs[max(0, first_day - gap_days) * self.n_regions]))
        cut = keep_from - self.hist_lo
        self.hist_customer = np.concatenate([self.hist_customer[cut:], customers])[
            max(0, cut - h) :
        ]
        self.hist_outcome = outcomes[cut:]
        self.hist_lo = keep_from
        return customers

    def _inject_faults(self, rows: Rows) -> None:
        """Choose dirty lines and apply the faults that are just different numbers."""
        rng = self.rng
        n = len(rows)
        dirty = np.flatnonzero(rng.random(n) < self.dirty_rate)
        rows.fault[dirty] = rng.integers(0, len(FAULT_KINDS), len(dirty))

        # End before (or at) start.
        bad = np.flatnonzero(rows.fault == F_END_BEFORE)
        duration = rows.end_utc[bad] - rows.start_utc[bad]
        back = (rng.random(len(bad)) * duration).astype(np.int64)
        back[rows.variant[bad] % 4 == 0] = 0  # a quarter end exactly at the start
        rows.end_utc[bad] = rows.start_utc[bad] - back

        # Duplicate call_id: repeat a recent clean line's id.
        clean = rows.fault == CLEAN
        pool = np.concatenate([self.recent_clean, rows.call_no[clean]])
        dup = np.flatnonzero(rows.fault == F_DUPLICATE)
        before = len(self.recent_clean) + np.cumsum(clean)[dup] - clean[dup]
        orphan = before == 0  # nothing clean before it: make it garbage instead
        rows.fault[dup[orphan]] = F_GARBAGE
        dup, before = dup[~orphan], before[~orphan]
        reach = np.minimum(before, DUP_LOOKBACK)
        rows.call_no[dup] = pool[before - 1 - (rng.random(len(dup)) * reach).astype(np.int64)]
        self.recent_clean = pool[-DUP_LOOKBACK:]

        trunc = rows.fault == F_TRUNCATED
        rows.cut[trunc] = rng.random(int(np.count_nonzero(trunc)))

        # Faults that pick a dictionary entry.
        sel = rows.fault == F_BAD_RATING
        rows.rating[sel] = RATING_BAD0 + rows.variant[sel] % len(BAD_RATINGS)
        sel = rows.fault == F_CASING
        spelling = (1 + (rows.variant[sel] // 2) % CASINGS).astype(np.int8)
        on_issue = rows.variant[sel] % 2 == 0
        rows.issue[sel] += np.where(on_issue, spelling, 0).astype(np.int8)
        rows.resolution[sel] += np.where(on_issue, 0, spelling).astype(np.int8)
