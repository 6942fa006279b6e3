"""Synthetic support-call logs: realistic enough to exercise the dashboard, dirty enough to
exercise the cleaner, fast enough to make the 10M-row files the ETL is benchmarked on.

The simulator writes ``sample_calls.json`` (NDJSON, one call per line) and ``agents.csv``.
Everything is drawn from one ``numpy.random.default_rng(seed)`` stream in a fixed order, so the
same arguments give byte-identical files. Calls are generated and written in chunks of
``CHUNK_CALLS`` rows with vectorised numpy/pyarrow code (no Python loop per call), which keeps
peak memory flat however many calls are asked for.

How a chunk becomes text: most of a line is a fixed-width run of digits and literals (ids,
timestamps), rendered as a ``uint8`` matrix and handed to Arrow without a copy; the variable
pieces (offset suffix, issue type, resolution, rating) come from precomputed dictionaries via
``take``; one ``binary_join_element_wise`` glues the pieces. Faults that change a line's
structure (truncated, garbage, missing or unparseable timestamp, unknown agent) go through a
slower, more flexible path for just those rows and are spliced back in as an override column.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import operator
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from support_analytics import schema
from support_analytics.config import (
    SIM_AGENTS_NAME,
    SIM_CALLS_NAME,
    SIM_DEFAULT_AGENTS,
    SIM_DEFAULT_CALLS,
    SIM_DEFAULT_DAYS,
    SIM_DEFAULT_DIRTY_RATE,
    SIM_DEFAULT_SEED,
    SIM_DEFAULT_START,
)
from support_analytics.progress import Progress

#: Calls generated and written per chunk. Part of the output's identity: a different chunk size
#: consumes the random stream in a different order, so files differ (still valid, still seeded).
CHUNK_CALLS = 200_000

SPLIT_DAILY = "daily"
#: How the calls are laid out: one file (None) or one file per simulated day.
SPLITS: tuple[str | None, ...] = (None, SPLIT_DAILY)


def daily_calls_name(day: datetime.date) -> str:
    """The file a daily split writes a day's calls to; names sort in day order."""
    return f"calls-{day.isoformat()}.json"


# --- the simulated world ------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    """A support centre: fixed UTC offset (no DST, to keep local time unambiguous) and hours."""

    name: str
    utc_offset_minutes: int
    agent_share: float
    open_hour: float = 8.0
    close_hour: float = 20.0

    @property
    def offset_text(self) -> str:
        sign = "+" if self.utc_offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(self.utc_offset_minutes), 60)
        return f"{sign}{hours:02d}:{minutes:02d}"


REGIONS: tuple[Region, ...] = (
    Region("North America East", -5 * 60, 0.30),
    Region("North America West", -8 * 60, 0.18),
    Region("Europe", 1 * 60, 0.24),
    Region("Asia Pacific", 8 * 60, 0.16),
    Region("Latin America", -3 * 60, 0.12),
)


@dataclass(frozen=True)
class IssueType:
    """Share of calls, log-normal duration (median minutes, sigma) and base resolution mix."""

    name: str
    share: float
    median_minutes: float
    sigma: float
    resolution_probs: tuple[float, float, float]  # resolved, escalated, unresolved


ISSUE_TYPES: tuple[IssueType, ...] = (
    IssueType("billing", 0.27, 6.5, 0.55, (0.78, 0.10, 0.12)),
    IssueType("technical", 0.25, 13.0, 0.65, (0.62, 0.20, 0.18)),
    IssueType("account", 0.18, 5.0, 0.50, (0.80, 0.09, 0.11)),
    IssueType("shipping", 0.16, 4.5, 0.50, (0.74, 0.11, 0.15)),
    IssueType("returns", 0.14, 7.5, 0.55, (0.70, 0.13, 0.17)),
)
RESOLUTIONS: tuple[str, ...] = ("resolved", "escalated", "unresolved")

