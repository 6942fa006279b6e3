"""Behaviour of the synthetic call-log simulator (small sizes: the whole file runs in seconds)."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from support_analytics import config, schema
from support_analytics import simulate as sim
from support_analytics.config import SIM_AGENTS_NAME, SIM_CALLS_NAME
from support_analytics.simulate import REGIONS, RESOLUTIONS, SimulationSummary, simulate
from support_analytics.simulate import calls as sim_calls
from support_analytics.simulate import roster as sim_roster
from support_analytics.simulate import run as sim_run
from support_analytics.simulate import text as sim_text
from support_analytics.simulate import world as sim_world

ISO = re.compile(schema.ISO_TIMESTAMP_REGEX)
ISSUE_NAMES = {it.name for it in sim.ISSUE_TYPES}
REGION_BY_NAME = {r.name: r for r in REGIONS}
UTC = dt.UTC


# --- helpers ------------------------------------------------------------------------------
def read_lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8")
    assert text == "" or text.endswith("\n")
    return text.split("\n")[:-1] if text else []


def read_agents(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def parse_ts(value: Any) -> dt.datetime | None:
    """The UTC instant of a timestamp value, or None if it is not a valid ISO string."""
    if not isinstance(value, str) or not ISO.match(value):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def classify(line: str, seen_ids: set[str], agent_ids: set[str]) -> str | None:
    """The fault kind of a line, or None for a clean line (records call ids as it goes)."""
    try:
        call = json.loads(line)
    except json.JSONDecodeError:
        return "truncated_json" if line.startswith("{") else "garbage_line"
    assert isinstance(call, dict), line
    call_id = call[schema.CALL_ID]
    duplicate = call_id in seen_ids
    seen_ids.add(call_id)
    raw_start, raw_end = call.get(schema.START_TIME), call.get(schema.END_TIME)
    if raw_start is None or raw_end is None:
        return "missing_timestamp"
    start, end = parse_ts(raw_start), parse_ts(raw_end)
    if start is None or end is None:
        return "invalid_timestamp"
    if end <= start:
        return "end_not_after_start"
    if call[schema.AGENT_ID] not in agent_ids:
        return "unknown_agent"
    if duplicate:
        return "duplicate_call_id"
    rating = call.get(schema.RATING)
    if rating is not None and not (type(rating) is int and 1 <= rating <= 5):
        return "invalid_rating"
    if call[schema.ISSUE_TYPE] not in ISSUE_NAMES or call[schema.RESOLUTION] not in RESOLUTIONS:
        return "odd_casing"
    return None


def run(tmp_path: Path, name: str = "out", **kwargs: Any) -> SimulationSummary:
    kwargs.setdefault("progress", False)
    return simulate(tmp_path / name, **kwargs)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """20k calls without faults, parsed once for the statistical tests."""
    summary = run(tmp_path_factory.mktemp("clean"), calls=20_000, dirty_rate=0.0)
    lines = read_lines(summary.calls_path)
    return {
        "summary": summary,
        "lines": lines,
        "calls": [json.loads(line) for line in lines],
        "agents": {a[schema.AGENT_ID]: a for a in read_agents(summary.agents_path)},
    }


@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    summary = run(tmp_path_factory.mktemp("dirty"), calls=5000, dirty_rate=0.2)
    agent_ids = {a[schema.AGENT_ID] for a in read_agents(summary.agents_path)}
    seen: set[str] = set()
    kinds = [classify(line, seen, agent_ids) for line in read_lines(summary.calls_path)]
    return {"summary": summary, "kinds": kinds}


# --- determinism --------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = run(tmp_path, "a", calls=3000, seed=11, dirty_rate=0.1)
    b = run(tmp_path, "b", calls=3000, seed=11, dirty_rate=0.1)
    assert a.calls_path.read_bytes() == b.calls_path.read_bytes()
    assert a.agents_path.read_bytes() == b.agents_path.read_bytes()


def test_different_seed_gives_different_calls(tmp_path: Path) -> None:
    a = run(tmp_path, "a", calls=1000, seed=1)
    b = run(tmp_path, "b", calls=1000, seed=2)
    assert a.calls_path.read_bytes() != b.calls_path.read_bytes()


def test_chunking_keeps_lines_unique_ordered_and_repeat_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim_run, "CHUNK_CALLS", 700)
    summary = run(tmp_path, calls=5000, days=30, dirty_rate=0.0)
    calls = [json.loads(line) for line in read_lines(summary.calls_path)]
    ids = [c[schema.CALL_ID] for c in calls]
    assert ids == [f"C{i:09d}" for i in range(1, 5001)]
    per_customer = collections.Counter(c[schema.CUSTOMER_ID] for c in calls)
    assert sum(n - 1 for n in per_customer.values()) > 0.15 * len(calls)


# --- output files -------------------------------------------------------------------------
def test_writes_one_line_per_call_and_reports_it(tmp_path: Path) -> None:
    summary = run(tmp_path, calls=1234, agents=7, dirty_rate=0.05)
    assert summary.calls_path == tmp_path / "out" / SIM_CALLS_NAME
    assert summary.agents_path == tmp_path / "out" / SIM_AGENTS_NAME
    assert len(read_lines(summary.calls_path)) == 1234 == summary.calls_written
    assert summary.agents_written == 7
    assert b"\r" not in summary.calls_path.read_bytes()
    assert summary.seconds >= 0


def test_creates_the_output_dir_and_leaves_no_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "er"
    simulate(out, calls=100, progress=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([SIM_AGENTS_NAME, SIM_CALLS_NAME])


def test_a_failed_run_leaves_the_previous_files_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = run(tmp_path, calls=500)
    before = summary.calls_path.read_bytes()

    def boom(self: object, rows: object) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sim_text.Renderer, "render", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(tmp_path, calls=800, seed=3)
    assert summary.calls_path.read_bytes() == before
    assert sorted(p.name for p in summary.calls_path.parent.iterdir()) == sorted(
        [SIM_AGENTS_NAME, SIM_CALLS_NAME]
    )


def test_zero_calls_writes_an_empty_calls_file(tmp_path: Path) -> None:
    summary = run(tmp_path, calls=0, agents=3)
    assert summary.calls_path.read_bytes() == b""
    assert summary.calls_written == 0 and summary.dirty_lines == 0
    assert len(read_agents(summary.agents_path)) == 3


def test_quiet_run_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(tmp_path, calls=200)
    assert capsys.readouterr() == ("", "")


# --- agents -------------------------------------------------------------------------------
def test_agents_csv_has_header_unique_ids_and_all_five_regions(tmp_path: Path) -> None:
    summary = run(tmp_path, calls=10, agents=40)
    header = summary.agents_path.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(schema.AGENT_COLUMNS)
    agents = read_agents(summary.agents_path)
    assert len({a[schema.AGENT_ID] for a in agents}) == 40
    assert {a[schema.REGION] for a in agents} == set(REGION_BY_NAME)
    assert all(re.fullmatch(r"A\d{3}", a[schema.AGENT_ID]) for a in agents)


def test_agent_names_are_unique_and_commas_are_quoted(tmp_path: Path) -> None:
    combos = len(sim.FIRST_NAMES) * len(sim.LAST_NAMES)
    summary = run(tmp_path, calls=10, agents=combos)
    agents = read_agents(summary.agents_path)
    names = [a[schema.AGENT_NAME] for a in agents]
    assert len(set(names)) == combos
    assert all(len(a) == 3 and None not in a for a in agents)
    assert any("," in name for name in names)
    assert '"' in summary.agents_path.read_text(encoding="utf-8")


# --- clean lines --------------------------------------------------------------------------
def test_clean_lines_parse_into_the_expected_fields(clean_run: dict[str, Any]) -> None:
    required = set(schema.RAW_CALL_FIELDS) - {schema.RATING}
    for call in clean_run["calls"]:
        assert required <= call.keys() <= set(schema.RAW_CALL_FIELDS)
        assert re.fullmatch(r"C\d{9}", call[schema.CALL_ID])
        assert re.fullmatch(r"CU\d{7}", call[schema.CUSTOMER_ID])
        assert call[schema.AGENT_ID] in clean_run["agents"]
        assert call[schema.ISSUE_TYPE] in ISSUE_NAMES
        assert call[schema.RESOLUTION] in RESOLUTIONS


def test_lines_are_compact_json_in_a_fixed_key_order(clean_run: dict[str, Any]) -> None:
    for line, call in zip(clean_run["lines"][:500], clean_run["calls"], strict=False):
        assert line == json.dumps(call, separators=(",", ":"))
        assert list(call)[:5] == list(schema.RAW_CALL_FIELDS)[:5]


def test_timestamp_styles_all_denote_an_end_after_the_start(clean_run: dict[str, Any]) -> None:
    styles: collections.Counter[str] = collections.Counter()
    for call in clean_run["calls"]:
        raw_start, raw_end = call[schema.START_TIME], call[schema.END_TIME]
        start, end = parse_ts(raw_start), parse_ts(raw_end)
        assert start is not None and end is not None, call
        assert end > start
        assert len(raw_start) in (19, 20, 25)  # seconds precision
        style = "Z" if raw_start.endswith("Z") else "local" if len(raw_start) == 25 else "naive"
        assert raw_end.endswith("Z") == (style == "Z") and len(raw_end) == len(raw_start)
        styles[style] += 1
    shares = {k: v / len(clean_run["calls"]) for k, v in styles.items()}
    assert shares["Z"] == pytest.approx(0.6, abs=0.03)
    assert shares["local"] == pytest.approx(0.3, abs=0.03)
    assert shares["naive"] == pytest.approx(0.1, abs=0.02)


def test_local_times_carry_the_agents_offset_and_fall_in_business_hours(
    clean_run: dict[str, Any],
) -> None:
    for call in clean_run["calls"]:
        region = REGION_BY_NAME[clean_run["agents"][call[schema.AGENT_ID]][schema.REGION]]
        offset = dt.timedelta(minutes=region.utc_offset_minutes)
        raw = call[schema.START_TIME]
        if len(raw) == 25:
            assert raw.endswith(region.offset_text)
        local = parse_ts(raw).astimezone(dt.timezone(offset))  # type: ignore[union-attr]
        hour = local.hour + local.minute / 60
        assert region.open_hour <= hour < region.close_hour, (call, region)


def test_without_faults_ids_agents_and_ratings_are_all_valid(clean_run: dict[str, Any]) -> None:
    assert clean_run["summary"].dirty_lines == 0
    ids = [c[schema.CALL_ID] for c in clean_run["calls"]]
    assert len(set(ids)) == len(ids)
    seen: set[str] = set()
    agent_ids = set(clean_run["agents"])
    assert all(classify(line, seen, agent_ids) is None for line in clean_run["lines"])
    ratings = {c.get(schema.RATING) for c in clean_run["calls"]}
    assert ratings == {None, 1, 2, 3, 4, 5}


def test_about_35_percent_of_calls_are_unrated_as_null_or_absent(
    clean_run: dict[str, Any],
) -> None:
    calls = clean_run["calls"]
    null = sum(schema.RATING in c and c[schema.RATING] is None for c in calls)
    absent = sum(schema.RATING not in c for c in calls)
    assert (null + absent) / len(calls) == pytest.approx(0.35, abs=0.02)
    assert null > 0.1 * len(calls) and absent > 0.1 * len(calls)


def test_most_calls_are_resolved_and_10_to_15_percent_escalated(
    clean_run: dict[str, Any],
) -> None:
    mix = collections.Counter(c[schema.RESOLUTION] for c in clean_run["calls"])
    total = len(clean_run["calls"])
    assert mix["resolved"] / total > 0.6
    assert 0.10 <= mix["escalated"] / total <= 0.15


def test_issue_types_have_their_own_durations(clean_run: dict[str, Any]) -> None:
    minutes = collections.defaultdict(list)
    for c in clean_run["calls"]:
        length = parse_ts(c[schema.END_TIME]) - parse_ts(c[schema.START_TIME])  # type: ignore[operator]
        minutes[c[schema.ISSUE_TYPE]].append(length.total_seconds() / 60)
    median = {k: sorted(v)[len(v) // 2] for k, v in minutes.items()}
    assert median["technical"] > 1.5 * median["account"]
    for issue in sim.ISSUE_TYPES:
        assert median[issue.name] == pytest.approx(issue.median_minutes, rel=0.25)


def test_mondays_are_busier_than_weekends(clean_run: dict[str, Any]) -> None:
    weekday: collections.Counter[int] = collections.Counter()
    for c in clean_run["calls"]:
        region = REGION_BY_NAME[clean_run["agents"][c[schema.AGENT_ID]][schema.REGION]]
        local = parse_ts(c[schema.START_TIME]).astimezone(  # type: ignore[union-attr]
            dt.timezone(dt.timedelta(minutes=region.utc_offset_minutes))
        )
        weekday[local.weekday()] += 1
    assert weekday[0] == max(weekday.values())
    assert weekday[0] > 2 * weekday[5] and weekday[0] > 3 * weekday[6]


def test_calls_span_the_requested_days(clean_run: dict[str, Any]) -> None:
    days = {parse_ts(c[schema.START_TIME]).date() for c in clean_run["calls"]}  # type: ignore[union-attr]
    first = dt.date.fromisoformat(config.SIM_DEFAULT_START)
    assert min(days) == first
    assert max(days) <= first + dt.timedelta(days=config.SIM_DEFAULT_DAYS)
    assert len(days) >= config.SIM_DEFAULT_DAYS - 1


# --- repeat callers -----------------------------------------------------------------------
def _callbacks(calls: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """(resolution, called again within 7 days) for each call of the customer's history."""
    by_customer = collections.defaultdict(list)
    for c in calls:
        by_customer[c[schema.CUSTOMER_ID]].append(
            (parse_ts(c[schema.START_TIME]), c[schema.RESOLUTION])
        )
    result = []
    for history in by_customer.values():
        history.sort()
        for (when, resolution), after in zip(history, history[1:] + [(None, None)], strict=True):
            again = after[0] is not None and after[0] - when <= dt.timedelta(days=7)
            result.append((resolution, again))
    return result


