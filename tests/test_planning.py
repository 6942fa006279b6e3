"""The Planning page's data and content (report/planning/volumes.py, page.py and
report/charts/planning.py) on simulated calls cleaned by the real ETL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import simulated_parquet

from support_analytics.report import charts, planning


@pytest.fixture(scope="module")
def ten_weeks(ten_weeks_parquet: Path) -> Path:
    return ten_weeks_parquet


@pytest.fixture(scope="module")
def page(ten_weeks: Path) -> planning.PlanningPage:
    return planning.planning_page(ten_weeks)


def _without_day(src: Path, day: str, dst: Path) -> Path:
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{src}') WHERE call_date <> DATE '{day}') "
        f"TO '{dst}' (FORMAT parquet)"
    )
    con.close()
    return dst


def test_a_day_without_data_is_a_gap_and_a_quiet_region_is_zero(
    ten_weeks: Path, tmp_path: Path
) -> None:
    first = planning.load_volumes(ten_weeks)
    day = first.days[30]
    data = planning.load_volumes(
        _without_day(ten_weeks, day.date().isoformat(), tmp_path / "g.parquet")
    )
    daily = data.daily()
    assert np.isnan(daily[day]) and daily.drop(day).notna().all()
    hourly = data.hourly_series()
    assert hourly[day : day + pd.Timedelta(hours=23)].isna().all()
    assert hourly.drop(hourly[day : day + pd.Timedelta(hours=23)].index).notna().all()
    assert daily.sum() + first.daily()[day] == first.daily().sum()  # nothing else lost
    # A region with no call on a day the others have: 0, not missing.
    region = data.regions[0]
    rows = data.hourly[data.hourly["region"] == region]
    busy = set(data.days) - set(rows["call_date"])
    per_region = data.daily(region)
    assert all(per_region[d] == 0 for d in busy)


def test_recent_agents_are_the_mean_distinct_agents_per_weekday_hour(ten_weeks: Path) -> None:
    data = planning.load_volumes(ten_weeks)
    recent = data.recent().set_index(["weekday", "hour"])
    last = data.days.max()
    start = last - pd.Timedelta(days=7 * planning.RECENT_WEEKS - 1)
    con = duckdb.connect()
    per_day = con.execute(
        f"""SELECT call_date, count(DISTINCT agent_id) AS agents,
                   sum(call_duration_minutes) * 60 / count(*) AS aht
            FROM read_parquet('{ten_weeks}')
            WHERE hour_of_day = 14 AND isodow(call_date) = 3
              AND call_date BETWEEN DATE '{start.date()}' AND DATE '{last.date()}'
            GROUP BY 1"""
    ).df()
    con.close()
    wednesdays = [d for d in data.days if d >= start and d.weekday() == 2]
    expected = per_day["agents"].sum() / len(wednesdays)
    assert recent.loc[(2, 14), "agents_on_calls"] == pytest.approx(expected)


def test_the_page_has_all_calls_then_every_region(page: planning.PlanningPage) -> None:
    data_regions = page.names[1:]
    assert page.names[0] == planning.ALL_CALLS and data_regions == sorted(data_regions)
    for plan in page.series.values():
        assert plan.daily is not None and plan.hourly is not None, plan.notes
        assert len(plan.daily.frame) == 14 and len(plan.hourly.frame) == 168


def test_staffing_grid_marks_hours_short_of_the_need(page: planning.PlanningPage) -> None:
    grid = page.series[planning.ALL_CALLS].staffing
    assert len(grid) == 168 and set(grid["weekday"]) == set(range(7))
    assert (grid["short"] == (grid["agents_on_calls"] < grid["agents"])).all()
    busy = grid[grid["calls"] > 1]
    assert (busy["service_level"] >= page.target.target).all()
    assert (grid["rostered"] >= grid["agents"]).all()


def test_regions_add_up_to_about_all_calls(page: planning.PlanningPage) -> None:
    total = page.series[planning.ALL_CALLS].daily.history.sum()
    regions = sum(p.daily.history.sum() for n, p in page.series.items() if n != planning.ALL_CALLS)
    assert regions <= total  # calls of agents missing from agents.csv have no region


def test_the_select_shows_one_series_block_per_card(page: planning.PlanningPage) -> None:
    select = charts.planning_select(page).html
    assert select.count("<option") == len(page.names)
    blocks = charts.planning_forecasts(page, "daily").html
    assert blocks.count("data-sa-plan=") == len(page.names)
    assert blocks.count('style="display:none"') == len(page.names) - 1
    assert blocks.count("Plotly.newPlot") == len(page.names)
    table = charts.planning_backtest(page, "daily").html
    assert table.count("<table") == len(page.names) and ">yes<" in table


def test_a_short_history_says_it_needs_more_instead_of_a_forecast(tmp_path: Path) -> None:
    short = planning.planning_page(simulated_parquet(tmp_path, 300, 10))
    for plan in short.series.values():
        assert plan.daily is None and plan.hourly is None and plan.staffing is None
        assert "at least two weeks of history" in plan.notes["daily"]
    for markup in (
        charts.planning_forecasts(short, "daily"),
        charts.planning_forecasts(short, "hourly"),
        charts.planning_staffing(short),
    ):
        assert "Plotly.newPlot" not in markup.html
        assert markup.html.count("at least two weeks of history") == len(short.names)


def test_names_from_the_data_are_escaped(page: planning.PlanningPage) -> None:
    plan = page.series[planning.ALL_CALLS]
    hostile = planning.PlanningPage({'<b x="1">': plan}, page.target, 14, 168)
    html = charts.planning_select(hostile).html + charts.planning_forecasts(hostile, "daily").html
    assert '<b x="1">' not in html and "&lt;b x=&quot;1&quot;&gt;</option>" in html
    assert 'data-sa-plan="0"' in html  # blocks are matched by position, never by name
