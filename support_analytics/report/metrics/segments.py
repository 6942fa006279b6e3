"""What a page shows: a period and the range of equal length before it, and a segment (regions,
issue types, period) as SQL filters; the data's range and regions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.report.metrics.source import plain, query, resolve_path, sql_str

DEFAULT_PERIOD_DAYS = 28


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
        regions = as_names("regions", self.regions)
        if self.region is not None:
            if regions is not None and regions != (self.region,):
                raise ValueError(f"region {self.region!r} contradicts regions {regions!r}")
            regions = (self.region,)
        object.__setattr__(self, "regions", regions)
        object.__setattr__(self, "issues", as_names("issues", self.issues))

    def filters(self, alias: str = "") -> str:
        """SQL filter for this segment's regions and issue types (every date)."""
        col = f"{alias}." if alias else ""
        clauses = ["TRUE"]
        if self.regions is not None:
            clauses.append(in_list(f"{col}{s.REGION}", self.regions))
        if self.issues is not None:
            clauses.append(in_list(f"coalesce({col}{s.ISSUE_TYPE}, '')", self.issues))
        return " AND ".join(clauses)

    def where(self, period: Period | None = None, alias: str = "") -> str:
        """SQL filter for this segment's regions, issue types and (by default) its period."""
        p = period or self.period
        col = f"{alias}." if alias else ""
        return (
            f"{col}{s.CALL_DATE} BETWEEN DATE {sql_str(p.start.isoformat())} "
            f"AND DATE {sql_str(p.end.isoformat())} AND {self.filters(alias)}"
        )


def as_names(what: str, values: Any) -> tuple[str, ...] | None:
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


def in_list(expr: str, values: tuple[str, ...]) -> str:
    if not values:
        return "FALSE"
    return f"{expr} IN ({', '.join(sql_str(v) for v in values)})"


def data_range(parquet_path: Path | str | None = None) -> tuple[date | None, date | None, int]:
    """First and last ``call_date`` and the row count of the whole dataset."""
    path = resolve_path(parquet_path)
    row = query(path, f"SELECT min({s.CALL_DATE}) lo, max({s.CALL_DATE}) hi, count(*) n FROM calls")
    lo, hi, n = (plain(v) for v in row.iloc[0])
    return lo, hi, int(n or 0)


def regions(parquet_path: Path | str | None = None) -> list[str]:
    """Every region present in the data, sorted; calls of unknown agents have no region."""
    path = resolve_path(parquet_path)
    df = query(
        path,
        f"SELECT DISTINCT {s.REGION} AS r FROM calls WHERE {s.REGION} IS NOT NULL ORDER BY r",
    )
    return [str(r) for r in df["r"]]


def as_date(value: date | str | None) -> date | None:
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
    end_d, start_d = as_date(end), as_date(start)
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
    if isinstance(path, Path) and not path.exists():  # a fresh clone, opened in JupyterLab
        raise InputError(
            f"{path}: no cleaned calls yet; run `support-analytics etl` (or `support-analytics "
            "report`) first, or set parquet_path to a cleaned Parquet file or folder"
        )
    return Segment(
        path,
        region,
        reporting_period(path, start_date, end_date),
        regions=as_names("regions", regions),
        issues=as_names("issues", issues),
    )
