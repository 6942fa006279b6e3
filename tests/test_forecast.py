"""Forecasts and their backtest (report/planning/forecast.py) on simulated series whose
pattern is known: accuracy against seasonal naive, interval coverage, gaps, short series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from support_analytics.report.planning.forecast import (
    DAILY,
    HOURLY,
    METHODS,
    ShortHistoryError,
    backtest,
    forecast,
    score,
)

WEEK = np.array([1.2, 1.1, 1.0, 1.05, 0.9, 0.5, 0.4])  # Monday .. Sunday


def weekly_with_trend(seed: int, days: int = 364) -> pd.Series:
    """Poisson calls per day: a weekly pattern on a level that grows 150% over the year."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    mean = 1000 * (1 + 1.5 * t / days) * WEEK[t % 7]
    return pd.Series(
        rng.poisson(mean).astype(float), index=pd.date_range("2026-01-05", periods=days)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beats_seasonal_naive_and_its_80_interval_holds_about_80(seed: int) -> None:
    history = weekly_with_trend(seed)
    fc = forecast(history, DAILY, 14)
    week_ahead = score(fc.points, history, DAILY, max_step=7).set_index("method")
    assert week_ahead.loc[fc.method, "wape"] <= 0.9 * week_ahead.loc["seasonal_naive", "wape"]
    chosen = fc.scores.set_index("method").loc[fc.method]
    assert 0.75 <= chosen["coverage_80"] <= 0.85
    assert chosen["points"] == 8 * 7 + 7 * 7  # 8 weekly origins, 14 days ahead where known


def test_the_forecast_follows_the_weekly_pattern_with_nested_intervals() -> None:
    fc = forecast(weekly_with_trend(0), DAILY, 14)
    f = fc.frame
    assert list(f["period"]) == list(pd.date_range("2027-01-04", periods=14))
    assert (f["lower_95"] <= f["lower_80"]).all() and (f["lower_80"] <= f["value"]).all()
    assert (f["value"] <= f["upper_80"]).all() and (f["upper_80"] <= f["upper_95"]).all()
    monday, sunday = f["value"].iloc[0], f["value"].iloc[6]
    assert monday > 2 * sunday  # the simulated Monday is three times Sunday


def test_every_method_is_scored_and_exactly_one_chosen() -> None:
    fc = forecast(weekly_with_trend(3), DAILY, 14)
    assert list(fc.scores["method"]) == list(METHODS)
    assert fc.scores["chosen"].sum() == 1
    assert fc.scores.loc[fc.scores["chosen"], "method"].item() == fc.method
    assert fc.scores["wape"].min() == fc.scores.loc[fc.scores["chosen"], "wape"].item()


def test_days_without_data_are_gaps_not_zeros() -> None:
    history = weekly_with_trend(4)
    history.iloc[-20:-15] = np.nan  # an export that never arrived, inside the backtest
    fc = forecast(history, DAILY, 14)
    gap_days = set(history.index[-20:-15])
    scored = pd.to_datetime(fc.points["origin"]) + pd.to_timedelta(fc.points["step"] - 1, "D")
    assert not gap_days & set(scored)  # no error is taken against a missing day
    assert fc.frame["value"].notna().all()
    # A zero instead of the gap would drag the Monday after it down; NaN does not.
    zeros = history.fillna(0.0)
    assert fc.frame["value"].sum() > forecast(zeros, DAILY, 14).frame["value"].sum()


def test_a_series_shorter_than_two_weeks_gets_no_forecast() -> None:
    with pytest.raises(ShortHistoryError, match="at least two weeks of history"):
        forecast(weekly_with_trend(5, days=13), DAILY, 14)
    mostly_missing = weekly_with_trend(5, days=40)
    mostly_missing.iloc[:30] = np.nan
    with pytest.raises(ShortHistoryError, match="10 day"):
        forecast(mostly_missing, DAILY, 14)


def test_two_weeks_of_history_forecast_without_a_backtest() -> None:
    fc = forecast(weekly_with_trend(6, days=14), DAILY, 7)
    assert fc.points.empty and fc.method == "seasonal_naive"
    assert fc.scores["wape"].isna().all()


def test_hourly_forecast_has_a_daily_shape_and_a_week_of_hours() -> None:
    rng = np.random.default_rng(7)
    hours = np.arange(6 * 7 * 24)
    day_shape = np.clip(np.sin(np.pi * ((hours % 24) - 6) / 14), 0.05, None)
    mean = 40 * day_shape * WEEK[(hours // 24) % 7]
    history = pd.Series(
        rng.poisson(mean).astype(float),
        index=pd.date_range("2026-03-02", periods=len(hours), freq="h"),
    )
    fc = forecast(history, HOURLY, 168)
    assert len(fc.frame) == 168 and (fc.frame[["value", "lower_95"]] >= 0).all().all()
    by_hour = fc.frame.groupby(fc.frame["period"].dt.hour)["value"].mean()
    assert by_hour.loc[12] > 5 * by_hour.loc[2]  # noon busy, night quiet
    assert fc.points["origin"].nunique() == 4  # 6 weeks: origins need two weeks before them


def test_backtest_uses_only_the_past_at_each_origin() -> None:
    history = weekly_with_trend(8, days=120)
    base = backtest(history, DAILY, 7)
    changed = history.copy()
    changed.iloc[-3:] = 10 * changed.iloc[-3:]  # the future of every origin but the last
    again = backtest(changed, DAILY, 7)
    first = base["origin"] == base["origin"].min()
    assert np.allclose(base.loc[first, "value"], again.loc[first, "value"])