def test_repeat_callers_call_again_within_a_week(clean_run: dict[str, Any]) -> None:
    calls = clean_run["calls"]
    customers = {c[schema.CUSTOMER_ID] for c in calls}
    assert len(customers) < 0.8 * len(calls)
    again = sum(flag for _, flag in _callbacks(calls))
    assert again / len(calls) > 0.15


def test_unresolved_calls_are_followed_up_more_often(clean_run: dict[str, Any]) -> None:
    outcomes = collections.defaultdict(list)
    for resolution, again in _callbacks(clean_run["calls"]):
        outcomes[resolution].append(again)
    rate = {k: sum(v) / len(v) for k, v in outcomes.items()}
    assert rate["unresolved"] > 1.5 * rate["resolved"]
    assert rate["escalated"] > 1.5 * rate["resolved"]


# --- faults -------------------------------------------------------------------------------
def test_every_fault_kind_appears_when_dirty(dirty_run: dict[str, Any]) -> None:
    kinds = collections.Counter(k for k in dirty_run["kinds"] if k is not None)
    assert set(kinds) == set(sim.FAULT_KINDS)
    assert min(kinds.values()) >= 0.5 * max(kinds.values())  # roughly even


def test_dirty_lines_are_counted_exactly_and_near_the_rate(dirty_run: dict[str, Any]) -> None:
    dirty = sum(k is not None for k in dirty_run["kinds"])
    assert dirty == dirty_run["summary"].dirty_lines
    assert dirty / len(dirty_run["kinds"]) == pytest.approx(0.2, abs=0.02)


