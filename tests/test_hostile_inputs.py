"""Hostile inputs through the real console script: each case in fixtures/hostile/cases.json.

Every case states its outcome: a clear one-line error (exit 2, a message fragment, no output
touched) or exactly which rows are kept, rejected (with reasons) and warned about. For every
successful case the accounting must close: each physical line of the input is blank, kept or
rejected, the manifest agrees with the files, and each rejected line keeps its original text.

Each case runs the real console script (see cli_runner: forked from a process that already
imported the package, so the corpus costs the ETL runs, not 70 interpreter start-ups); the
runs are started together on a small thread pool and each test waits for its own case.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from cli_runner import run_cli

from support_analytics import schema as s

HERE = Path(__file__).parent
HOSTILE = HERE / "fixtures" / "hostile"
DEFAULT_CALLS = HOSTILE / "calls" / "three_clean_calls.json"
DEFAULT_AGENTS = HERE / "fixtures" / "agents.csv"
CASES: list[dict[str, Any]] = json.loads((HOSTILE / "cases.json").read_text(encoding="utf-8"))
ERROR_CASES = [c for c in CASES if c.get("exit", 0) != 0]
OK_CASES = [c for c in CASES if c.get("exit", 0) == 0]
TEN_MB = 10 * 1024 * 1024


@dataclass
class Outcome:
    """One CLI run of one case and where it wrote."""

    proc: subprocess.CompletedProcess[str]
    calls: Path
    out: Path

    @property
    def parquet(self) -> Path:
        return self.out / "c.parquet"

    @property
    def rejects(self) -> Path:
        return self.out / "r.jsonl"

    @property
    def manifest(self) -> Path:
        return self.out / "m.json"


def _generated_calls(kind: str, tmp: Path) -> Path:
    """Inputs too big or too odd to keep in the repository."""
    path = tmp / "calls.json"
    if kind == "@ten_mb_line":
        clean = DEFAULT_CALLS.read_bytes().splitlines()[0]
        big = json.loads(clean) | {s.CALL_ID: "BIG", "notes": "x" * TEN_MB}
        path.write_bytes(clean + b"\n" + json.dumps(big).encode())  # no final newline either
    elif kind == "@zero_bytes":
        path.write_bytes(b"")
    elif kind == "@directory":
        path.mkdir()
    elif kind != "@missing":
        raise ValueError(kind)
    return path


def _generated_agents(kind: str, tmp: Path) -> Path:
    path = tmp / "agents.csv"
    if kind == "@huge_field":
        path.write_text(f"agent_id,agent_name,region\nA1,{'x' * 200_000},Europe\n")
    elif kind != "@missing":
        raise ValueError(kind)
    return path


def _run_case(case: dict[str, Any], tmp: Path) -> Outcome:
    calls_spec = case.get("calls")
    agents_spec = case.get("agents")
    calls = (
        DEFAULT_CALLS
        if calls_spec is None
        else _generated_calls(calls_spec, tmp)
        if calls_spec.startswith("@")
        else HOSTILE / calls_spec
    )
    agents = (
        DEFAULT_AGENTS
        if agents_spec is None
        else _generated_agents(agents_spec, tmp)
        if agents_spec.startswith("@")
        else HOSTILE / agents_spec
    )
    out = tmp / "out"
    argv = [
        "etl", "--quiet",
        "--calls", str(calls), "--agents", str(agents),
        "--output", str(out / "c.parquet"), "--manifest", str(out / "m.json"),
        "--rejects", str(out / "r.jsonl"),
    ]  # fmt: skip
    proc = run_cli(argv, tmp / "logs")
    return Outcome(proc, calls, out)


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Start the CLI for every selected case at once; tests wait on their own future."""
    selected = {
        item.callspec.params["case"]["id"]
        for item in request.session.items
        if item.module is sys.modules[__name__]
        and "case" in getattr(getattr(item, "callspec", None), "params", {})
    }
    by_id = {c["id"]: c for c in CASES}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures: dict[str, Future[Outcome]] = {
            cid: pool.submit(_run_case, by_id[cid], tmp_path_factory.mktemp(cid))
            for cid in sorted(selected)
        }
        yield futures


def _outcome(outcomes: dict[str, Future[Outcome]], case: dict[str, Any]) -> Outcome:
    return outcomes[case["id"]].result()


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


