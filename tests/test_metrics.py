"""KPIs against hand-computed values on the 10-call fixture (tests/fixtures/report/metrics_*).

Reporting period by default: 2026-01-01..2026-01-28 (28 days ending at the latest call);
previous period: 2025-12-04..2025-12-31. In the period: c1 c2 c3 c4 c5 c7 c9; before: c6 c8 c10.
Repeats (next call of the same customer within 7 days of the start): c1 (c2 five days later),
c3 (c4 exactly 7 days later, in another region), c8 (c10 six days later).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from support_analytics import schema as s
from support_analytics.report import metrics
from support_analytics.report.metrics import agents as metrics_agents


@pytest.fixture(scope="module")
def seg(metrics_parquet: Path) -> metrics.Segment:
    return metrics.segment(metrics_parquet)


@pytest.fixture(scope="module")
def hive_dir(metrics_parquet: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hive") / "calls"
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet('{metrics_parquet}')) TO '{out}' "
        f"(FORMAT parquet, PARTITION_BY ({s.CALL_DATE}))"
    )
    return out


def test_default_period_is_28_days_ending_at_latest_call(seg: metrics.Segment) -> None:
    assert seg.period == metrics.Period(date(2026, 1, 1), date(2026, 1, 28))
    assert seg.period.previous == metrics.Period(date(2025, 12, 4), date(2025, 12, 31))


def test_kpis_for_the_reporting_period(seg: metrics.Segment) -> None:
    k = metrics.kpis(seg)
    assert k["calls"] == 7
    assert k["aht"] == pytest.approx(87 / 7)
    assert k["csat"] == pytest.approx(23 / 6)
    assert k["rated_calls"] == 6
    assert k["csat_good_share"] == pytest.approx(4 / 6)
    assert k["resolution_rate"] == pytest.approx(5 / 7)
    assert k["escalation_rate"] == pytest.approx(1 / 7)
    assert k["escalations"] == 1
    assert k["repeat_rate"] == pytest.approx(2 / 7)
    assert k["fcr"] == pytest.approx(4 / 7)


def test_kpis_are_plain_python_values(seg: metrics.Segment) -> None:
    for key, value in metrics.kpis(seg).items():
        assert type(value) in (int, float), (key, type(value))


def test_kpis_for_the_previous_period(seg: metrics.Segment) -> None:
    k = metrics.kpis(seg, seg.period.previous)
    assert k["calls"] == 3
    assert k["aht"] == pytest.approx(20 / 3)
    assert k["csat"] == pytest.approx(3.0)
    assert k["csat_good_share"] == pytest.approx(0.5)
    assert k["resolution_rate"] == pytest.approx(2 / 3)
    assert k["escalation_rate"] == pytest.approx(1 / 3)
    assert k["repeat_rate"] == pytest.approx(1 / 3)
    assert k["fcr"] == pytest.approx(2 / 3)


def test_deltas_and_whether_they_are_good(seg: metrics.Segment) -> None:
    now, before = metrics.kpis(seg), metrics.kpis(seg, seg.period.previous)
    c = {k: metrics.KpiComparison(k, now[k], before[k]) for k in metrics.KPI_KEYS}
    assert c["calls"].delta == 4 and c["calls"].delta_pct == pytest.approx(4 / 3)
    assert c["calls"].good is None  # volume is neither good nor bad
    assert c["aht"].delta == pytest.approx(87 / 7 - 20 / 3) and c["aht"].good is False
    assert c["csat"].delta == pytest.approx(23 / 6 - 3) and c["csat"].good is True
    assert c["fcr"].delta == pytest.approx(4 / 7 - 2 / 3) and c["fcr"].good is False
    assert c["escalation_rate"].delta == pytest.approx(1 / 7 - 1 / 3)
    assert c["escalation_rate"].good is True  # fewer escalations is good
    assert c["repeat_rate"].good is True


def test_no_change_against_a_previous_period_partly_before_the_data(
    seg: metrics.Segment, metrics_parquet: Path
) -> None:
    # the data starts 2025-12-20; the previous 28 days run from 2025-12-04: three calls in
    # twelve of its days, so "+133%" would compare with a period the data barely covers
    assert seg.period.previous.start == date(2025, 12, 4)
    c = metrics.kpi_comparison(seg)
    for key in metrics.KPI_KEYS:
        assert c[key].coverage == "partial", key
        assert (c[key].delta, c[key].delta_pct, c[key].good) == (None, None, None), key
    assert c["calls"].previous == 3  # still there to read, only not compared
    week = metrics.kpi_comparison(
        metrics.segment(metrics_parquet, None, "2026-01-11", "2026-01-28")
    )
    assert week["calls"].coverage == "full"  # previous: 2025-12-24 .. 2026-01-10
    assert week["calls"].delta == week["calls"].current - week["calls"].previous
    early = metrics.kpi_comparison(
        metrics.segment(metrics_parquet, None, "2025-12-20", "2025-12-31")
    )
    assert early["aht"].coverage == "none" and early["aht"].delta is None


def test_previous_coverage_at_the_data_edges() -> None:
    first = date(2026, 1, 10)
    period = metrics.Period(date(2026, 1, 10), date(2026, 1, 19))  # 10 days from the first
    assert metrics.previous_coverage(period.previous, first) == "none"
    for start, want in [(date(2026, 1, 20), "full"), (date(2026, 1, 19), "partial")]:
        p = metrics.Period(start, start + timedelta(days=9))
        assert metrics.previous_coverage(p.previous, first) == want, start
    assert metrics.previous_coverage(period.previous, None) == "none"  # no data at all


def test_repeat_calls_are_found_across_regions(metrics_parquet: Path) -> None:
    south = metrics.kpis(metrics.segment(metrics_parquet, region="South"))
    assert south["calls"] == 2  # c3, c9
    assert south["repeat_rate"] == pytest.approx(1 / 2)  # c3's repeat c4 is in North
    assert south["fcr"] == pytest.approx(1 / 2)  # c9 (no customer id: never a repeat)
    north = metrics.kpis(metrics.segment(metrics_parquet, region="North"))
    assert north["calls"] == 5
    assert north["aht"] == pytest.approx(76 / 5)
    assert north["repeat_rate"] == pytest.approx(1 / 5)
    assert north["fcr"] == pytest.approx(3 / 5)


def test_empty_segment_gives_zero_calls_and_no_rates(metrics_parquet: Path) -> None:
    seg = metrics.segment(metrics_parquet, region="Nowhere")
    k = metrics.kpis(seg)
    assert k["calls"] == 0
    assert all(k[key] is None for key in metrics.KPI_KEYS if key != "calls")
    c = metrics.kpi_comparison(seg)
    assert c["aht"].delta is None and c["aht"].good is None
    assert metrics.agent_leaderboard(seg).empty
    assert int(metrics.hour_weekday(seg)["calls"].sum()) == 0


def test_empty_parquet_file_is_no_data_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(s.empty_cleaned_table(), path)
    assert metrics.data_range(path) == (None, None, 0)
    seg = metrics.segment(path)
    assert metrics.kpis(seg)["calls"] == 0
    assert metrics.daily_volume(seg).empty
    assert metrics.regions(path) == []


def test_hive_partitioned_folder_gives_the_same_numbers(
    hive_dir: Path, seg: metrics.Segment
) -> None:
    assert any(hive_dir.glob("call_date=*/*.parquet"))
    hive = metrics.segment(hive_dir)
    assert hive.period == seg.period
    assert metrics.kpis(hive) == pytest.approx(metrics.kpis(seg))
    assert metrics.regions(hive_dir) == ["North", "South"]


def test_explicit_period(metrics_parquet: Path) -> None:
    seg = metrics.segment(metrics_parquet, start_date="2026-01-20", end_date="2026-01-21")
    assert seg.period.days == 2
    assert metrics.kpis(seg)["calls"] == 2  # c1, c3


def test_start_after_end_is_refused(metrics_parquet: Path) -> None:
    with pytest.raises(ValueError, match="after"):
        metrics.segment(metrics_parquet, start_date="2026-02-01", end_date="2026-01-01")


def test_daily_volume_covers_every_day_with_a_7_day_average(seg: metrics.Segment) -> None:
    df = metrics.daily_volume(seg)
    assert df["call_date"].iloc[0] == date(2025, 12, 20)
    assert df["call_date"].iloc[-1] == date(2026, 1, 28)
    assert len(df) == 40 and int(df["calls"].sum()) == 10
    by_day = df.set_index("call_date")
    # Jan 22-28 has calls on the 22nd, 25th, 26th and 28th (c5, c2, c9, c4); the 23rd, 24th and
    # 27th have no call in the whole dataset: missing data, left out of the average.
    assert by_day.loc[date(2026, 1, 28), "avg_7d"] == pytest.approx(1.0)
    assert pd.isna(by_day.loc[date(2026, 1, 27), "calls"])
    assert pd.isna(by_day.loc[date(2026, 1, 27), "avg_7d"])
    assert int(df["in_period"].sum()) == 28


def test_daily_volume_zero_for_a_region_is_not_a_gap(metrics_parquet: Path) -> None:
    # Jan 20 has a call in the data (c1, agent a1) but none in the other region: a real zero.
    regions = metrics.regions(metrics_parquet)
    counts = {
        r: metrics.daily_volume(metrics.segment(metrics_parquet, r)).set_index("call_date")
        for r in regions
    }
    day = date(2026, 1, 20)
    values = sorted(int(c.loc[day, "calls"]) for c in counts.values())
    assert values[0] == 0 and sum(values) == 1


def test_data_gaps_lists_runs_of_days_without_calls(metrics_parquet: Path) -> None:
    gaps = metrics.data_gaps(metrics_parquet)
    # calls on Dec 20, 26, 30, Jan 10, 20, 21, 22, 25, 26, 28
    assert gaps.iloc[0].to_dict() == {
        "first_day": date(2025, 12, 21),
        "last_day": date(2025, 12, 25),
        "days": 5,
    }
    assert int(gaps["days"].sum()) == 40 - 10
    assert len(gaps) == 6


def test_data_gaps_empty_when_every_day_has_calls(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(s.empty_cleaned_table(), path)
    assert metrics.data_gaps(path).empty


def test_hour_weekday_grid(seg: metrics.Segment) -> None:
    df = metrics.hour_weekday(seg)
    assert len(df) == 7 * 24 and int(df["calls"].sum()) == 7
    # 2026-01-20 is a Tuesday (weekday 1); c1 starts at 09:00 UTC
    assert int(df.query("weekday == 1 and hour == 9")["calls"].iloc[0]) == 1


def test_duration_histogram_is_pre_binned(seg: metrics.Segment) -> None:
    df = metrics.duration_histogram(seg, bin_minutes=2, max_minutes=20)
    assert int(df["calls"].sum()) == 7
    account = df[df["issue_type"] == "account"]
    # c5 (30 min) lands in the open last bin, c7 (12 min) in 12-14
    assert sorted(account["bin_start"]) == [12.0, 20.0]
    assert account["bin_end"].isna().sum() == 1


def test_issue_breakdown(seg: metrics.Segment) -> None:
    df = metrics.issue_breakdown(seg)
    billing = df[df["issue_type"] == "billing"]
    assert billing["issue_calls"].iloc[0] == 3 and billing["calls"].sum() == 3
    assert df["issue_type"].iloc[0] == "billing"  # the biggest issue first


def test_region_comparison_and_leaderboard(seg: metrics.Segment) -> None:
    regions = metrics.region_comparison(seg).set_index("region")
    assert regions.loc["North", "calls"] == 5 and regions.loc["South", "calls"] == 2
    board = metrics.agent_leaderboard(seg).set_index("agent_id")
    assert board.loc["a1", "calls"] == 3  # c1, c4, c7
    assert board.loc["a3", "escalations"] == 1
    assert s.CUSTOMER_ID not in board.columns


def test_rejected_sample_masks_customer_ids(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.jsonl"
    lines = [
        {"line_number": 2, "reason": "malformed_json", "raw": 'oops "customer_id": "u-77"'},
        {"line_number": 1, "reason": "invalid_timestamp", "raw": '{"customer_id": "u-42"}'},
    ]
    rejects.write_text("".join(json.dumps(x) + "\n" for x in lines))
    df = metrics.rejected_sample(rejects)
    assert list(df["line_number"]) == [1, 2]
    assert "u-42" not in "".join(df["raw"]) and "u-77" not in "".join(df["raw"])


def test_data_quality_counts_from_the_manifest() -> None:
    manifest = {
        "rows": {"input": 10, "output": 7, "blank_lines": 1, "rejected": {"malformed_json": 3}},
        "warnings": {"invalid_rating": 2},
    }
    assert metrics.row_counts(manifest) == {
        "input": 10,
        "output": 7,
        "rejected": 3,
        "blank_lines": 1,
        "warnings": 2,
    }
    by_reason = metrics.rejects_by_reason(manifest).set_index("reason")["lines"]
    assert by_reason["malformed_json"] == 3 and by_reason.sum() == 3


# --- segments over several regions and issue types (the page's in-browser selection) --------
@pytest.fixture(scope="module")
def blanks_parquet(metrics_parquet: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 10-call fixture with Cy's calls (c3, c6, c9) from an unknown agent (no region) and
    c5 without an issue type."""
    out = tmp_path_factory.mktemp("blanks") / "calls.parquet"
    duckdb.execute(
        f"""COPY (SELECT * REPLACE (
                CASE WHEN {s.AGENT_ID} = 'a3' THEN NULL ELSE {s.REGION} END AS {s.REGION},
                CASE WHEN {s.CALL_ID} = 'c5' THEN NULL ELSE {s.ISSUE_TYPE} END AS {s.ISSUE_TYPE})
            FROM read_parquet('{metrics_parquet}')) TO '{out}' (FORMAT parquet)"""
    )
    return out


