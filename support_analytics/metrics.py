"""Every number the report shows, computed by DuckDB over the cleaned Parquet.

Nothing here loads every row into pandas: each function runs one aggregate query and returns a
small DataFrame or plain Python values (``int``/``float``/``str``/``None``, never numpy
scalars), so notebooks stay thin and the numbers are testable without a kernel.

Definitions (also on the site's About page):

- **calls**: rows of the cleaned Parquet.
- **AHT** (average handle time): mean ``call_duration_minutes``, summed exactly as integer
  hundredths of a minute (durations have 2 decimals), so the page's in-browser sums agree with
  it to the last digit.
- **CSAT**: mean rating of rated calls; **CSAT 4+**: share of rated calls with rating >= 4.
- **resolution rate**: share of calls with resolution ``resolved``;
  **escalation rate**: share with resolution ``escalated``.
- **repeat-call rate**: share of calls whose customer's next call (over the whole dataset, every
  region) starts within 7 days after this call's start. Calls without a customer id never count
  as repeated.
- **FCR** (first-contact resolution): share of calls resolved and not repeated within 7 days.
- **previous period**: the same number of days just before the reporting period; every KPI is
  computed for both so the report can show a delta.
- **reporting period**: by default the last 28 days ending at the latest ``call_date`` in the
  whole dataset, so every page covers the same dates.

A rate over zero calls is ``None`` (shown as "–"), never an exception.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from filelock import FileLock

from support_analytics import config, storage
from support_analytics import schema as s

RESOLVED = "resolved"
ESCALATED = "escalated"
REPEAT_WINDOW_DAYS = 7
GOOD_RATING = 4
DEFAULT_PERIOD_DAYS = 28
#: The duration histogram's bins: 2-minute bins, the last one open (40 minutes and more).
DURATION_BIN_MINUTES = 2.0
DURATION_MAX_MINUTES = 40.0
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: The KPIs in display order: (key, True when higher is better, None when neutral).
KPI_DIRECTIONS: dict[str, bool | None] = {
    "calls": None,
    "aht": False,
    "csat": True,
    "csat_good_share": True,
    "resolution_rate": True,
    "fcr": True,
    "repeat_rate": False,
    "escalation_rate": False,
}
KPI_KEYS: tuple[str, ...] = tuple(KPI_DIRECTIONS)
#: Unknown agents (ids missing from agents.csv: no name, no region) listed one by one in the
#: leaderboard, busiest over the whole history first; the rest share one row named
#: OTHER_UNKNOWN_AGENTS, so a feed full of garbage agent ids cannot flood the page. Every KPI
#: still counts all their calls.
LEADERBOARD_UNKNOWN_AGENTS = 100
OTHER_UNKNOWN_AGENTS = "Other unknown agents"
_FLAGS_VERSION = 1  # bump when _flagged_sql changes, so old caches are not reused
#: Where the repeat-flag cache of an s3:// dataset goes (it cannot sit beside the data).
REMOTE_CACHE_DIR_NAME = "support-analytics-cache"

_REDACTED = "<redacted>"


# --------------------------------------------------------------------------------------------
# Sources and segments
# --------------------------------------------------------------------------------------------
def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Remote:
    """An s3:// dataset as one listing saw it: the fsspec filesystem DuckDB reads through, the
    URL, whether it is a (partitioned) folder, and its Parquet objects' (key, size, ETag)."""

    fs: Any
    url: str
    is_dir: bool
    files: tuple[tuple[str, int, str], ...]


def _remote(path: str) -> _Remote:
    """List a remote dataset once (one ``info``, plus one ``find`` for a folder)."""
    fs, url = storage.filesystem(path)
    key = fs._strip_protocol(url).rstrip("/")
    if fs.isdir(key):
        found = fs.find(key, detail=True)
        files = tuple(
            (name[len(key) + 1 :], int(info.get("size") or 0), _remote_tag(info))
            for name, info in sorted(found.items())
            if info.get("type") != "directory" and name.endswith(".parquet")
        )
        return _Remote(fs, url.rstrip("/"), True, files)
    info = fs.info(key)  # FileNotFoundError (an OSError) when it does not exist
    return _Remote(fs, url, False, (("", int(info.get("size") or 0), _remote_tag(info)),))


