"""The page's slice arrays (slices.py) and their in-browser computation (web/slicer.js).

The exactness tests build the payload from real ETL output, run slicer.js's compute() under
node (tests/js/run_compute.js) for many seeded random selections, and require every number to
equal what support_analytics.report.metrics computes in DuckDB for the same selection, and every
displayed string to equal labels' / charts.leaderboard_frame's rendering of it.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from support_analytics import schema as s
from support_analytics.etl import run_etl
from support_analytics.report import charts, labels, metrics, slices
from support_analytics.report.metrics import agents as metrics_agents
from support_analytics.simulate import simulate

REPO = Path(__file__).resolve().parents[1]
JS_TESTS = REPO / "tests" / "js"
RUNNER = JS_TESTS / "run_compute.js"
REPORT_FIXTURES = Path(__file__).parent / "fixtures" / "report"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on PATH (slicer.js runs in it)")


# --- datasets --------------------------------------------------------------------------------
def _etl(calls: Path, agents: Path, out: Path) -> Path:
    run_etl(
        calls,
        agents,
        out / "calls.parquet",
        out / "manifest.json",
        out / "rejects.jsonl",
        progress=False,
    )
    return out / "calls.parquet"


@pytest.fixture(scope="module")
def site_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site fixture: hostile agent names and regions, unknown agents."""
    out = tmp_path_factory.mktemp("slices-site")
    return _etl(REPORT_FIXTURES / "site_calls.json", REPORT_FIXTURES / "site_agents.csv", out)