def test_segment_over_several_regions(metrics_parquet: Path) -> None:
    both = metrics.segment(metrics_parquet, regions=["South", "North"])
    assert both.regions == ("North", "South") and both.region is None
    assert metrics.kpis(both)["calls"] == 7
    south = metrics.segment(metrics_parquet, regions=["South"])
    assert metrics.kpis(south) == metrics.kpis(metrics.segment(metrics_parquet, region="South"))


def test_segment_filtered_by_issue_types(metrics_parquet: Path) -> None:
    billing = metrics.kpis(metrics.segment(metrics_parquet, issues=["billing"]))
    assert billing["calls"] == 3  # c1, c2, c9
    assert billing["aht"] == pytest.approx(35 / 3)
    assert billing["resolution_rate"] == 1.0
    assert billing["fcr"] == pytest.approx(2 / 3)  # c1 is repeated by c2
    seg = metrics.segment(metrics_parquet, regions=["South"], issues=["billing", "technical"])
    k = metrics.kpis(seg)
    assert k["calls"] == 2 and k["escalation_rate"] == pytest.approx(1 / 2)  # c3, c9
    assert metrics.kpis(seg, seg.period.previous)["calls"] == 1  # c6


def test_empty_sets_select_no_call(metrics_parquet: Path) -> None:
    for seg in (
        metrics.segment(metrics_parquet, regions=[]),
        metrics.segment(metrics_parquet, issues=[]),
    ):
        assert metrics.kpis(seg)["calls"] == 0
        assert metrics.agent_leaderboard(seg).empty
        assert metrics.region_comparison(seg).empty