def _remote_tag(info: dict[str, Any]) -> str:
    """What changes when an object is rewritten: its ETag, else its modification time."""
    return storage.etag(info) or str(info.get("LastModified") or info.get("mtime") or "")


def _dataset(path: Path | str) -> Path | _Remote:
    """A local path as is; a URL listed once, so one query does not list it repeatedly."""
    return _remote(str(path)) if storage.is_remote(path) else Path(path)


def _source(path: Path | str | _Remote) -> str:
    """A DuckDB table expression for one Parquet file or a Hive-partitioned folder of them.

    An s3:// URL is read through the fsspec filesystem registered on the connection
    (:func:`_connect`), since DuckDB's httpfs extension cannot be downloaded at run time.
    """
    if isinstance(path, str) and storage.is_remote(path):
        path = _remote(path)
    if isinstance(path, _Remote):
        if path.is_dir:
            return (
                f"read_parquet({_sql_str(path.url + '/**/*.parquet')}, hive_partitioning = true, "
                "union_by_name = true)"
            )
        return f"read_parquet({_sql_str(path.url)})"
    path = Path(path)
    if path.is_dir():
        return (
            f"read_parquet({_sql_str(str(path / '**' / '*.parquet'))}, hive_partitioning = true, "
            "union_by_name = true)"
        )
    return f"read_parquet({_sql_str(str(path))})"


def _connect(fs: Any = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection; ``fs`` (an fsspec filesystem) serves its URLs."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {_sql_str(config.DUCKDB_MEMORY_LIMIT)}")
    con.execute(f"SET threads = {int(config.DUCKDB_THREADS)}")
    if fs is not None:
        con.register_filesystem(fs)
    return con


def _is_empty_source(path: Path | _Remote) -> bool:
    """True when there is nothing to read (missing folder contents), so queries return no rows."""
    if isinstance(path, _Remote):
        return path.is_dir and not path.files
    return path.is_dir() and not any(path.rglob("*.parquet"))


@dataclass(frozen=True)
class Period:
    """An inclusive date range and the range of equal length just before it."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True)
class Segment:
    """What one dashboard page shows: a data source, the regions and issue types (None = all)
    and a period.

    ``region`` names the one region of a single-region page; ``regions`` is the general set
    (set from ``region`` when only that is given). A region filter keeps only calls whose
    region is in the set: calls of unknown agents (null region) count under "all regions"
    only. An issue filter matches ``coalesce(issue_type, '')``, so ``''`` selects the calls
    without an issue type, as the charts label them. An empty set selects no call.
    """

    path: Path | str  # a local Path or an s3:// URL (str)
    region: str | None
    period: Period
    regions: tuple[str, ...] | None = None
    issues: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        regions = _as_names("regions", self.regions)
        if self.region is not None:
            if regions is not None and regions != (self.region,):
                raise ValueError(f"region {self.region!r} contradicts regions {regions!r}")
            regions = (self.region,)
        object.__setattr__(self, "regions", regions)
        object.__setattr__(self, "issues", _as_names("issues", self.issues))

    def filters(self, alias: str = "") -> str:
        """SQL filter for this segment's regions and issue types (every date)."""
        col = f"{alias}." if alias else ""
        clauses = ["TRUE"]
        if self.regions is not None:
            clauses.append(_in_list(f"{col}{s.REGION}", self.regions))
        if self.issues is not None:
            clauses.append(_in_list(f"coalesce({col}{s.ISSUE_TYPE}, '')", self.issues))
        return " AND ".join(clauses)

    def where(self, period: Period | None = None, alias: str = "") -> str:
        """SQL filter for this segment's regions, issue types and (by default) its period."""
        p = period or self.period
        col = f"{alias}." if alias else ""
        return (
            f"{col}{s.CALL_DATE} BETWEEN DATE {_sql_str(p.start.isoformat())} "
            f"AND DATE {_sql_str(p.end.isoformat())} AND {self.filters(alias)}"
        )