@pytest.fixture(scope="module")
def simulated_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few thousand simulated dirty calls (so unknown agents), with a 5-day hole in the data
    and some calls without an issue type."""
    out = tmp_path_factory.mktemp("slices-sim")
    simulate(
        out,
        calls=4000,
        agents=12,
        days=75,
        start="2026-01-05",
        seed=12,
        dirty_rate=0.06,
        progress=False,
    )
    clean = _etl(out / "sample_calls.json", out / "agents.csv", out)
    holed = out / "holed.parquet"
    duckdb.execute(
        f"""COPY (
            SELECT * REPLACE (
                CASE WHEN hash({s.CALL_ID}) % 40 = 0 THEN NULL ELSE {s.ISSUE_TYPE} END
                    AS {s.ISSUE_TYPE})
            FROM read_parquet('{clean}')
            WHERE {s.CALL_DATE} NOT BETWEEN DATE '2026-02-10' AND DATE '2026-02-14'
        ) TO '{holed}' (FORMAT parquet)"""
    )
    return holed


# --- running slicer.js -----------------------------------------------------------------------
def run_node(
    payload: dict[str, Any], selections: list[dict[str, Any]], fragments: list[str] | None = None
) -> dict[str, Any]:
    stdin = json.dumps({"payload": payload, "selections": selections, "fragments": fragments or []})
    proc = subprocess.run(
        [NODE, str(RUNNER)], input=stdin, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def random_selections(payload: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    """Seeded selections: all / none / random subsets of regions and issues (with an unknown
    name now and then), every preset, custom ranges inside, across and outside the data."""
    rng = random.Random(seed)
    first = date.fromisoformat(payload["first_day"])
    last = date.fromisoformat(payload["last_day"])
    span = (last - first).days

    def names(pool: list[str]) -> list[str] | None:
        roll = rng.random()
        if roll < 0.3:
            return None
        if roll < 0.4:
            return []
        picked = rng.sample(pool, rng.randint(1, len(pool))) if pool else []
        if rng.random() < 0.15:
            picked.append("<img src=x onerror=alert(1)>")
        return picked

    out = []
    for i in range(n):
        if i < len(slices.PRESETS):
            p = slices.preset_period(slices.PRESETS[i], first, last)
            start, end = p.start, p.end
        else:
            roll = rng.random()
            if roll < 0.6:
                start = first + timedelta(days=rng.randint(0, span))
                end = start + timedelta(days=rng.randint(0, max(span - (start - first).days, 0)))
            elif roll < 0.8:
                start = first - timedelta(days=rng.randint(1, 20))
                end = first + timedelta(days=rng.randint(0, span))
            elif roll < 0.9:
                start = last - timedelta(days=rng.randint(0, 10))
                end = last + timedelta(days=rng.randint(1, 15))
            else:
                start = last + timedelta(days=rng.randint(30, 60))
                end = start + timedelta(days=rng.randint(0, 5))
        out.append(
            {
                "regions": names(payload["regions"]),
                "issues": names(payload["issues"]),
                "from": start.isoformat(),
                "to": end.isoformat(),
            }
        )
    return out


# --- comparing -------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def records(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    return [
        {c: plain(v) for c, v in zip(columns, row, strict=True)}
        for row in df[columns].itertuples(index=False)
    ]


KPI_ROW = [
    "calls",
    "aht",
    "csat",
    "rated_calls",
    "csat_good_share",
    "resolution_rate",
    "escalation_rate",
    "escalations",
    "repeat_rate",
    "fcr",
]


def assert_same_as_metrics(path: Path, sel: dict[str, Any], got: dict[str, Any]) -> None:
    seg = metrics.segment(
        path,
        start_date=sel["from"],
        end_date=sel["to"],
        regions=sel["regions"],
        issues=sel["issues"],
    )
    res, shown = got["result"], got["display"]
    where = json.dumps(sel)

    comps = metrics.kpi_comparison(seg)
    for key, comp in comps.items():
        js = res["kpis"][key]
        expected = {
            "current": comp.current,
            "previous": comp.previous,
            "delta": comp.delta,
            "delta_pct": comp.delta_pct,
            "good": comp.good,
            "coverage": comp.coverage,
        }
        assert {k: js[k] for k in expected} == expected, (key, where)
        assert shown["boxes"][key] == {
            "current": labels.fmt_kpi(key, comp.current),
            "previous": labels.fmt_kpi(key, comp.previous),
            "delta": labels.fmt_delta(key, comp.delta, comp.delta_pct, comp.coverage),
        }, (key, where)
    assert res["empty"] == (comps["calls"].current == 0)

    daily = metrics.daily_volume(seg)
    assert res["daily"]["dates"] == [d.isoformat() for d in daily["call_date"]], where
    assert res["daily"]["calls"] == [
        plain(v) if not pd.isna(v) else None for v in daily["calls"]
    ], where
    assert res["daily"]["avg_7d"] == [plain(v) for v in daily["avg_7d"]], where
    assert res["daily"]["in_period"] == [bool(v) for v in daily["in_period"]], where

    grid = metrics.hour_weekday(seg)
    expected_grid = [[0] * 24 for _ in range(7)]
    for w, h, n in grid.itertuples(index=False):
        expected_grid[int(w)][int(h)] = int(n)
    assert res["heatmap"] == expected_grid, where

    hist = metrics.duration_histogram(seg)
    assert res["duration"] == records(hist, ["issue_type", "bin_start", "bin_end", "calls"]), where

    issues = metrics.issue_breakdown(seg)
    assert res["issues"] == records(issues, ["issue_type", "resolution", "calls", "issue_calls"])

    regions = metrics.region_comparison(seg)
    js_regions = [{k: r[k] for k in ["region", *KPI_ROW]} for r in res["regions"]]
    assert js_regions == records(regions, ["region", *KPI_ROW]), where

    board = metrics.agent_leaderboard(seg)
    cols = ["agent_id", "agent_name", "region", *KPI_ROW]
    assert [{k: r[k] for k in cols} for r in res["leaderboard"]] == records(board, cols), where
    frame = charts.leaderboard_frame(board)
    assert shown["leaderboard"] == records(frame, list(frame.columns)), where


# --- tests -----------------------------------------------------------------------------------
@needs_node
def test_node_unit_tests_pass() -> None:
    """The in-page computation's own unit tests (node --test), so `pytest` covers them."""
    proc = subprocess.run(
        [NODE, "--test", str(JS_TESTS)], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "# fail 0" in proc.stdout


@needs_node
@pytest.mark.parametrize("listed_unknown", [100, 1])
def test_every_number_matches_metrics_on_simulated_data(
    simulated_parquet: Path, listed_unknown: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_agents, "LEADERBOARD_UNKNOWN_AGENTS", listed_unknown)
    payload = slices.build_slice_data(simulated_parquet)
    assert "" in payload["issues"]  # calls without an issue type are selectable
    unknown = [
        i
        for i, r in zip(payload["agents"]["id"], payload["agents"]["region"], strict=True)
        if r == -1
    ]
    folded = metrics.OTHER_UNKNOWN_AGENTS in payload["agents"]["name"]
    assert len(unknown) >= 2 and folded == (listed_unknown == 1), unknown  # kept, or folded
    gaps = metrics.data_gaps(simulated_parquet)
    assert gaps["days"].sum() >= 5
    selections = random_selections(payload, 32, seed=1212)
    selections.append({"regions": None, "issues": None, "from": "2026-02-09", "to": "2026-02-20"})
    out = run_node(payload, selections)
    for sel, got in zip(selections, out["results"], strict=True):
        assert_same_as_metrics(simulated_parquet, sel, got)
    assert any(r["result"]["empty"] for r in out["results"])
    assert any(not r["result"]["empty"] for r in out["results"])


@needs_node
def test_every_number_matches_metrics_on_the_site_fixture(site_parquet: Path) -> None:
    payload = slices.build_slice_data(site_parquet)
    selections = random_selections(payload, 14, seed=7)
    out = run_node(payload, selections)
    for sel, got in zip(selections, out["results"], strict=True):
        assert_same_as_metrics(site_parquet, sel, got)


@needs_node
def test_every_number_matches_metrics_on_the_metrics_fixture(metrics_parquet: Path) -> None:
    payload = slices.build_slice_data(metrics_parquet)
    selections = random_selections(payload, 8, seed=3)
    out = run_node(payload, selections)
    for sel, got in zip(selections, out["results"], strict=True):
        assert_same_as_metrics(metrics_parquet, sel, got)


@needs_node
def test_presets_match_the_python_periods(simulated_parquet: Path) -> None:
    payload = slices.build_slice_data(simulated_parquet)
    out = run_node(payload, [])
    first = date.fromisoformat(payload["first_day"])
    last = date.fromisoformat(payload["last_day"])
    assert [p["name"] for p in out["presets"]] == list(slices.PRESETS)
    for p in out["presets"]:
        period = slices.preset_period(p["name"], first, last)
        assert (p["from"], p["to"]) == (period.start.isoformat(), period.end.isoformat())
    default = metrics.segment(simulated_parquet).period
    assert slices.preset_period(slices.DEFAULT_PRESET, first, last) == default


@needs_node
def test_hostile_fragment_selects_only_known_names(site_parquet: Path) -> None:
    payload = slices.build_slice_data(site_parquet)
    fragments = [
        "#region=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "#region=<img src=x onerror=alert(1)>",
        "#region=Europe,%E0%A4%A&issue=billing",
        f"#region={_encode('<script>alert(1)</script>')}&from=2026-03-05&to=2026-02-01",
    ]
    got = run_node(payload, [], fragments)["fragments"]
    assert got[0]["regions"] is None and got[1]["regions"] is None  # not a region: ignored
    assert got[2]["regions"] == ["Europe"] and got[2]["issues"] == ["billing"]
    assert got[3]["regions"] == ["<script>alert(1)</script>"]  # a real (hostile) region name
    assert got[3]["preset"] == slices.DEFAULT_PRESET  # from after to: the default period


def _encode(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_payload_size_does_not_grow_with_calls(tmp_path: Path) -> None:
    """Ten times the calls over the same days, agents and issues: about the same payload."""
    sizes = []
    for n in (20_000, 200_000):
        simulate(
            tmp_path / str(n), calls=n, agents=10, days=30, seed=5, dirty_rate=0.0, progress=False
        )
        path = _etl(
            tmp_path / str(n) / "sample_calls.json",
            tmp_path / str(n) / "agents.csv",
            tmp_path / str(n),
        )
        payload = slices.build_slice_data(path)
        assert payload["calls"] == metrics.data_range(path)[2]
        sizes.append(len(slices.slice_json(payload)))
    assert sizes[1] < 2.5 * sizes[0], sizes


def test_empty_dataset_gives_an_empty_payload(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "empty.parquet"
    pq.write_table(s.empty_cleaned_table(), path)
    payload = slices.build_slice_data(path)
    assert payload["calls"] == 0 and payload["first_day"] is None and payload["regions"] == []
    assert payload["default_end"] == date.today().isoformat()
    if NODE is not None:
        today = date.today().isoformat()
        got = run_node(payload, [{"regions": None, "issues": None, "from": today, "to": today}])
        result = got["results"][0]["result"]
        assert result["empty"] and result["leaderboard"] == [] and result["daily"]["dates"] == []
        assert got["presets"][1]["to"] == today  # presets end today, as metrics.segment does


def test_slice_json_cannot_close_a_script_element(site_parquet: Path) -> None:
    payload = slices.build_slice_data(site_parquet)
    text = slices.slice_json(payload)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["regions"] == payload["regions"]
    assert "<script>alert(1)</script>" in payload["regions"]


def test_write_slice_data_replaces_the_file_atomically(site_parquet: Path, tmp_path: Path) -> None:
    out = tmp_path / "slices.json"
    out.write_text("old")
    payload = slices.write_slice_data(site_parquet, out)
    assert json.loads(out.read_text(encoding="utf-8")) == payload
    assert [p.name for p in tmp_path.iterdir()] == ["slices.json"]


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        slices.preset_period("last_week", None, date(2026, 1, 1))