def test_region_and_regions_must_agree(metrics_parquet: Path) -> None:
    assert metrics.segment(metrics_parquet, region="North").regions == ("North",)
    assert metrics.segment(metrics_parquet, "North", regions=["North"]).region == "North"
    with pytest.raises(ValueError, match="contradicts"):
        metrics.segment(metrics_parquet, region="North", regions=["South"])
    with pytest.raises(TypeError, match="collection"):
        metrics.segment(metrics_parquet, regions="North")


def test_region_comparison_shows_the_selected_regions(metrics_parquet: Path) -> None:
    account = metrics.region_comparison(metrics.segment(metrics_parquet, issues=["account"]))
    assert list(account["region"]) == ["North"] and list(account["calls"]) == [2]  # c5, c7
    south = metrics.region_comparison(metrics.segment(metrics_parquet, regions=["South"]))
    assert list(south["region"]) == ["South"] and list(south["calls"]) == [2]


def test_leaderboard_and_charts_follow_the_issue_filter(metrics_parquet: Path) -> None:
    seg = metrics.segment(metrics_parquet, issues=["billing"])
    board = metrics.agent_leaderboard(seg).set_index("agent_id")
    assert board["calls"].to_dict() == {"a1": 1, "a2": 1, "a3": 1}
    assert set(metrics.issue_breakdown(seg)["issue_type"]) == {"billing"}
    assert int(metrics.hour_weekday(seg)["calls"].sum()) == 3
    assert set(metrics.duration_histogram(seg)["issue_type"]) == {"billing"}