def _as_names(what: str, values: Any) -> tuple[str, ...] | None:
    """A set of names as a sorted tuple without repeats (None stays None: no filter)."""
    if values is None:
        return None
    if isinstance(values, str):
        raise TypeError(f"{what} must be a collection of names, not the string {values!r}")
    names = tuple(values)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what} must hold strings, got {name!r}")
    return tuple(sorted(set(names)))


def _in_list(expr: str, values: tuple[str, ...]) -> str:
    if not values:
        return "FALSE"
    return f"{expr} IN ({', '.join(_sql_str(v) for v in values)})"


def _query(path: Path | str, sql: str) -> pd.DataFrame:
    """Run ``sql`` with ``calls`` (and ``flagged``: calls with their repeat flag) bound to the
    source; an empty source gives an empty result."""
    with connect(path, flagged="flagged" in sql) as con:
        return con.execute(sql).df()


@contextmanager
def connect(
    parquet_path: Path | str | None = None, flagged: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the views ``calls`` (the cleaned calls) and, unless ``flagged``
    is False, ``flagged`` (every call with its repeat flag over the whole history, from the
    :func:`prepare` cache when it can be written), for aggregate queries beyond this module's
    (the page's slice arrays). An empty source gives empty views."""
    data = _dataset(resolve_path(parquet_path))
    con = _connect(data.fs if isinstance(data, _Remote) else None)
    try:
        empty = _is_empty_source(data)
        if empty:
            con.register("calls_src", s.empty_cleaned_table())
            con.execute("CREATE VIEW calls AS SELECT * FROM calls_src")
        else:
            con.execute(f"CREATE VIEW calls AS SELECT * FROM {_source(data)}")
        if flagged:
            cached = None if empty else _prepare(data)
            source = f"read_parquet({_sql_str(str(cached))})" if cached else f"({_flagged_sql()})"
            con.execute(f"CREATE VIEW flagged AS SELECT * FROM {source}")
        yield con
    finally:
        con.close()


def _fingerprint(path: Path) -> str:
    """Names, sizes and mtimes of the Parquet file(s): changes whenever the ETL rewrites them."""
    digest = hashlib.sha256(f"flags-v{_FLAGS_VERSION}".encode())
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    for f in files:
        st = f.stat()
        digest.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _remote_fingerprint(data: _Remote) -> str:
    """Keys, sizes and ETags of the Parquet object(s), from the listing (nothing downloaded):
    a rewrite by the ETL changes the ETag even when the size stays the same."""
    digest = hashlib.sha256(f"flags-v{_FLAGS_VERSION}|{data.url}|{data.is_dir}".encode())
    for name, size, tag in data.files:
        digest.update(f"{name}|{size}|{tag}\n".encode())
    return digest.hexdigest()[:16]


def remote_cache_dir() -> Path:
    """The local folder holding the repeat-flag caches of s3:// datasets."""
    return Path(tempfile.gettempdir()) / REMOTE_CACHE_DIR_NAME


def prepare(parquet_path: Path | str | None = None) -> Path | None:
    """Compute every call's repeat flag once per version of the data and keep it beside it.

    The flag needs each customer's next call over the whole dataset, a window over every row;
    doing that once instead of in every KPI query of every page keeps a 10M-call report fast.
    The cache holds no customer ids and is sorted by call_date so period filters skip row
    groups. Returns None (queries then compute the flag inline) where the folder is read-only.
    For an s3:// dataset the cache is a local file in :func:`remote_cache_dir`, keyed by the
    objects' keys, sizes and ETags, so a rewrite on S3 is noticed without downloading it.
    """
    return _prepare(_dataset(resolve_path(parquet_path)))


def _prepare(data: Path | _Remote) -> Path | None:
    if isinstance(data, _Remote):
        folder = remote_cache_dir()
        stem = hashlib.sha256(data.url.encode("utf-8")).hexdigest()[:16]
        target = folder / f".{stem}.repeats-{_remote_fingerprint(data)}.parquet"
        fs = data.fs
    else:
        folder = data.parent
        stem = data.name
        target = folder / f".{stem}.repeats-{_fingerprint(data)}.parquet"
        fs = None
    if target.exists():
        return target
    try:
        if fs is not None:  # private: the cache holds call rows (never customer ids)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock"):
            if target.exists():
                return target
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            con = _connect(fs)
            try:
                con.execute(f"CREATE VIEW calls AS SELECT * FROM {_source(data)}")
                con.execute(
                    f"COPY (SELECT * EXCLUDE ({s.CUSTOMER_ID}) FROM ({_flagged_sql()}) "
                    f"ORDER BY {s.CALL_DATE}, {s.START_TIME}, {s.CALL_ID}) "
                    f"TO {_sql_str(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
                )
            finally:
                con.close()
            os.replace(tmp, target)
        for stale in folder.glob(f".{stem}.repeats-*"):
            if stale.name not in (target.name, target.name + ".lock"):
                stale.unlink(missing_ok=True)
    except OSError:
        return None
    return target


def _plain(value: Any) -> Any:
    """numpy/pandas scalars and NaN/NaT to plain Python (None for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def resolve_path(parquet_path: Path | str | None) -> Path | str:
    """The Parquet to read: the given path (a Path, or an s3:// URL kept as str), or the
    configured default output."""
    return storage.as_path(parquet_path) if parquet_path is not None else config.DEFAULT_OUTPUT


def data_range(parquet_path: Path | str | None = None) -> tuple[date | None, date | None, int]:
    """First and last ``call_date`` and the row count of the whole dataset."""
    path = resolve_path(parquet_path)
    row = _query(
        path, f"SELECT min({s.CALL_DATE}) lo, max({s.CALL_DATE}) hi, count(*) n FROM calls"
    )
    lo, hi, n = (_plain(v) for v in row.iloc[0])
    return lo, hi, int(n or 0)


def regions(parquet_path: Path | str | None = None) -> list[str]:
    """Every region present in the data, sorted; calls of unknown agents have no region."""
    path = resolve_path(parquet_path)
    df = _query(
        path,
        f"SELECT DISTINCT {s.REGION} AS r FROM calls WHERE {s.REGION} IS NOT NULL ORDER BY r",
    )
    return [str(r) for r in df["r"]]


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"invalid date {value!r}; use YYYY-MM-DD") from None


def reporting_period(
    parquet_path: Path | str | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    days: int = DEFAULT_PERIOD_DAYS,
) -> Period:
    """The reporting period: ``end`` defaults to the latest call_date of the whole dataset (today
    when it is empty) and ``start`` to ``days - 1`` days before ``end``."""
    end_d, start_d = _as_date(end), _as_date(start)
    if end_d is None:
        _, hi, _ = data_range(parquet_path)
        end_d = hi if hi is not None else date.today()
    if start_d is None:
        start_d = end_d - timedelta(days=days - 1)
    if start_d > end_d:
        raise ValueError(f"start_date {start_d} is after end_date {end_d}")
    return Period(start_d, end_d)


def segment(
    parquet_path: Path | str | None = None,
    region: str | None = None,
    start_date: date | str | None = None,
    end_date: date | str | None = None,
    *,
    regions: Iterable[str] | None = None,
    issues: Iterable[str] | None = None,
) -> Segment:
    """Resolve a dashboard's parameters (None = defaults) into a Segment; ``regions`` and
    ``issues`` select several regions or issue types (see :class:`Segment`)."""
    path = resolve_path(parquet_path)
    return Segment(
        path,
        region,
        reporting_period(path, start_date, end_date),
        regions=_as_names("regions", regions),
        issues=_as_names("issues", issues),
    )


# --------------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------------
def _flagged_sql() -> str:
    """Every call with its repeat flag, computed over the whole dataset (not the segment)."""
    return f"""
        SELECT *,
            coalesce(
                {s.CUSTOMER_ID} IS NOT NULL
                AND lead({s.START_TIME}) OVER (
                    PARTITION BY {s.CUSTOMER_ID} ORDER BY {s.START_TIME}, {s.CALL_ID}
                ) <= {s.START_TIME} + INTERVAL {REPEAT_WINDOW_DAYS} DAY,
                false
            ) AS repeated
        FROM calls
    """


def _kpi_select() -> str:
    return f"""
        count(*) AS calls,
        sum(round({s.CALL_DURATION_MINUTES} * 100)::BIGINT)::DOUBLE
            / (100 * count(*))::DOUBLE AS aht,
        avg({s.RATING}) AS csat,
        count({s.RATING}) AS rated_calls,
        avg(CASE WHEN {s.RATING} IS NULL THEN NULL
                 ELSE ({s.RATING} >= {GOOD_RATING})::DOUBLE END) AS csat_good_share,
        avg(({s.RESOLUTION} = '{RESOLVED}')::DOUBLE) AS resolution_rate,
        avg(({s.RESOLUTION} = '{ESCALATED}')::DOUBLE) AS escalation_rate,
        count(*) FILTER (WHERE {s.RESOLUTION} = '{ESCALATED}') AS escalations,
        avg(repeated::DOUBLE) AS repeat_rate,
        avg(({s.RESOLUTION} = '{RESOLVED}' AND NOT repeated)::DOUBLE) AS fcr
    """


def _kpi_row(df: pd.DataFrame) -> dict[str, Any]:
    row = {k: _plain(v) for k, v in df.iloc[0].items()} if len(df) else {}
    calls = int(row.get("calls") or 0)
    out: dict[str, Any] = {"calls": calls}
    for key in KPI_KEYS[1:]:
        out[key] = None if calls == 0 or row.get(key) is None else float(row[key])
    out["rated_calls"] = int(row.get("rated_calls") or 0)
    out["escalations"] = int(row.get("escalations") or 0)
    return out


def kpis(seg: Segment, period: Period | None = None) -> dict[str, Any]:
    """calls, aht, csat, csat_good_share, resolution_rate, escalation_rate, repeat_rate, fcr,
    rated_calls, escalations for the segment in ``period`` (default: its reporting period).

    Rates are None over zero calls; CSAT values are None when no call was rated.
    """
    sql = f"SELECT {_kpi_select()} FROM flagged WHERE {seg.where(period)}"
    return _kpi_row(_query(seg.path, sql))


@dataclass(frozen=True)
class KpiComparison:
    """One KPI for the reporting period and the previous period of equal length."""

    key: str
    current: float | int | None
    previous: float | int | None

    @property
    def delta(self) -> float | int | None:
        """current - previous; None when either side is undefined."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def delta_pct(self) -> float | None:
        """Relative change (0.1 = +10%); None when undefined or the previous value is 0."""
        if self.delta is None or not self.previous:
            return None
        return float(self.delta) / float(self.previous)

    @property
    def good(self) -> bool | None:
        """True when the change is an improvement, False when worse, None when neutral/flat."""
        direction = KPI_DIRECTIONS.get(self.key)
        if direction is None or self.delta is None or abs(self.delta) < 1e-12:
            return None
        return (self.delta > 0) == direction


def kpi_comparison(seg: Segment) -> dict[str, KpiComparison]:
    """Every KPI for the reporting period beside the same number of days just before it."""
    now = kpis(seg)
    before = kpis(seg, seg.period.previous)
    return {k: KpiComparison(k, now[k], before[k]) for k in KPI_KEYS}


# --------------------------------------------------------------------------------------------
# Frames for the charts
# --------------------------------------------------------------------------------------------
def daily_volume(seg: Segment) -> pd.DataFrame:
    """Calls per day over the whole history of the segment's regions and issue types, with the
    trailing 7-day average; columns call_date, calls, avg_7d, in_period.

    A day on which the whole dataset has no call at all is missing data (an export that never
    arrived), not a quiet day: its ``calls`` and ``avg_7d`` are null, so the chart shows a gap,
    and the average is taken over the days of the window that have data. A day with calls in
    the data but none in this segment is a real zero."""
    lo, hi, n = data_range(seg.path)
    if n == 0 or lo is None or hi is None:
        return pd.DataFrame({"call_date": [], "calls": [], "avg_7d": [], "in_period": []}).astype(
            {"calls": "int64", "avg_7d": "float64", "in_period": "bool"}
        )
    lo = min(lo, seg.period.start)
    hi = max(hi, seg.period.end)
    sql = f"""
        WITH days AS (
            SELECT d::DATE AS call_date
            FROM generate_series(DATE {_sql_str(lo.isoformat())},
                                 DATE {_sql_str(hi.isoformat())}, INTERVAL 1 DAY) t(d)
        ),
        counts AS (
            SELECT {s.CALL_DATE} AS call_date,
                count(*) FILTER (WHERE {seg.filters()}) AS calls
            FROM calls GROUP BY 1
        ),
        daily AS (
            SELECT days.call_date, counts.calls::BIGINT AS calls
            FROM days LEFT JOIN counts USING (call_date)
        )
        SELECT call_date, calls,
            CASE WHEN calls IS NULL THEN NULL ELSE avg(calls) OVER (
                ORDER BY call_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW
            ) END AS avg_7d,
            call_date BETWEEN DATE {_sql_str(seg.period.start.isoformat())}
                AND DATE {_sql_str(seg.period.end.isoformat())} AS in_period
        FROM daily
        ORDER BY call_date
    """
    df = _query(seg.path, sql)
    df["call_date"] = pd.to_datetime(df["call_date"]).dt.date
    df["calls"] = df["calls"].astype("Int64")
    return df


def data_gaps(parquet_path: Path | str | None = None) -> pd.DataFrame:
    """Runs of days without a single call inside the data's date range (a missing export looks
    like this); columns first_day, last_day, days. Empty when every day has calls."""
    path = resolve_path(parquet_path)
    sql = f"""
        WITH present AS (SELECT DISTINCT {s.CALL_DATE} AS d FROM calls),
        steps AS (SELECT d, lead(d) OVER (ORDER BY d) AS next_d FROM present)
        SELECT (d + INTERVAL 1 DAY)::DATE AS first_day, (next_d - INTERVAL 1 DAY)::DATE AS last_day,
            (next_d - d - 1)::BIGINT AS days
        FROM steps WHERE next_d - d > 1 ORDER BY first_day
    """
    df = _query(path, sql)
    for col in ("first_day", "last_day"):
        df[col] = pd.to_datetime(df[col]).dt.date
    return df.astype({"days": "int64"})


def hour_weekday(seg: Segment) -> pd.DataFrame:
    """Calls in the reporting period by weekday (0 = Monday) and hour of day (UTC), every one
    of the 7 x 24 cells present; columns weekday, hour, calls."""
    sql = f"""
        WITH grid AS (
            SELECT w.weekday, h.hour FROM range(7) w(weekday), range(24) h(hour)
        ),
        counts AS (
            SELECT isodow({s.CALL_DATE}) - 1 AS weekday, {s.HOUR_OF_DAY} AS hour,
                count(*) AS calls
            FROM calls WHERE {seg.where()} GROUP BY 1, 2
        )
        SELECT grid.weekday::INTEGER AS weekday, grid.hour::INTEGER AS hour,
            coalesce(counts.calls, 0)::BIGINT AS calls
        FROM grid LEFT JOIN counts USING (weekday, hour)
        ORDER BY weekday, hour
    """
    return _query(seg.path, sql)


def duration_histogram(
    seg: Segment,
    bin_minutes: float = DURATION_BIN_MINUTES,
    max_minutes: float = DURATION_MAX_MINUTES,
) -> pd.DataFrame:
    """Calls in the reporting period by issue type and duration bin (pre-binned in SQL so the
    page never carries raw points). Durations >= ``max_minutes`` share the last bin; columns
    issue_type, bin_start, bin_end (None for the open last bin), calls."""
    last = int(max_minutes // bin_minutes)
    sql = f"""
        SELECT coalesce({s.ISSUE_TYPE}, '') AS issue_type,
            least(floor({s.CALL_DURATION_MINUTES} / {bin_minutes}), {last})::INTEGER AS bin,
            count(*) AS calls
        FROM calls WHERE {seg.where()}
        GROUP BY 1, 2 ORDER BY 1, 2
    """
    df = _query(seg.path, sql)
    df["bin_start"] = df["bin"].astype(float) * bin_minutes
    df["bin_end"] = [None if b >= last else (b + 1) * bin_minutes for b in df["bin"]]
    return df[["issue_type", "bin_start", "bin_end", "calls"]]


def issue_breakdown(seg: Segment) -> pd.DataFrame:
    """Calls in the reporting period by issue type and resolution, largest issue first;
    columns issue_type, resolution, calls, issue_calls."""
    sql = f"""
        SELECT coalesce({s.ISSUE_TYPE}, '') AS issue_type,
            coalesce({s.RESOLUTION}, '') AS resolution, count(*) AS calls,
            sum(count(*)) OVER (PARTITION BY coalesce({s.ISSUE_TYPE}, ''))::BIGINT AS issue_calls
        FROM calls WHERE {seg.where()}
        GROUP BY 1, 2 ORDER BY issue_calls DESC, issue_type, resolution
    """
    return _query(seg.path, sql)


def _grouped_kpis(seg: Segment, by: list[str], where: str) -> pd.DataFrame:
    cols = ", ".join(by)
    sql = f"""
        SELECT {cols}, {_kpi_select()}
        FROM flagged WHERE {where}
        GROUP BY {cols}
        ORDER BY calls DESC, {cols}
    """
    return _query(seg.path, sql)


def region_comparison(seg: Segment) -> pd.DataFrame:
    """Every KPI per region for the reporting period and the segment's issue types: every
    region when the segment has no region filter, else the selected ones. Calls without a
    region are left out."""
    df = _grouped_kpis(seg, [s.REGION], f"{seg.where()} AND {s.REGION} IS NOT NULL")
    return df.rename(columns={s.REGION: "region"})


def agent_leaderboard(seg: Segment) -> pd.DataFrame:
    """Per agent in the segment and period: calls, AHT, CSAT, resolution rate, FCR,
    escalations (and escalation rate), busiest first. Never any customer id. Unknown agents
    beyond the busiest ``LEADERBOARD_UNKNOWN_AGENTS`` share one row (see there)."""
    cols = f"{s.AGENT_ID}, {s.AGENT_NAME}, {s.REGION}"
    sql = f"""
        SELECT {cols}, {_kpi_select()}
        FROM ({agents_keyed_sql(f"SELECT * FROM flagged WHERE {seg.where()}")})
        GROUP BY {cols}
        ORDER BY calls DESC, {cols}
    """
    return _query(seg.path, sql).rename(
        columns={s.AGENT_ID: "agent_id", s.AGENT_NAME: "agent_name", s.REGION: "region"}
    )


def agents_keyed_sql(relation: str) -> str:
    """``relation``'s rows (a query over ``flagged``) with the unknown agents beyond the
    busiest ``LEADERBOARD_UNKNOWN_AGENTS`` (counted over the whole of ``flagged``) renamed to
    one agent: null id, name ``OTHER_UNKNOWN_AGENTS``, no region. The leaderboard groups by
    the result, and so do the page's slice arrays, so both list the same rows."""
    unknown = f"{s.AGENT_NAME} IS NULL AND {s.REGION} IS NULL"
    return f"""
        SELECT r.* REPLACE (
            CASE WHEN r.{s.AGENT_NAME} IS NULL AND r.{s.REGION} IS NULL AND k.kept IS NULL
                THEN NULL ELSE r.{s.AGENT_ID} END AS {s.AGENT_ID},
            CASE WHEN r.{s.AGENT_NAME} IS NULL AND r.{s.REGION} IS NULL AND k.kept IS NULL
                THEN {_sql_str(OTHER_UNKNOWN_AGENTS)} ELSE r.{s.AGENT_NAME} END AS {s.AGENT_NAME})
        FROM ({relation}) r
        LEFT JOIN (
            SELECT {s.AGENT_ID} AS kept_id, true AS kept FROM flagged WHERE {unknown}
            GROUP BY {s.AGENT_ID}
            ORDER BY count(*) DESC, {s.AGENT_ID} NULLS LAST
            LIMIT {int(LEADERBOARD_UNKNOWN_AGENTS)}
        ) k ON r.{s.AGENT_ID} IS NOT DISTINCT FROM k.kept_id
    """


# --------------------------------------------------------------------------------------------
# Data quality (from the manifest and the rejects file)
# --------------------------------------------------------------------------------------------
def rejects_by_reason(manifest: dict[str, Any]) -> pd.DataFrame:
    """Rejected lines per reason in the contract's order (zeros included); reason, lines."""
    recorded = ((manifest.get("rows") or {}).get("rejected")) or {}
    return pd.DataFrame(
        {
            "reason": list(s.REJECT_REASONS),
            "lines": [int(recorded.get(r, 0)) for r in s.REJECT_REASONS],
        }
    )


def warnings_by_kind(manifest: dict[str, Any]) -> pd.DataFrame:
    """Kept rows that carry a warning, per kind; kind, rows."""
    recorded = manifest.get("warnings") or {}
    return pd.DataFrame(
        {"kind": list(s.WARNING_KINDS), "rows": [int(recorded.get(k, 0)) for k in s.WARNING_KINDS]}
    )


def row_counts(manifest: dict[str, Any]) -> dict[str, int]:
    """Lines read, rows kept, lines rejected, blank lines skipped, rows with a warning."""
    rows = manifest.get("rows") or {}
    return {
        "input": int(rows.get("input", 0)),
        "output": int(rows.get("output", 0)),
        "rejected": int(sum((rows.get("rejected") or {}).values())),
        "blank_lines": int(rows.get("blank_lines", 0)),
        "warnings": int(sum((manifest.get("warnings") or {}).values())),
    }


_CUSTOMER_RE = re.compile(
    r'("' + re.escape(s.CUSTOMER_ID) + r'"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\s]+)'
)


def redact_customer(raw: str) -> str:
    """A raw input line with its customer id value masked: the report shows counts only."""
    try:
        obj = json.loads(raw)
    except (ValueError, TypeError):
        return _CUSTOMER_RE.sub(lambda m: m.group(1) + json.dumps(_REDACTED), raw)
    if isinstance(obj, dict) and obj.get(s.CUSTOMER_ID) is not None:
        obj[s.CUSTOMER_ID] = _REDACTED
        return json.dumps(obj, ensure_ascii=False)
    return raw


def rejected_sample(rejects_path: Path | str, limit: int = 20) -> pd.DataFrame:
    """The first ``limit`` rejected lines (line_number, reason, raw) with customer ids masked."""
    columns = [s.REJECT_LINE_NUMBER, s.REJECT_REASON, s.REJECT_RAW]
    fs, source = storage.filesystem(rejects_path)
    remote = storage.is_remote(rejects_path)
    if remote:
        key = fs._strip_protocol(source)
        size = int(fs.info(key).get("size") or 0) if fs.isfile(key) else 0
    else:
        path = Path(rejects_path)
        source = str(path)
        size = path.stat().st_size if path.exists() else 0
    if size == 0:
        return pd.DataFrame({c: [] for c in columns}).astype({s.REJECT_LINE_NUMBER: "int64"})
    con = _connect(fs if remote else None)
    try:
        df = con.execute(
            f"SELECT {', '.join(columns)} FROM read_json({_sql_str(source)}, "
            f"format = 'newline_delimited', columns = {{{s.REJECT_LINE_NUMBER}: 'BIGINT', "
            f"{s.REJECT_REASON}: 'VARCHAR', {s.REJECT_RAW}: 'VARCHAR'}}) "
            f"ORDER BY {s.REJECT_LINE_NUMBER} LIMIT {int(limit)}"
        ).df()
    finally:
        con.close()
    df[s.REJECT_RAW] = [redact_customer(r) if isinstance(r, str) else "" for r in df[s.REJECT_RAW]]
    return df


def input_files(manifest: dict[str, Any]) -> pd.DataFrame:
    """What the ETL read and wrote: role, file name, size, modified time, short sha256."""
    entries = [("calls", (manifest.get("inputs") or {}).get("calls"))]
    entries.append(("agents", (manifest.get("inputs") or {}).get("agents")))
    entries.append(("cleaned parquet", manifest.get("output")))
    entries.append(("rejects", manifest.get("rejects")))
    rows = [
        {
            "file": role,
            "name": Path(str(info.get("path", ""))).name,
            "bytes": int(info.get("file_size", 0)),
            "modified (UTC)": str(info.get("file_mtime", ""))[:19].replace("T", " "),
            "sha256": str(info.get("sha256", ""))[:16],
        }
        for role, info in entries
        if info
    ]
    return pd.DataFrame(rows, columns=["file", "name", "bytes", "modified (UTC)", "sha256"])