#: Relative call volume Monday..Sunday.
WEEKDAY_WEIGHTS = (1.30, 1.12, 1.05, 1.00, 0.92, 0.38, 0.22)
#: Share of calls that are rated; of the rest, half carry ``"rating":null``, half omit the key.
RATED_SHARE = 0.65
#: Share of calls the customer pool is sized at (a pool smaller than calls => repeat callers).
CUSTOMER_POOL_SHARE = 0.8
#: Chance a call is a follow-up to an earlier call by the same customer 1..6 local days before.
FOLLOW_UP_SHARE = 0.21
FOLLOW_UP_GAP_WEIGHTS = (0.30, 0.22, 0.16, 0.12, 0.10, 0.10)  # 1..6 days back
#: Relative chance an earlier call of each outcome is the one followed up (resolved, esc, unres).
FOLLOW_UP_ACCEPT = (0.15, 1.0, 1.0)
_FOLLOW_UP_TRIES = 4
#: Timestamp styles: UTC with Z, local wall time with the region's offset, naive UTC.
STYLE_SHARES = (0.60, 0.30, 0.10)
RATING_MEANS = (4.3, 3.0, 2.1)  # by resolution
#: Local time of day (hours): (share, mean, sd) of a late-morning and a mid-afternoon peak over
#: a flat floor across business hours (sd 0 marks the flat part).
TIME_OF_DAY_PEAKS = ((0.42, 10.75, 1.1), (0.42, 14.5, 1.3), (0.16, 0.0, 0.0))

FIRST_NAMES = (
    "Aisha", "Alejandro", "Amara", "Anna", "Ben", "Carlos", "Chen", "Chloe", "Daniel", "Diego",
    "Elena", "Emma", "Fatima", "Gabriel", "Hana", "Hiroshi", "Isabel", "James", "Jin", "Julia",
    "Kwame", "Laura", "Liam", "Lucas", "Maria", "Mateo", "Mei", "Mohammed", "Nadia", "Noah",
    "Olivia", "Omar", "Priya", "Rafael", "Ravi", "Sara", "Sofia", "Tomás", "Yuki", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adeyemi", "Andersen", "Bauer", "Chen", "Costa", "Dubois", "Fernández", "García", "Gupta",
    "Haddad", "Ito", "Johnson", "Kim", "Kowalski", "Lee", "Lopez", "Martin", "Müller",
    "Nakamura", "Nguyen", "O'Brien", "Okafor", "Patel", "Petrov", "Rossi", "Santos", "Schmidt",
    "Silva", "Singh", "Smith, Jr.", "Suzuki", "Tanaka", "Taylor", "Wang", "Williams", "Wong",
    "Yilmaz", "Zhang", "de la Cruz", "van Dijk",
)  # fmt: skip

# --- injected faults ----------------------------------------------------------------------
#: Fault kinds, spread evenly over the dirty lines (one fault per dirty line).
FAULT_KINDS: tuple[str, ...] = (
    "truncated_json",
    "garbage_line",
    "missing_timestamp",
    "invalid_timestamp",
    "end_not_after_start",
    "unknown_agent",
    "duplicate_call_id",
    "invalid_rating",
    "odd_casing",
)
(
    _F_TRUNCATED,
    _F_GARBAGE,
    _F_MISSING_TS,
    _F_BAD_TS,
    _F_END_BEFORE,
    _F_UNKNOWN_AGENT,
    _F_DUPLICATE,
    _F_BAD_RATING,
    _F_CASING,
) = range(len(FAULT_KINDS))
_CLEAN = -1
#: Faults rendered by the fast path (they only change numbers or dictionary choices).
_FAST_FAULTS = (_F_END_BEFORE, _F_DUPLICATE, _F_BAD_RATING, _F_CASING)