def test_daily_volume_under_an_issue_filter(metrics_parquet: Path) -> None:
    seg = metrics.segment(metrics_parquet, issues=["billing"])
    df = metrics.daily_volume(seg).set_index("call_date")
    assert df.loc[date(2026, 1, 20), "calls"] == 1  # c1
    assert df.loc[date(2026, 1, 21), "calls"] == 0  # c3 is technical: a real zero
    assert pd.isna(df.loc[date(2026, 1, 2), "calls"])  # nobody called: a gap
    assert pd.isna(df.loc[date(2026, 1, 2), "avg_7d"])


def test_region_filter_leaves_out_unknown_agents(blanks_parquet: Path) -> None:
    every = metrics.segment(blanks_parquet)
    named = metrics.segment(blanks_parquet, regions=["North", "South"])
    assert metrics.kpis(every)["calls"] == 7
    assert metrics.kpis(named)["calls"] == 5  # c3 and c9 have no region now
    assert list(metrics.region_comparison(every)["region"]) == ["North"]
    board = metrics.agent_leaderboard(every).set_index("agent_id")
    assert board.loc["a3", "calls"] == 2 and pd.isna(board.loc["a3", "region"])


def test_blank_issue_selects_calls_without_issue_type(blanks_parquet: Path) -> None:
    seg = metrics.segment(blanks_parquet, issues=[""])
    assert metrics.kpis(seg)["calls"] == 1  # c5
    assert list(metrics.issue_breakdown(seg)["issue_type"]) == [""]
    assert metrics.kpis(metrics.segment(blanks_parquet, issues=["account"]))["calls"] == 1  # c7


