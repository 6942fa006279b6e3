"""The forecast's candidate methods, each a function of a series' past only: seasonal naive,
the 8-week mean of the same weekday, and exponential smoothing from statsmodels (with MSTL for
hours). Each gives a point forecast and a fallback 80%/95% band from its own past errors;
:mod:`forecast` backtests them and replaces the band with the backtest's errors."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

METHODS = ("seasonal_naive", "weekday_mean", "ets")
METHOD_LABELS = {
    "seasonal_naive": "Same weekday last week",
    "weekday_mean": "Mean of the same weekday, last 8 weeks",
    "ets": "Exponential smoothing (statsmodels; hourly with MSTL)",
}
MEAN_WEEKS = 8
LEVELS = (80, 95)
QUANTILES = {80: (0.10, 0.90), 95: (0.025, 0.975)}
_Z = {80: 1.2815515655446004, 95: 1.959963984540054}


@dataclass(frozen=True)
class Frequency:
    """A series' step: its season (one week of steps), the seasonal periods, how much
    history the statsmodels fit sees (bounds its cost)."""

    name: str
    offset: str
    season: int
    periods: tuple[int, ...]
    fit_window: int

    @property
    def step(self) -> pd.Timedelta:
        return pd.Timedelta(1, unit=self.offset)


DAILY = Frequency("daily", "D", 7, (7,), 16 * 7)
HOURLY = Frequency("hourly", "h", 168, (24, 168), 4 * 168)


# --------------------------------------------------------------------------------------------
# The methods: (mean, {level: (lower, upper)}) for positions n .. n+horizon-1 of ``y``
# --------------------------------------------------------------------------------------------
def _lagged(y: np.ndarray, positions: np.ndarray, first: np.ndarray, count: int, season: int):
    """Matrix of y[pos - (first + j) * season], j = 0..count-1 (NaN before the start)."""
    lags = (first[:, None] + np.arange(count)[None, :]) * season
    idx = positions[:, None] - lags
    out = np.full(idx.shape, np.nan)
    ok = (idx >= 0) & (idx < len(y))
    out[ok] = y[idx[ok]]
    return out


def _rule(method: str, y: np.ndarray, positions: np.ndarray, first: np.ndarray, season: int):
    """The simple methods at ``positions``, looking back ``first`` seasons or more."""
    if method == "weekday_mean":
        m = _lagged(y, positions, first, MEAN_WEEKS, season)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
            return np.nanmean(m, axis=1)
    m = _lagged(y, positions, first, MEAN_WEEKS, season)  # the latest non-missing one
    has = ~np.isnan(m)
    pick = np.where(has.any(axis=1), has.argmax(axis=1), 0)
    out = m[np.arange(len(m)), pick]
    return np.where(has.any(axis=1), out, np.nan)


def _simple(method: str, y: np.ndarray, horizon: int, season: int):
    n = len(y)
    steps = np.arange(1, horizon + 1)
    first = np.ceil(steps / season).astype(int)
    ext = np.concatenate([y, np.full(horizon, np.nan)])
    mean = _rule(method, ext, n - 1 + steps, first, season)
    mean = np.where(np.isnan(mean), np.nanmean(y), mean)
    # Past errors of the same rule at the same look-back, over the last 8 weeks of history.
    past = np.arange(max(n - MEAN_WEEKS * season, 0), n)
    z_by_first = {}
    for f in np.unique(first):
        pred = _rule(method, y, past, np.full(len(past), f), season)
        scale = np.sqrt(np.maximum(pred, 1.0))
        z = (y[past] - pred) / scale
        z_by_first[f] = z[~np.isnan(z)]
    return mean, _bands(mean, first, z_by_first)


def _bands(mean: np.ndarray, first: np.ndarray, z_by_first: dict) -> dict:
    """Intervals around ``mean`` from standardised past errors (per look-back in seasons);
    a normal band where there are fewer than 10 past errors."""
    scale = np.sqrt(np.maximum(mean, 1.0))
    bands = {}
    for level in LEVELS:
        lo, hi = np.empty(len(mean)), np.empty(len(mean))
        for f, z in z_by_first.items():
            sel = first == f
            if len(z) >= 10:
                zl, zh = np.quantile(z, QUANTILES[level])
            else:
                zl, zh = -_Z[level], _Z[level]
            lo[sel] = mean[sel] + zl * scale[sel]
            hi[sel] = mean[sel] + zh * scale[sel]
        bands[level] = (lo, hi)
    return bands


def _filled(y: np.ndarray, season: int) -> np.ndarray:
    """Missing periods filled from the same weekday's (and hour's) mean, for MSTL."""
    gaps = np.flatnonzero(np.isnan(y))
    if not len(gaps):
        return y
    out = y.copy()
    out[gaps] = _rule("weekday_mean", y, gaps, np.ones(len(gaps), dtype=int), season)
    later = np.flatnonzero(np.isnan(out))
    if len(later):  # nothing a week or more before: the mean of the series
        out[later] = np.nanmean(y)
    return out


def _fit(model):
    """Least squares: the same fit as statsmodels' default L-BFGS-B at a tenth of the time
    (measured); its brute-force grid of starting values cost more than the fit itself."""
    return model.fit(method="least_squares", use_brute=False)


def _statsmodels(y: np.ndarray, horizon: int, freq: Frequency):
    """Exponential smoothing on log counts (a busier week has proportionally bigger peaks):
    daily, Holt-Winters with a trend (a growth rate, on logs) and the weekly season; hourly,
    MSTL takes out the daily and weekly seasons, simple exponential smoothing carries the
    level and the last seasonal cycles are added back. The fallback band is the fit's
    residual spread. (A damped trend fitted twice as slowly and no better here.)"""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.seasonal import MSTL

    x = np.log1p(np.maximum(_filled(y[-freq.fit_window :], freq.season), 0.0))
    index = pd.date_range("2000-01-03", periods=len(x), freq=freq.offset)
    series = pd.Series(x, index=index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter, MSTL's dropped-period note
        if len(freq.periods) == 1:
            model = ExponentialSmoothing(
                series,
                trend="add",
                seasonal="add",
                seasonal_periods=freq.season,
                # the heuristic start needs three weeks; shorter, statsmodels estimates it
                initialization_method="heuristic" if len(x) >= 3 * freq.season else "estimated",
            )
            fit = _fit(model)
            log_mean = np.asarray(fit.forecast(horizon), dtype=float)
        else:
            mstl = MSTL(series, periods=freq.periods, iterate=1, stl_kwargs={"inner_iter": 1})
            decomposed = mstl.fit()
            seasonal = np.asarray(decomposed.seasonal, dtype=float).reshape(len(x), -1)
            model = ExponentialSmoothing(
                pd.Series(x - seasonal.sum(axis=1), index=index),
                initialization_method="heuristic",
            )
            fit = _fit(model)
            log_mean = np.asarray(fit.forecast(horizon), dtype=float)
            # MSTL drops a period longer than half the history (two weeks exactly).
            for col, period in enumerate(mstl.periods):
                log_mean = log_mean + np.resize(seasonal[-period:, col], horizon)
    sigma = float(np.nanstd(np.asarray(fit.resid, dtype=float)))
    spread = sigma * np.sqrt(np.arange(1, horizon + 1) / freq.season + 1.0)
    bands = {
        level: (np.expm1(log_mean - _Z[level] * spread), np.expm1(log_mean + _Z[level] * spread))
        for level in LEVELS
    }
    return np.expm1(log_mean), bands


def predict(method: str, y: np.ndarray, horizon: int, freq: Frequency) -> pd.DataFrame:
    """One method's forecast of the ``horizon`` periods after ``y``: value and intervals,
    never below zero."""
    if method == "ets":
        mean, bands = _statsmodels(y, horizon, freq)
    elif method in METHODS:
        mean, bands = _simple(method, y, horizon, freq.season)
    else:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    out = {"value": np.maximum(mean, 0.0)}
    for level, (lo, hi) in bands.items():
        out[f"lower_{level}"] = np.maximum(lo, 0.0)
        out[f"upper_{level}"] = np.maximum(hi, 0.0)
    return pd.DataFrame(out)