GARBAGE_LINES = (
    "ERROR 502 Bad Gateway: upstream connect error or disconnect/reset before headers",
    "<html><body><h1>503 Service Unavailable</h1></body></html>",
    "call_id,agent_id,customer_id,start_time,end_time,issue_type,resolution,rating",
    "Traceback (most recent call last): ConnectionResetError: [Errno 104]",
    "-- log rotated by logrotate; previous segment archived --",
    "Ã©chec de connexion â€” rÃ©essayer plus tard",
    "undefined undefined undefined",
)
#: Unparseable timestamp values (JSON text); the last variant is the call's epoch integer.
BAD_TIMESTAMPS = ('"not-a-date"', '"2026-13-45T99:00:00Z"', '"05/01/2026 09:13"')
_N_BAD_TS = len(BAD_TIMESTAMPS) + 1
BAD_RATINGS = ("0", "7", "-1", "4.5", '"five"')
_CASINGS = 4  # number of odd spellings per issue type / resolution
_DUP_LOOKBACK = 1000  # a duplicate repeats one of the last this-many clean call ids
_TRUNCATE_MIN_KEEP = 16

# Rating states: 0..4 -> 1..5, then null, absent, then BAD_RATINGS.
_RATING_NULL = 5
_RATING_ABSENT = 6
_RATING_BAD0 = 7
_N_RATING_STATES = _RATING_BAD0 + len(BAD_RATINGS)
# Offset-suffix ("tail") codes: 0 'Z', 1 naive, 2 + region -> local offset.
_TAIL_Z = 0
_TAIL_NAIVE = 1
_N_TAILS = 2 + len(REGIONS)
# Extra tails used in place of a whole timestamp by the flexible path.
_TAIL_ABSENT = _N_TAILS
_TAIL_NULL = _N_TAILS + 1
_TAIL_BAD0 = _N_TAILS + 2


def _odd_spellings(word: str) -> tuple[str, ...]:
    cap = word.capitalize()
    return (f"  {cap} ", word.upper(), cap, f" {word}  ")


_ISSUE_STRINGS: tuple[str, ...] = tuple(
    s for it in ISSUE_TYPES for s in (it.name, *_odd_spellings(it.name))
)
_RESOLUTION_STRINGS: tuple[str, ...] = tuple(
    s for r in RESOLUTIONS for s in (r, *_odd_spellings(r))
)
_N_ISSUE_STATES = len(_ISSUE_STRINGS)
_N_RES_STATES = len(_RESOLUTION_STRINGS)


# --- public API -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulationSummary:
    """What ``simulate`` wrote, for the CLI to print and for tests to check."""

    calls_path: Path
    agents_path: Path
    calls_written: int  # lines written to the calls file (including dirty ones)
    agents_written: int
    dirty_lines: int  # lines with an injected fault
    seconds: float