def test_every_line_is_valid_utf8_and_newline_terminated(dirty_run: dict[str, Any]) -> None:
    data = dirty_run["summary"].calls_path.read_bytes()
    data.decode("utf-8")
    assert data.endswith(b"\n") and data.count(b"\n") == dirty_run["summary"].calls_written


def test_fast_and_flexible_renderers_write_the_same_lines() -> None:
    """Lines the fast path writes must match the per-field path used for structural faults."""
    rng = np.random.default_rng(5)
    roster = sim_roster.Roster.make(rng, 12)
    generator = sim_calls.CallGenerator(rng, roster, 3000, 10, dt.date(2026, 1, 5), 0.3)
    renderer = sim_text.Renderer(agents=12, calls=3000, customers=generator.customer_pool)
    rows = generator.chunk(0, 3000)
    rows = rows.take(np.flatnonzero(np.isin(rows.fault, (sim_world.CLEAN, *sim_world.FAST_FAULTS))))
    assert len(set(rows.fault.tolist())) == 1 + len(sim_world.FAST_FAULTS)
    flexible = "".join(renderer._render_flexible(rows).to_pylist()).encode()
    assert renderer.render(rows).to_pybytes() == flexible


# --- arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"calls": -1},
        {"agents": 0},
        {"days": 0},
        {"dirty_rate": -0.01},
        {"dirty_rate": 1.5},
        {"dirty_rate": math.nan},
        {"start": "2026-02-30"},
        {"start": "next tuesday"},
        {"start": "9999-12-30"},
        {"calls": 2.5},
        {"seed": -3},
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
def test_bad_arguments_raise_value_error(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        simulate(tmp_path / "never", progress=False, **kwargs)
    assert not (tmp_path / "never").exists()


def test_start_accepts_a_date_object(tmp_path: Path) -> None:
    summary = run(tmp_path, calls=50, start=dt.date(2025, 3, 1), days=3)
    first = json.loads(read_lines(summary.calls_path)[0])
    assert parse_ts(first[schema.START_TIME]).date() >= dt.date(2025, 2, 28)  # type: ignore[union-attr]


def test_daily_split_writes_one_file_a_day_holding_every_call(tmp_path: Path) -> None:
    summary = simulate(
        tmp_path / "raw", calls=2000, days=5, start="2026-03-02", seed=4, dirty_rate=0.0,
        progress=False,
        split="daily",
    )  # fmt: skip
    files = sorted((tmp_path / "raw").glob("calls-*.json"))
    assert [f.name for f in files] == [f"calls-2026-03-0{d}.json" for d in range(2, 7)]
    assert summary.calls_path == tmp_path / "raw"
    ids = [json.loads(line)["call_id"] for f in files for line in f.read_text().splitlines()]
    assert len(ids) == 2000 and len(set(ids)) == 2000  # no faults: every id once, across days
    assert (tmp_path / "raw" / SIM_AGENTS_NAME).exists()
    assert not (tmp_path / "raw" / SIM_CALLS_NAME).exists()


def test_an_unknown_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        simulate(tmp_path, calls=10, split="hourly", progress=False)
