"""Unusual days and level shifts: daily volume and AHT against their weekday-aware
expectation, for all calls and for each region.

The method, on the log of each daily series (so a +40% day is the same size on a Monday and a
Sunday): a robust seasonal decomposition (weekday medians around a centred 7-day mean, see
:func:`weekly_pattern`) gives the weekly pattern; the rest
(the deseasonalised series) is cut where its level changes for good (binary segmentation with
a t-statistic, at least MIN_RUN days on each side); the expected value of a day is the weekly
pattern plus the rolling median of its own level segment; a day is unusual when its residual
is more than Z_LIMIT robust standard deviations away (the spread from the median absolute
deviation, plus each day's own sampling noise: fewer calls, noisier day). Days without any
call in the data are gaps (see metrics.data_gaps), never zeros, and are never flagged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from support_analytics import schema as s
from support_analytics.report.insights.shift_share import DIMENSIONS
from support_analytics.report.metrics import Segment, connect, data_range

#: A day is unusual beyond this many robust standard deviations (two-sided).
Z_LIMIT = 2.8
#: A level shift needs this t-statistic and at least MIN_RUN days on each side.
SHIFT_T = 6.0
MIN_RUN = 7
#: ... and a lasting change of at least this much (8%), so slow drifts are not called shifts.
MIN_SHIFT = 0.08
#: The rolling median giving a level segment's local level (days).
LEVEL_WINDOW = 35
#: A driver "stands out" when one segment carries at least this share of a day's excess.
DRIVER_SHARE = 0.6
#: Days either side a segment's typical share is taken from, for a day's drivers.
DRIVER_WINDOW = 14
METRICS = ("calls", "aht")


@dataclass(frozen=True)
class UnusualDay:
    series: str  # "all" or a region's name
    metric: str  # calls or aht
    date: str
    value: float
    expected: float
    change: float  # value / expected - 1
    z: float
    driver: dict | None  # {"dimension", "name", "share"} when one segment stands out


@dataclass(frozen=True)
class LevelShift:
    series: str
    metric: str
    date: str  # first day at the new level
    change: float  # new level / old level - 1
    t: float


def daily(seg: Segment) -> pd.DataFrame:
    """Per day (every day of the data's range) and region and issue type: calls, summed
    handle time (hundredths of a minute) and its sum of squares, for the selection's filters.
    Days with no call in the whole data have no rows (gaps)."""
    cm = f"round({s.CALL_DURATION_MINUTES} * 100)::BIGINT"
    sql = f"""
        SELECT {s.CALL_DATE} AS day, {DIMENSIONS["region"]} AS region,
            {DIMENSIONS["issue_type"]} AS issue,
            count(*) FILTER (WHERE {seg.filters()}) AS n,
            coalesce(sum({cm}) FILTER (WHERE {seg.filters()}), 0)::DOUBLE AS dur,
            coalesce(sum(({cm})::DOUBLE * ({cm})) FILTER (WHERE {seg.filters()}), 0) AS dur_sq
        FROM calls GROUP BY ALL
    """
    with connect(seg.path, flagged=False) as con:
        df = con.execute(sql).df()
    df["day"] = pd.to_datetime(df["day"])
    return df


def _series(frame: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """One daily series: calls, AHT and the AHT's sampling variance. A day missing from this
    series' rows counts 0 calls here; the caller blanks the days the whole data lacks (gaps)."""
    g = frame.groupby("day")[["n", "dur", "dur_sq"]].sum().reindex(index, fill_value=0)
    n = g["n"]
    mean = g["dur"] / n.where(n > 0) / 100
    var = (g["dur_sq"] / 1e4 - n * mean**2) / (n - 1).where(n > 1)
    return pd.DataFrame({"calls": n, "aht": mean, "aht_var": var.clip(lower=0)})


def _mad_sigma(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def _shifts(d: np.ndarray) -> list[tuple[int, float, float]]:
    """Binary segmentation of the deseasonalised series ``d`` (NaN = gap): (first index of the
    new level, change in log level, t). Noise comes from day-to-day differences (robust to the
    shifts themselves); days far from their neighbours are clipped first so a spike cannot
    pose as a shift."""
    ok = np.flatnonzero(np.isfinite(d))
    x = d[ok]
    if len(x) < 2 * MIN_RUN:
        return []
    sigma = _mad_sigma(np.diff(x)) / np.sqrt(2)
    if sigma <= 0:
        return []
    local = pd.Series(x).rolling(MIN_RUN, center=True, min_periods=1).median().to_numpy()
    x = np.clip(x, local - 3 * sigma, local + 3 * sigma)
    found: list[tuple[int, float, float]] = []

    def cut(lo: int, hi: int) -> None:
        seg = x[lo:hi]
        m = len(seg)
        if m < 2 * MIN_RUN:
            return
        csum = np.cumsum(seg)
        k = np.arange(MIN_RUN, m - MIN_RUN + 1)
        left = csum[k - 1] / k
        right = (csum[-1] - csum[k - 1]) / (m - k)
        t = (right - left) / (sigma * np.sqrt(1 / k + 1 / (m - k)))
        best = int(np.argmax(np.abs(t)))
        size = float(np.median(seg[k[best] :]) - np.median(seg[: k[best]]))
        if abs(t[best]) < SHIFT_T or abs(size) < np.log1p(MIN_SHIFT):
            return
        found.append((int(ok[lo + k[best]]), size, float(t[best])))
        cut(lo, lo + k[best])
        cut(lo + k[best], hi)

    cut(0, len(x))
    return sorted(found)


def weekly_pattern(x: pd.Series) -> np.ndarray:
    """Each day's weekday effect on the log scale: the median, per weekday, of the day's
    distance from its centred 7-day mean (a robust classical decomposition: a spike moves one
    weekday's median by nothing, an incomplete last day moves none), centred to sum to 0."""
    trend = x.interpolate(limit_direction="both").rolling(7, center=True, min_periods=7).mean()
    weekday = x.index.day_of_week
    effect = (x - trend).groupby(weekday).median().reindex(range(7)).fillna(0.0)
    effect -= effect.mean()
    return effect.to_numpy()[weekday]


def analyse(values: pd.Series, noise: pd.Series) -> tuple[pd.DataFrame, list]:
    """Expected value and z of each day of one series (log scale inside), and its level
    shifts. ``noise`` is each day's sampling variance on the log scale. Too short a series
    (under two weeks of data) gives no flags."""
    # a day with data but no call in this series (an outage) is 0.5 calls: the log stays finite
    x = np.log(values.astype(float).clip(lower=0.5))
    out = pd.DataFrame({"value": values, "expected": np.nan, "z": np.nan}, index=values.index)
    if x.notna().sum() < 2 * MIN_RUN:
        return out, []
    seasonal = weekly_pattern(x)
    d = x.to_numpy() - seasonal
    shifts = _shifts(d)
    level = np.full(len(d), np.nan)
    bounds = [0, *[i for i, _, _ in shifts], len(d)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        part = pd.Series(d[lo:hi])
        level[lo:hi] = part.rolling(LEVEL_WINDOW, center=True, min_periods=3).median().to_numpy()
    expected = level + seasonal
    resid = x.to_numpy() - expected
    var = noise.to_numpy(dtype=float)
    extra = max(0.0, _mad_sigma(resid) ** 2 - float(np.nanmedian(var)))
    z = resid / np.sqrt(extra + np.nan_to_num(var, nan=0.0))
    out["expected"] = np.exp(expected)
    out["z"] = np.where(np.isfinite(x.to_numpy()), z, np.nan)
    return out, shifts


Pivots = dict[str, tuple[list[str], np.ndarray, np.ndarray]]


def _pivots(part: pd.DataFrame, index: pd.DatetimeIndex, dims: tuple[str, ...]) -> Pivots:
    """Per dimension: segment names and day x segment arrays of calls and handle time, built
    once per series so each flagged day's drivers are a few array sums."""
    out: Pivots = {}
    for dim in dims:
        g = part.groupby(["day", dim])[["n", "dur"]].sum()
        n = g["n"].unstack(fill_value=0).reindex(index, fill_value=0)
        dur = g["dur"].unstack(fill_value=0).reindex(index, fill_value=0)
        out[dim] = ([str(c) for c in n.columns], n.to_numpy(float), dur.to_numpy(float))
    return out


def _drivers(pivots: Pivots, i: int, metric: str, expected: float) -> dict | None:
    """The segment carrying most of day ``i``'s excess, if it carries at least DRIVER_SHARE of
    it: calls over its usual share (of the DRIVER_WINDOW days either side) of the expected
    calls, or handle minutes over its usual AHT."""
    best = None
    for dim, (names, n, dur) in pivots.items():
        lo, hi = max(0, i - DRIVER_WINDOW), min(len(n), i + DRIVER_WINDOW + 1)
        if np.count_nonzero(n[lo:hi].sum(axis=0)) < 2:
            continue  # one segment in the selection: naming it says nothing
        now_n, now_d = n[i], dur[i]
        usual_n, usual_d = n[lo:hi].sum(axis=0) - now_n, dur[lo:hi].sum(axis=0) - now_d
        if metric == "calls":
            excess = now_n - usual_n / max(1.0, usual_n.sum()) * expected
        else:  # handle minutes beyond each segment's usual AHT
            typical = np.divide(usual_d, usual_n, out=np.zeros_like(usual_d), where=usual_n > 0)
            excess = (now_d - now_n * typical) / 100
        total = float(excess.sum())
        if total == 0:
            continue
        j = int(np.argmax(excess * np.sign(total)))
        share = float(excess[j] / total)
        if share >= DRIVER_SHARE and (best is None or share > best["share"]):
            best = {"dimension": dim, "name": names[j], "share": share}
    return best


def find_unusual(
    seg: Segment, within: tuple[str, str] | None = None
) -> tuple[list[UnusualDay], list[LevelShift]]:
    """Unusual days and level shifts of daily calls and AHT, for all the selected calls and for
    each selected region, over the whole history (the expectation needs it); ``within``
    (first, last ISO date) keeps only the days and shifts inside it."""
    lo, hi, n = data_range(seg.path)
    if n == 0 or lo is None or hi is None:
        return [], []
    frame = daily(seg)
    index = pd.date_range(pd.Timestamp(lo), pd.Timestamp(hi), freq="D")
    present = pd.Series(1, index=pd.DatetimeIndex(frame["day"].unique())).reindex(index)
    regions = sorted(r for r in frame.loc[frame["n"] > 0, "region"].unique() if r)
    days: list[UnusualDay] = []
    shifts: list[LevelShift] = []
    # one selected region's series is the same as all calls': list it once
    for name in ["all", *(regions if len(regions) > 1 else [])]:
        part = frame if name == "all" else frame[frame["region"] == name]
        series = _series(part, index)
        series.loc[present.isna()] = np.nan  # a gap in the data, not a quiet day
        dims = ("region", "issue") if name == "all" else ("issue",)
        for metric in METRICS:
            values = series[metric]
            if metric == "calls":
                noise = 1.0 / values.clip(lower=1)
            else:
                noise = series["aht_var"] / (series["calls"] * series["aht"] ** 2)
            result, found = analyse(values, noise)
            pivots = None
            for i, step, t in found:
                shifts.append(
                    LevelShift(name, metric, index[i].date().isoformat(), float(np.expm1(step)), t)
                )
            flagged = result[result["z"].abs() > Z_LIMIT]
            for day, row in flagged.iterrows():
                pivots = pivots or _pivots(part, index, dims)
                i = index.get_loc(day)
                driver = _drivers(pivots, i, metric, float(row["expected"]))
                days.append(
                    UnusualDay(
                        name,
                        metric,
                        day.date().isoformat(),
                        float(row["value"]),
                        float(row["expected"]),
                        float(row["value"] / row["expected"] - 1),
                        float(row["z"]),
                        driver,
                    )
                )
    if within is not None:
        days = [d for d in days if within[0] <= d.date <= within[1]]
        shifts = [sh for sh in shifts if within[0] <= sh.date <= within[1]]
    return days, shifts