def simulate(
    out_dir: Path | str,
    *,
    calls: int = SIM_DEFAULT_CALLS,
    agents: int = SIM_DEFAULT_AGENTS,
    days: int = SIM_DEFAULT_DAYS,
    start: str | datetime.date = SIM_DEFAULT_START,
    seed: int = SIM_DEFAULT_SEED,
    dirty_rate: float = SIM_DEFAULT_DIRTY_RATE,
    progress: bool = True,
    split: str | None = None,
) -> SimulationSummary:
    """Write ``sample_calls.json`` and ``agents.csv`` into ``out_dir`` (created if needed).

    ``split="daily"`` writes one ``calls-YYYY-MM-DD.json`` per simulated day instead (the
    shape a telephony export drops), so the incremental ETL can be tried without real data;
    ``calls_path`` is then the folder.

    Both files appear atomically (temp file + ``os.replace``), so a reader never sees half a
    file. About ``dirty_rate`` of the call lines carry exactly one injected fault (see
    ``FAULT_KINDS``) so that the cleaner has something to reject. Raises ``ValueError`` for
    arguments that cannot describe a simulation.
    """
    began = time.perf_counter()
    calls = _as_int("calls", calls, minimum=0)
    agents = _as_int("agents", agents, minimum=1)
    days = _as_int("days", days, minimum=1)
    seed = _as_int("seed", seed, minimum=0)
    start_date = _as_date(start, days)
    dirty_rate = _as_rate(dirty_rate)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(str, SPLITS))}, got {split!r}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    calls_path = out / SIM_CALLS_NAME
    agents_path = out / SIM_AGENTS_NAME

    rng = np.random.default_rng(seed)
    roster = _Roster.make(rng, agents)
    with _atomic_writer(agents_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(schema.AGENT_COLUMNS)
        writer.writerows(roster.csv_rows())

    generator = _CallGenerator(rng, roster, calls, days, start_date, dirty_rate)
    renderer = _Renderer(agents=agents, calls=calls, customers=generator.customer_pool)
    bar = Progress("simulate", enabled=progress)
    dirty = 0
    if split == SPLIT_DAILY:
        calls_path = out
        files = [
            (out / daily_calls_name(start_date + datetime.timedelta(days=d)), lo, hi)
            for d, (lo, hi) in enumerate(generator.day_ranges())
            if hi > lo  # a day without calls gets no file (an empty file is refused)
        ]
    else:
        files = [(calls_path, 0, calls)]
    try:
        for path, first, end in files:
            with _atomic_writer(path, "wb") as fh:
                for lo in range(first, end, CHUNK_CALLS):
                    rows = generator.chunk(lo, min(lo + CHUNK_CALLS, end))
                    data = renderer.render(rows)
                    fh.write(data)
                    dirty += int(np.count_nonzero(rows.fault != _CLEAN))
                    bar.update(rows=len(rows), nbytes=len(data))
    finally:
        bar.close()
    return SimulationSummary(
        calls_path=calls_path,
        agents_path=agents_path,
        calls_written=calls,
        agents_written=agents,
        dirty_lines=dirty,
        seconds=time.perf_counter() - began,
    )


# --- argument checks ------------------------------------------------------------------------
def _as_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def _as_rate(value: Any) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"dirty_rate must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= rate <= 1.0:  # also rejects NaN
        raise ValueError(f"dirty_rate must be in [0, 1], got {value!r}")
    return rate


def _as_date(value: Any, days: int) -> datetime.date:
    if isinstance(value, datetime.datetime):
        parsed = value.date()
    elif isinstance(value, datetime.date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"start must be an ISO date like 2026-01-05, got {value!r}") from None
    else:
        raise ValueError(f"start must be an ISO date string or a date, got {value!r}")
    try:  # the last local day, plus one for late-evening calls that end after UTC midnight
        parsed + datetime.timedelta(days=days + 1)
    except OverflowError:
        raise ValueError(f"start {parsed} + {days} days runs past the year 9999") from None
    return parsed


# --- atomic output --------------------------------------------------------------------------
@contextlib.contextmanager
def _atomic_writer(path: Path, mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    """Write to a temp file next to ``path`` and rename it over ``path`` only on success."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary data files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --- agents -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Roster:
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
    def make(cls, rng: np.random.Generator, agents: int) -> _Roster:
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
                    _sampling_table(load[members], width)
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
        width = _agent_width(len(self))
        for i, (name, region) in enumerate(zip(self.names, self.region.tolist(), strict=True)):
            yield f"A{i + 1:0{width}d}", name, REGIONS[region].name


def _agent_width(agents: int) -> int:
    return max(3, len(str(agents)))


_SAMPLE_SLOTS = 4096


def _sampling_table(
    weights: Sequence[float] | np.ndarray, slots: int = _SAMPLE_SLOTS
) -> np.ndarray:
    """Category of each of ``slots`` equal slices of [0, 1), in proportion to ``weights``.

    Drawing a uniform slot and looking it up is a categorical draw quantised to 1/slots: much
    cheaper per call than ``searchsorted`` on a CDF, and precise enough for a simulation.
    """
    cdf = np.cumsum(weights, dtype=np.float64)
    cdf /= cdf[-1]
    centres = (np.arange(slots) + 0.5) / slots
    return np.minimum(np.searchsorted(cdf, centres, side="right"), len(cdf) - 1)


def _draw(rng: np.random.Generator, table: np.ndarray, n: int) -> np.ndarray:
    return table[rng.integers(0, len(table), n)]


def _time_order(start: np.ndarray) -> np.ndarray:
    """The permutation sorting ``start``, ties by position.

    Sorting unique keys (time << bits | position) gives the same permutation whatever sort
    algorithm numpy picks on this CPU, so output stays byte-identical across machines, and the
    default (SIMD) sort is several times faster than a stable argsort.
    """
    n = len(start)
    bits = max(1, (n - 1).bit_length())
    keys = ((start - start.min()) << bits) | np.arange(n, dtype=np.int64)
    return np.sort(keys) & ((1 << bits) - 1)


# --- calls ------------------------------------------------------------------------------------
@dataclass
class _Rows:
    """One chunk of calls in output order, as numbers; the renderer turns them into text."""

    call_no: np.ndarray  # the number in call_id (a duplicate repeats an earlier one)
    agent: np.ndarray  # 0-based agent index
    customer: np.ndarray  # 1-based customer number
    start_utc: np.ndarray  # epoch seconds
    end_utc: np.ndarray
    start_wall: np.ndarray  # epoch seconds of the wall time as written (UTC or local)
    end_wall: np.ndarray
    tail: np.ndarray  # offset-suffix code (_TAIL_*)
    issue: np.ndarray  # issue-state: issue * (1 + _CASINGS) + spelling
    resolution: np.ndarray  # resolution-state, same layout
    rating: np.ndarray  # rating state (see _N_RATING_STATES)
    fault: np.ndarray  # index into FAULT_KINDS or _CLEAN
    variant: np.ndarray  # random int choosing the flavour of the fault
    cut: np.ndarray  # where a truncated line is cut, as a share of its length

    def __len__(self) -> int:
        return len(self.call_no)

    def take(self, idx: np.ndarray) -> _Rows:
        return _Rows(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


class _CallGenerator:
    """Draws calls chunk by chunk from one random stream.

    Calls are laid out by (local day, region) blocks whose sizes are drawn up front, so a
    chunk knows each call's day and region. A follow-up call picks an earlier call of the same
    region 1..6 days before (preferring unresolved/escalated ones) and takes its customer; a
    rolling history of the last days' customers and outcomes makes that work across chunks.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        roster: _Roster,
        calls: int,
        days: int,
        start: datetime.date,
        dirty_rate: float,
    ) -> None:
        self.rng = rng
        self.roster = roster
        self.calls = calls
        self.dirty_rate = dirty_rate
        self.customer_pool = max(1, round(calls * CUSTOMER_POOL_SHARE))
        self.day0 = (start - datetime.date(1970, 1, 1)).days * 86400
        n_regions = len(REGIONS)

        weekday = (start.weekday() + np.arange(days)) % 7
        day_weight = np.array(WEEKDAY_WEIGHTS)[weekday] * np.exp(rng.normal(0.0, 0.08, days))
        per_day = rng.multinomial(calls, day_weight / day_weight.sum())
        per_block = rng.multinomial(per_day, roster.region_weights())  # (days, regions)
        self.block_start = np.concatenate([[0], np.cumsum(per_block.ravel())]).astype(np.int64)
        self.n_regions = n_regions

        self.offset_s = np.array([r.utc_offset_minutes * 60 for r in REGIONS], dtype=np.int64)
        self.open_h = np.array([r.open_hour for r in REGIONS])
        self.close_h = np.array([r.close_hour for r in REGIONS])
        self.issue_table = _sampling_table([it.share for it in ISSUE_TYPES])
        self.median_s = np.array([it.median_minutes * 60 for it in ISSUE_TYPES])
        self.sigma = np.array([it.sigma for it in ISSUE_TYPES])
        self.gap_table = _sampling_table(FOLLOW_UP_GAP_WEIGHTS)
        self.style_table = _sampling_table(STYLE_SHARES)
        self.peak_table = _sampling_table([share for share, _, _ in TIME_OF_DAY_PEAKS])
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

    def chunk(self, lo: int, hi: int) -> _Rows:
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
        peak = _draw(rng, self.peak_table, n)
        hour = self.peak_mean[peak] + self.peak_sd[peak] * rng.standard_normal(n)
        open_h, close_h = self.open_h[region], self.close_h[region]
        flat = open_h + rng.random(n) * (close_h - open_h)
        hour = np.where((self.peak_sd[peak] == 0) | (hour < open_h) | (hour >= close_h), flat, hour)
        start = self.day0 + day * 86400 + (hour * 3600).astype(np.int64) - self.offset_s[region]
        order = _time_order(start)
        start = start[order]
        region = region[order]

        # Everything else is drawn directly in output (time) order.
        agent = self.roster.pick(rng, region)
        skill = self.roster.skill[agent]
        issue = _draw(rng, self.issue_table, n)
        median = self.median_s[issue]
        duration = median * np.exp(self.sigma[issue] * rng.standard_normal(n) - 0.12 * skill)
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
            u < unrated / 2, _RATING_NULL, np.where(u < unrated, _RATING_ABSENT, stars - 1)
        ).astype(np.int8)

        by_block = np.empty_like(outcome)
        by_block[order] = outcome
        customer = self._customers(lo, hi, day, block, by_block)[order]

        style = _draw(rng, self.style_table, n)
        local = style == 1
        tail = np.where(local, 2 + region, np.where(style == 0, _TAIL_Z, _TAIL_NAIVE))
        rows = _Rows(
            call_no=np.arange(lo + 1, hi + 1, dtype=np.int64),
            agent=agent,
            customer=customer + 1,
            start_utc=start,
            end_utc=start + duration,
            start_wall=start,
            end_wall=start,
            tail=tail.astype(np.int8),
            issue=(issue * (1 + _CASINGS)).astype(np.int8),
            resolution=(outcome * (1 + _CASINGS)).astype(np.int8),
            rating=rating,
            fault=np.full(n, _CLEAN, dtype=np.int8),
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
        back = _draw(rng, self.gap_table, n) + 1
        wants = rng.random(n) < FOLLOW_UP_SHARE
        parent_block = block - back * self.n_regions  # same region, `back` days earlier
        ok = wants & (day - back >= 0)
        parent_block = np.where(ok, parent_block, 0)
        size = bs[parent_block + 1] - bs[parent_block]
        follow = np.flatnonzero(ok & (size > 0))

        m = len(follow)
        first = bs[parent_block[follow]]
        tries = first[:, None] + (rng.random((m, _FOLLOW_UP_TRIES)) * size[follow][:, None]).astype(
            np.int64
        )
        outcomes = np.concatenate([self.hist_outcome, outcome])
        accept = (
            rng.random((m, _FOLLOW_UP_TRIES))
            < np.array(FOLLOW_UP_ACCEPT)[outcomes[tries - self.hist_lo]]
        )
        chosen = np.where(accept.any(axis=1), accept.argmax(axis=1), _FOLLOW_UP_TRIES - 1)
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

    def _inject_faults(self, rows: _Rows) -> None:
        """Choose dirty lines and apply the faults that are just different numbers."""
        rng = self.rng
        n = len(rows)
        dirty = np.flatnonzero(rng.random(n) < self.dirty_rate)
        rows.fault[dirty] = rng.integers(0, len(FAULT_KINDS), len(dirty))

        # End before (or at) start.
        bad = np.flatnonzero(rows.fault == _F_END_BEFORE)
        duration = rows.end_utc[bad] - rows.start_utc[bad]
        back = (rng.random(len(bad)) * duration).astype(np.int64)
        back[rows.variant[bad] % 4 == 0] = 0  # a quarter end exactly at the start
        rows.end_utc[bad] = rows.start_utc[bad] - back

        # Duplicate call_id: repeat a recent clean line's id.
        clean = rows.fault == _CLEAN
        pool = np.concatenate([self.recent_clean, rows.call_no[clean]])
        dup = np.flatnonzero(rows.fault == _F_DUPLICATE)
        before = len(self.recent_clean) + np.cumsum(clean)[dup] - clean[dup]
        orphan = before == 0  # nothing clean before it: make it garbage instead
        rows.fault[dup[orphan]] = _F_GARBAGE
        dup, before = dup[~orphan], before[~orphan]
        reach = np.minimum(before, _DUP_LOOKBACK)
        rows.call_no[dup] = pool[before - 1 - (rng.random(len(dup)) * reach).astype(np.int64)]
        self.recent_clean = pool[-_DUP_LOOKBACK:]

        trunc = rows.fault == _F_TRUNCATED
        rows.cut[trunc] = rng.random(int(np.count_nonzero(trunc)))

        # Faults that pick a dictionary entry.
        sel = rows.fault == _F_BAD_RATING
        rows.rating[sel] = _RATING_BAD0 + rows.variant[sel] % len(BAD_RATINGS)
        sel = rows.fault == _F_CASING
        spelling = (1 + (rows.variant[sel] // 2) % _CASINGS).astype(np.int8)
        on_issue = rows.variant[sel] % 2 == 0
        rows.issue[sel] += np.where(on_issue, spelling, 0).astype(np.int8)
        rows.resolution[sel] += np.where(on_issue, 0, spelling).astype(np.int8)


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
        for issue in _ISSUE_STRINGS
        for res in _RESOLUTION_STRINGS
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


class _Renderer:
    """Turns a chunk of ``_Rows`` into NDJSON bytes."""

    def __init__(self, *, agents: int, calls: int, customers: int) -> None:
        wc = max(9, len(str(calls)))
        wa = _agent_width(agents)
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

    def render(self, rows: _Rows) -> pa.Buffer:
        n = len(rows)
        if n == 0:
            return pa.py_buffer(b"")
        fast = np.isin(rows.fault, (_CLEAN, *_FAST_FAULTS))
        rest_idx = (
            (rows.tail.astype(np.int32) * _N_ISSUE_STATES + rows.issue) * _N_RES_STATES
            + rows.resolution
        ) * _N_RATING_STATES + rows.rating
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

    def _render_flexible(self, rows: _Rows) -> pa.StringArray:
        """Lines for rows whose structure is faulty, one JSON member at a time."""
        m = len(rows)
        fault, variant = rows.fault, rows.variant
        agent_code = rows.agent.copy()
        unknown = fault == _F_UNKNOWN_AGENT
        agent_code[unknown] = self.agents + variant[unknown] % self.n_unknown

        start_tail = rows.tail.astype(np.int32)
        end_tail = start_tail.copy()
        start_epoch = np.zeros(m, dtype=bool)
        end_epoch = np.zeros(m, dtype=bool)
        missing = fault == _F_MISSING_TS
        on_end = variant % 2 == 1
        as_null = (variant // 2) % 2 == 1
        code = np.where(as_null, _TAIL_NULL, _TAIL_ABSENT)
        start_tail[missing & ~on_end] = code[missing & ~on_end]
        end_tail[missing & on_end] = code[missing & on_end]
        bad = fault == _F_BAD_TS
        which = (variant // 2) % _N_BAD_TS
        epoch = which == _N_BAD_TS - 1
        code = np.where(epoch, _TAIL_ABSENT, _TAIL_BAD0 + which)
        start_tail[bad & ~on_end] = code[bad & ~on_end]
        end_tail[bad & on_end] = code[bad & on_end]
        start_epoch[bad & ~on_end & epoch] = True
        end_epoch[bad & on_end & epoch] = True

        body_idx = (
            rows.issue.astype(np.int32) * _N_RES_STATES + rows.resolution
        ) * _N_RATING_STATES + rows.rating
        start_ok = start_tail < _N_TAILS
        end_ok = end_tail < _N_TAILS
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

        trunc = np.flatnonzero(fault == _F_TRUNCATED)
        if len(trunc):
            whole = lines.take(pa.array(trunc))
            length = np.diff(_offsets(whole))
            # Keep at least a recognisable prefix, always lose the closing brace.
            keep = _TRUNCATE_MIN_KEEP + (
                rows.cut[trunc] * (length - 1 - _TRUNCATE_MIN_KEEP)
            ).astype(np.int64)
            lines = pc.replace_with_mask(
                lines, pa.array(fault == _F_TRUNCATED), _prefixes(whole, keep)
            )
        garbage = fault == _F_GARBAGE
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


__all__ = [
    "CHUNK_CALLS",
    "FAULT_KINDS",
    "ISSUE_TYPES",
    "REGIONS",
    "RESOLUTIONS",
    "SimulationSummary",
    "simulate",
]
