"""The simulated world: regions with their time zones and sizes, issue types, the weekly and
daily rhythm, who calls back, and the faults a dirty feed carries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

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


FOLLOW_UP_TRIES = 4


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
    F_TRUNCATED,
    F_GARBAGE,
    F_MISSING_TS,
    F_BAD_TS,
    F_END_BEFORE,
    F_UNKNOWN_AGENT,
    F_DUPLICATE,
    F_BAD_RATING,
    F_CASING,
) = range(len(FAULT_KINDS))


CLEAN = -1


#: Faults rendered by the fast path (they only change numbers or dictionary choices).
FAST_FAULTS = (F_END_BEFORE, F_DUPLICATE, F_BAD_RATING, F_CASING)


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


N_BAD_TS = len(BAD_TIMESTAMPS) + 1


BAD_RATINGS = ("0", "7", "-1", "4.5", '"five"')


CASINGS = 4  # number of odd spellings per issue type / resolution


DUP_LOOKBACK = 1000  # a duplicate repeats one of the last this-many clean call ids


TRUNCATE_MIN_KEEP = 16


# Rating states: 0..4 -> 1..5, then null, absent, then BAD_RATINGS.
RATING_NULL = 5


RATING_ABSENT = 6


RATING_BAD0 = 7


N_RATING_STATES = RATING_BAD0 + len(BAD_RATINGS)


# Offset-suffix ("tail") codes: 0 'Z', 1 naive, 2 + region -> local offset.
TAIL_Z = 0


TAIL_NAIVE = 1


N_TAILS = 2 + len(REGIONS)


# Extra tails used in place of a whole timestamp by the flexible path.
TAIL_ABSENT = N_TAILS


TAIL_NULL = N_TAILS + 1


TAIL_BAD0 = N_TAILS + 2


def _odd_spellings(word: str) -> tuple[str, ...]:
    cap = word.capitalize()
    return (f"  {cap} ", word.upper(), cap, f" {word}  ")


ISSUE_STRINGS: tuple[str, ...] = tuple(
    s for it in ISSUE_TYPES for s in (it.name, *_odd_spellings(it.name))
)


RESOLUTION_STRINGS: tuple[str, ...] = tuple(s for r in RESOLUTIONS for s in (r, *_odd_spellings(r)))


N_ISSUE_STATES = len(ISSUE_STRINGS)


N_RES_STATES = len(RESOLUTION_STRINGS)