def _input_lines(calls: Path) -> list[bytes]:
    """The physical lines the ETL sees: gunzipped, BOM dropped, split on LF only."""
    data = calls.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    data = data.removeprefix(b"\xef\xbb\xbf")
    pieces = data.split(b"\n")
    return pieces[:-1] if pieces and pieces[-1] == b"" else pieces


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rejects(outcome: Outcome) -> list[dict[str, Any]]:
    return [json.loads(x) for x in outcome.rejects.read_text(encoding="utf-8").splitlines() if x]


def test_corpus_has_at_least_40_distinct_cases() -> None:
    assert len({c["id"] for c in CASES}) == len(CASES) >= 40


# --- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_unusable_input_exits_2(outcomes: dict[str, Future[Outcome]], case: dict) -> None:
    proc = _outcome(outcomes, case).proc
    assert proc.returncode == case["exit"], proc.stderr


@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_unusable_input_gives_one_clear_line(
    outcomes: dict[str, Future[Outcome]], case: dict
) -> None:
    proc = _outcome(outcomes, case).proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and case["error"] in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_unusable_input_writes_nothing(outcomes: dict[str, Future[Outcome]], case: dict) -> None:
    outcome = _outcome(outcomes, case)
    left = [p.name for p in outcome.out.iterdir()] if outcome.out.exists() else []
    assert [n for n in left if not n.endswith(".lock")] == []


# --- kept and rejected rows --------------------------------------------------------------------
@pytest.mark.parametrize("case", OK_CASES, ids=_ids(OK_CASES))
def test_usable_input_exits_0_quietly(outcomes: dict[str, Future[Outcome]], case: dict) -> None:
    proc = _outcome(outcomes, case).proc
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


@pytest.mark.parametrize("case", OK_CASES, ids=_ids(OK_CASES))
def test_every_line_is_blank_kept_or_rejected(
    outcomes: dict[str, Future[Outcome]], case: dict
) -> None:
    outcome = _outcome(outcomes, case)
    rows = json.loads(outcome.manifest.read_text(encoding="utf-8"))["rows"]
    n_rejected = sum(rows["rejected"].values())
    assert rows["input"] == rows["output"] + n_rejected
    assert rows["input"] + rows["blank_lines"] == len(_input_lines(outcome.calls))
    assert pq.read_metadata(outcome.parquet).num_rows == rows["output"]
    assert len(_rejects(outcome)) == n_rejected


@pytest.mark.parametrize("case", OK_CASES, ids=_ids(OK_CASES))
def test_rows_are_kept_rejected_and_warned_as_expected(
    outcomes: dict[str, Future[Outcome]], case: dict
) -> None:
    outcome = _outcome(outcomes, case)
    manifest = json.loads(outcome.manifest.read_text(encoding="utf-8"))
    assert manifest["rows"]["output"] == case["kept"]
    assert {k: v for k, v in manifest["rows"]["rejected"].items() if v} == case.get("rejected", {})
    assert {k: v for k, v in manifest["warnings"].items() if v} == case.get("warnings", {})
    assert manifest["rows"]["blank_lines"] == case.get("blank_lines", 0)
    by_reason = Counter(r[s.REJECT_REASON] for r in _rejects(outcome))
    assert dict(by_reason) == case.get("rejected", {})
    if "reject_lines" in case:
        got = [[r[s.REJECT_LINE_NUMBER], r[s.REJECT_REASON]] for r in _rejects(outcome)]
        assert got == case["reject_lines"]


@pytest.mark.parametrize("case", [c for c in OK_CASES if "values" in c], ids=lambda c: c["id"])
def test_kept_values_are_exactly_as_expected(
    outcomes: dict[str, Future[Outcome]], case: dict
) -> None:
    table = pq.read_table(_outcome(outcomes, case).parquet)
    for column, expected in case["values"].items():
        assert [_plain(v) for v in table.column(column).to_pylist()] == expected, column


@pytest.mark.parametrize("case", [c for c in OK_CASES if c.get("rejected")], ids=lambda c: c["id"])
def test_rejected_lines_keep_their_original_text(
    outcomes: dict[str, Future[Outcome]], case: dict
) -> None:
    outcome = _outcome(outcomes, case)
    lines = _input_lines(outcome.calls)
    for reject in _rejects(outcome):
        original = lines[reject[s.REJECT_LINE_NUMBER] - 1].rstrip(b"\r\n")
        assert reject[s.REJECT_RAW] == original.decode("utf-8", "backslashreplace")
