"""Rate and mix effects: they add up to the change the value box shows, for any selection, and
a pure mix change is told as mix."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import numpy as np
import pytest
from insights_data import write_calls

from support_analytics.report import insights, labels, metrics
from support_analytics.report.insights import shift_share


@pytest.fixture(scope="module")
def sample_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed 5,000-call sample, cleaned by the real ETL."""
    from support_analytics import config
    from support_analytics.etl import run_etl

    out = tmp_path_factory.mktemp("sample")
    run_etl(
        config.DATA_DIR / config.SIM_CALLS_NAME,
        config.DATA_DIR / config.SIM_AGENTS_NAME,
        out / "calls.parquet",
        out / "manifest.json",
        out / "rejects.jsonl",
        progress=False,
    )
    return out / "calls.parquet"


def _random_selection(rng: random.Random, path: Path) -> metrics.Segment:
    regions = metrics.regions(path)
    issues = ["billing", "technical", "account", "shipping", "returns", ""]
    end = dt.date(2026, 4, 4) - dt.timedelta(days=rng.randrange(0, 30))
    start = end - dt.timedelta(days=rng.randrange(6, 40))
    pick_r = rng.sample(regions, rng.randrange(1, len(regions) + 1)) if rng.random() < 0.6 else None
    pick_i = rng.sample(issues, rng.randrange(1, len(issues) + 1)) if rng.random() < 0.6 else None
    return metrics.segment(path, start_date=start, end_date=end, regions=pick_r, issues=pick_i)


def test_rate_and_mix_add_up_to_the_shown_change_for_50_selections(sample_parquet: Path) -> None:
    rng = random.Random(23)
    checked = 0
    for _ in range(50):
        seg = _random_selection(rng, sample_parquet)
        shown_box = metrics.kpi_comparison(seg)
        for key, change in insights.kpi_changes(seg).items():
            box = shown_box[key]
            # the same change as the value box, to the digit it shows
            assert labels.fmt_delta(key, change.delta) == labels.fmt_delta(key, box.delta)
            if change.delta is None or key == "calls":
                continue
            for sp in change.splits.values():
                assert sp.mix + sp.rate == pytest.approx(change.delta, abs=1e-12)
                assert sum(c.mix + c.rate for c in sp.contributors) == pytest.approx(
                    change.delta, abs=1e-12
                )
                parts = insights.shown_parts(key, change.delta, [sp.mix, sp.rate])
                assert sum(parts) == insights.shown(key, change.delta)
                checked += 1
    assert checked > 300


def test_calls_split_is_each_segments_change_in_calls(sample_parquet: Path) -> None:
    seg = metrics.segment(sample_parquet)
    change = insights.kpi_changes(seg)["calls"]
    for sp in change.splits.values():
        assert sum(c.rate for c in sp.contributors) == change.delta


def test_small_segments_are_pooled_as_other(sample_parquet: Path) -> None:
    seg = metrics.segment(sample_parquet, start_date="2026-03-30", end_date="2026-04-04")
    change = insights.kpi_changes(seg)["resolution_rate"]
    for sp in change.splits.values():
        for c in sp.contributors:
            if c.name != insights.OTHER:
                assert min(c.calls_before, c.calls_now) >= insights.MIN_SEGMENT_CALLS


def test_nothing_is_said_within_noise(sample_parquet: Path) -> None:
    seg = metrics.segment(sample_parquet)
    change = insights.kpi_changes(seg)["escalation_rate"]
    assert not change.significant
    assert insights.sentence(change) is None
    assert "two-proportion z-test at 95%" in insights.noise_note(change)


def _mix_world(path: Path) -> Path:
    """Two 28-day periods; each issue type resolves exactly as often in both, but technical
    calls (which resolve less) go from 18% to 27% of calls: the whole change is mix."""
    days, issues, regions, res = [], [], [], []
    plan = {0: {"technical": 1080, "billing": 4920}, 1: {"technical": 1620, "billing": 4380}}
    resolve = {"technical": 0.5, "billing": 0.8}
    for period, counts in plan.items():
        for issue, n in counts.items():
            k = round(n * resolve[issue])
            days += [period * 28 + i % 28 for i in range(n)]
            issues += [issue] * n
            regions += ["Europe" if i % 2 else "Asia Pacific" for i in range(n)]
            res += ["resolved"] * k + ["unresolved"] * (n - k)
    return write_calls(
        path,
        day=np.array(days),
        issue=issues,
        region=regions,
        resolution=res,
        minutes=np.full(len(days), 5.0),
    )


def test_a_pure_mix_change_is_told_as_mix(tmp_path: Path) -> None:
    path = _mix_world(tmp_path / "mix.parquet")
    seg = metrics.segment(path)
    change = insights.kpi_changes(seg)["resolution_rate"]
    issue = change.splits["issue_type"]
    assert issue.rate == pytest.approx(0.0, abs=1e-12)
    assert issue.mix == pytest.approx(change.delta, abs=1e-12)
    assert change.delta == pytest.approx(0.719 - 0.746)
    assert change.significant
    said = insights.sentence(change)
    assert said == (
        "Resolution rate fell 2.7 pp; 2.7 pp of it is mix: technical calls rose from 18% to 27% "
        "of calls, and their resolution rate is below average (50.0% vs 71.9%)."
    )


def test_a_segment_new_this_period_is_pooled_and_all_mix(tmp_path: Path) -> None:
    n = 200
    path = write_calls(
        tmp_path / "new.parquet",
        day=np.r_[np.arange(n) % 28, 28 + np.arange(2 * n) % 28],
        issue=["billing"] * n + ["billing"] * n + ["returns"] * n,
        region=["Europe"] * (3 * n),
        resolution=(["resolved", "unresolved"] * (3 * n // 2)),
        minutes=np.full(3 * n, 4.0),
    )
    seg = metrics.segment(path)
    change = shift_share.kpi_changes(seg)["aht"]
    new = next(c for c in change.splits["issue_type"].contributors if c.name == insights.OTHER)
    assert (new.calls_before, new.calls_now) == (0, n)  # returns: none before, so pooled
    assert new.rate_before is None and new.rate == 0.0
    assert change.splits["issue_type"].mix + change.splits["issue_type"].rate == pytest.approx(
        change.delta
    )


def test_calls_without_a_resolution_count_as_the_value_box_counts_them(tmp_path: Path) -> None:
    n = 400
    rng = np.random.default_rng(5)
    res = rng.choice(np.array(["resolved", "escalated", "unresolved", None], dtype=object), n)
    path = write_calls(
        tmp_path / "nulls.parquet",
        day=np.arange(n) % 56,
        issue=rng.choice(["billing", "technical"], n),
        region=rng.choice(["Europe", "Asia Pacific"], n),
        resolution=res,
        minutes=rng.uniform(1, 20, n),
        rating=rng.integers(0, 6, n),
    )
    seg = metrics.segment(path)
    box = metrics.kpi_comparison(seg)
    for key, change in insights.kpi_changes(seg).items():
        assert change.previous == pytest.approx(box[key].previous, abs=1e-12), key
        assert change.current == pytest.approx(box[key].current, abs=1e-12), key