def test_aht_is_exact_in_hundredths(metrics_parquet: Path, tmp_path: Path) -> None:
    """0.1 + 0.2 minutes average to 0.15 exactly: durations are summed as integer hundredths,
    so the page's sums over its arrays agree with this to the last digit."""
    path = tmp_path / "calls.parquet"
    duckdb.execute(
        f"""COPY (SELECT * REPLACE (
                CASE WHEN {s.CALL_ID} = 'c1' THEN 0.1 ELSE 0.2 END AS {s.CALL_DURATION_MINUTES})
            FROM read_parquet('{metrics_parquet}') WHERE {s.CALL_ID} IN ('c1', 'c2')
        ) TO '{path}' (FORMAT parquet)"""
    )
    k = metrics.kpis(metrics.segment(path))
    assert k["calls"] == 2 and k["aht"] == 0.15


def test_unknown_agents_beyond_the_busiest_share_one_row(
    metrics_parquet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Garbage agent ids cannot flood the leaderboard: past the busiest (here 1) they share one
    row, and every call still counts."""
    path = tmp_path / "junk.parquet"
    junk = "CASE call_id WHEN 'c5' THEN 'j1' WHEN 'c7' THEN 'j1' WHEN 'c3' THEN 'j2' "
    junk += "WHEN 'c9' THEN 'j3' END"
    duckdb.execute(
        f"""COPY (SELECT * REPLACE (
                coalesce({junk}, {s.AGENT_ID}) AS {s.AGENT_ID},
                CASE WHEN {junk} IS NULL THEN {s.AGENT_NAME} END AS {s.AGENT_NAME},
                CASE WHEN {junk} IS NULL THEN {s.REGION} END AS {s.REGION})
            FROM read_parquet('{metrics_parquet}')) TO '{path}' (FORMAT parquet)"""
    )
    monkeypatch.setattr(metrics_agents, "LEADERBOARD_UNKNOWN_AGENTS", 1)
    board = metrics.agent_leaderboard(metrics.segment(path))
    board = board.astype(object).where(board.notna(), None)
    rows = list(zip(board["agent_id"], board["agent_name"], board["calls"], strict=True))
    assert rows == [
        ("a1", "Ann", 2),  # c1, c4
        ("j1", None, 2),  # c5, c7: the busiest unknown id keeps its row
        (None, metrics.OTHER_UNKNOWN_AGENTS, 2),  # j2 (c3) and j3 (c9)
        ("a2", "Bob", 1),  # c2
    ]
    assert board["calls"].sum() == metrics.kpis(metrics.segment(path))["calls"]


def test_a_missing_dataset_says_to_run_the_etl_first(tmp_path: Path) -> None:
    """The dashboard notebook opened on a fresh clone (no ETL yet) used to fail with DuckDB's
    IOException."""
    from support_analytics.errors import InputError

    missing = tmp_path / "data" / "cleaned_calls.parquet"
    with pytest.raises(InputError, match=r"no cleaned calls yet; run `support-analytics etl`"):
        metrics.segment(missing)
