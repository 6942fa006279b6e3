"""Call-volume forecasts with 80% and 95% intervals, the method chosen by a rolling-origin
backtest, and the backtest's own scores, so a planner sees how far to trust the numbers.

The forecast works on small series of counts (one value per day or per hour), never on call
rows. A period without data (a day on which the whole dataset has no call: an export that
never arrived) is NaN, not zero: the simple methods skip it and the statsmodels method sees it
filled from the same weekday's mean, and no score is taken on it.

Candidates:

- ``seasonal_naive``: the same weekday (and hour) one week earlier;
- ``weekday_mean``: the mean of the same weekday (and hour) over the previous 8 weeks;
- ``ets``: exponential smoothing from statsmodels on log counts: Holt-Winters with a
  trend and the weekly season for days; for hours, MSTL takes out the daily and weekly
  seasons and exponential smoothing carries the level.

Intervals come from each method's own errors in the backtest at the same look-ahead (in
weeks), scaled by the square root of the forecast (counts vary more when they are larger);
the coverage the backtest reports is out of fold (each week's interval from the other weeks'
errors). Where the backtest is too short, from the method's errors over the history."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from support_analytics import config
from support_analytics.errors import InputError
from support_analytics.report.planning.methods import (
    DAILY,
    HOURLY,
    LEVELS,
    METHOD_LABELS,
    METHODS,
    QUANTILES,
    Frequency,
    predict,
)

__all__ = ["DAILY", "HOURLY", "METHODS", "METHOD_LABELS", "Forecast", "ShortHistoryError"]

BACKTEST_WEEKS = config.PLAN_BACKTEST_WEEKS


class ShortHistoryError(InputError):
    """Less than two weeks of data: too little to see a weekly pattern, so no forecast."""


@dataclass
class Forecast:
    """A series, its forecast (``frame``: period, value, lower_80, upper_80, lower_95,
    upper_95), the method chosen and every candidate's backtest scores (``scores``) and
    points (``points``)."""

    history: pd.Series
    freq: Frequency
    frame: pd.DataFrame
    method: str
    scores: pd.DataFrame
    points: pd.DataFrame = field(repr=False)


# --------------------------------------------------------------------------------------------
# Backtest and the forecast
# --------------------------------------------------------------------------------------------
def check_history(history: pd.Series, freq: Frequency) -> None:
    """Refuse a series shorter than two weeks (or with fewer than two weeks of data)."""
    observed = int(history.notna().sum())
    need = 2 * freq.season
    if len(history) < need or observed < need:
        days = observed if freq is DAILY else observed // 24
        raise ShortHistoryError(
            f"the forecast needs at least two weeks of history; this series has {days} "
            f"day(s) with data"
        )


def backtest(
    history: pd.Series, freq: Frequency, horizon: int, weeks: int = BACKTEST_WEEKS
) -> pd.DataFrame:
    """Rolling origin: at each of the last ``weeks`` week boundaries, every method forecasts
    ``horizon`` periods from the history before it; one row per method, origin and step
    whose actual is known (not missing)."""
    y = history.to_numpy(dtype=float)
    n = len(y)
    origins = [n - k * freq.season for k in range(weeks, 0, -1)]
    origins = [o for o in origins if o >= 2 * freq.season and not np.isnan(y[:o]).all()]
    rows = []
    for origin in origins:
        steps = min(horizon, n - origin)
        actual = y[origin : origin + steps]
        for method in METHODS:
            pred = predict(method, y[:origin], steps, freq)
            pred["method"] = method
            pred["origin"] = history.index[origin]
            pred["step"] = np.arange(1, steps + 1)
            pred["actual"] = actual
            rows.append(pred[~np.isnan(actual)])
    if not rows:
        return pd.DataFrame(columns=["method", "origin", "step", "actual", "value"])
    return _out_of_fold(pd.concat(rows, ignore_index=True), freq)


#: Fewest backtest errors an interval is drawn from; with fewer the method's own band stays.
MIN_CALIBRATION = 20


def _conformal(z: np.ndarray, level: int) -> tuple[float, float]:
    """The order statistics of ``n`` past errors that bracket a new one with probability at
    least ``level`` % when errors are exchangeable (split conformal: ranks from n + 1)."""
    z = np.sort(z)
    n = len(z)
    lo_q, hi_q = QUANTILES[level]
    lo = max(int(math.floor((n + 1) * lo_q)), 1)
    hi = min(int(math.ceil((n + 1) * hi_q)), n)
    return float(z[lo - 1]), float(z[hi - 1])


def _standardised(points: pd.DataFrame) -> pd.Series:
    return (points["actual"] - points["value"]) / np.sqrt(np.maximum(points["value"], 1.0))


def _out_of_fold(points: pd.DataFrame, freq: Frequency) -> pd.DataFrame:
    """Each backtest interval rebuilt from the same method's errors at the same look-ahead
    (in weeks) in the *other* backtest weeks, so the coverage shown is out of fold, as the
    forecast's own intervals (from all the weeks' errors) will be."""
    points = points.reset_index(drop=True)
    z = _standardised(points).to_numpy()
    value = points["value"].to_numpy(dtype=float)
    scale = np.sqrt(np.maximum(value, 1.0))
    origin = points["origin"].to_numpy()
    keys = points["method"].astype(str) + "|" + np.ceil(points["step"] / freq.season).astype(str)
    bounds = {
        level: (
            points[f"lower_{level}"].to_numpy(dtype=float).copy(),
            points[f"upper_{level}"].to_numpy(dtype=float).copy(),
        )
        for level in LEVELS
    }
    for key in keys.unique():
        group = np.flatnonzero((keys == key).to_numpy())
        for o in np.unique(origin[group]):
            held = group[origin[group] == o]
            others = z[group[origin[group] != o]]
            others = others[~np.isnan(others)]
            if len(others) < MIN_CALIBRATION:
                continue
            for level in LEVELS:
                lo_q, hi_q = _conformal(others, level)
                bounds[level][0][held] = np.maximum(value[held] + lo_q * scale[held], 0.0)
                bounds[level][1][held] = np.maximum(value[held] + hi_q * scale[held], 0.0)
    for level, (lo, hi) in bounds.items():
        points[f"lower_{level}"] = lo
        points[f"upper_{level}"] = hi
    return points


def _calibrated(frame: pd.DataFrame, points: pd.DataFrame, method: str, freq: Frequency):
    """The forecast's intervals from its method's backtest errors at each look-ahead (in
    weeks), where there are enough of them."""
    mine = points[points["method"] == method]
    z = _standardised(mine)
    week_of = np.ceil(mine["step"] / freq.season)
    steps = np.arange(1, len(frame) + 1)
    scale = np.sqrt(np.maximum(frame["value"].to_numpy(), 1.0))
    for week in np.unique(np.ceil(steps / freq.season)):
        errors = z[week_of == week].dropna()
        if len(errors) < MIN_CALIBRATION:
            continue
        sel = np.ceil(steps / freq.season) == week
        for level in LEVELS:
            lo_q, hi_q = _conformal(errors.to_numpy(), level)
            frame.loc[sel, f"lower_{level}"] = np.maximum(
                frame["value"][sel] + lo_q * scale[sel], 0
            )
            frame.loc[sel, f"upper_{level}"] = np.maximum(
                frame["value"][sel] + hi_q * scale[sel], 0
            )
    return frame


def score(points: pd.DataFrame, history: pd.Series, freq: Frequency, max_step: int | None = None):
    """Each method's WAPE, MASE, bias and interval coverage over backtest ``points`` (up to
    ``max_step`` periods ahead); columns method, wape, mase, bias, coverage_80, coverage_95,
    points."""
    if max_step is not None:
        points = points[points["step"] <= max_step]
    y = history.to_numpy(dtype=float)
    naive_mae = (
        np.nanmean(np.abs(y[freq.season :] - y[: -freq.season])) if len(y) > freq.season else np.nan
    )
    rows = []
    for method in METHODS:
        p = points[points["method"] == method]
        err = p["value"] - p["actual"]
        total = p["actual"].abs().sum()
        rows.append(
            {
                "method": method,
                "wape": float(err.abs().sum() / total) if total > 0 else math.nan,
                "mase": float(err.abs().mean() / naive_mae)
                if len(p) and naive_mae > 0
                else math.nan,
                "bias": float(err.sum() / total) if total > 0 else math.nan,
                "coverage_80": _coverage(p, 80),
                "coverage_95": _coverage(p, 95),
                "points": len(p),
            }
        )
    return pd.DataFrame(rows)


def _coverage(p: pd.DataFrame, level: int) -> float:
    if p.empty:
        return math.nan
    inside = (p["actual"] >= p[f"lower_{level}"]) & (p["actual"] <= p[f"upper_{level}"])
    return float(inside.mean())


def forecast(
    history: pd.Series, freq: Frequency, horizon: int, weeks: int = BACKTEST_WEEKS
) -> Forecast:
    """Backtest every method, keep the lowest WAPE (the simplest on a tie; seasonal naive when
    there is no room for a backtest yet), and forecast ``horizon`` periods after the history.
    ``history`` has one value per period (NaN where there is no data) on a regular index."""
    if horizon < 1:
        raise ValueError(f"the horizon must be at least 1 period, got {horizon}")
    check_history(history, freq)
    points = backtest(history, freq, horizon, weeks)
    scores = score(points, history, freq)
    ranked = scores.dropna(subset=["wape"])
    method = str(ranked.loc[ranked["wape"].idxmin(), "method"]) if len(ranked) else METHODS[0]
    scores["chosen"] = scores["method"] == method
    frame = predict(method, history.to_numpy(dtype=float), horizon, freq)
    frame = _calibrated(frame, points, method, freq)
    start = history.index[-1] + freq.step
    frame.insert(0, "period", pd.date_range(start, periods=horizon, freq=freq.offset))
    return Forecast(history, freq, frame, method, scores, points)
