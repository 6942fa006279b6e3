"""The one-pass path: repeats found through call_id hashes, proven, and the same bytes out."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl import duckdb_engine, one_pass, one_pass_writers, run_etl
from support_analytics.etl.writers import KeptWriter

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents.csv"


def call(call_id: str) -> str:
    return json.dumps(
        {
            s.CALL_ID: call_id,
            s.AGENT_ID: "A1",
            s.START_TIME: "2026-01-05T09:00:00Z",
            s.END_TIME: "2026-01-05T09:05:00Z",
        }
    )


def run_files(calls: Path, out: Path) -> tuple[bytes, bytes]:
    run_etl(calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl", progress=False)
    return (out / "c.parquet").read_bytes(), (out / "r.jsonl").read_bytes()


def test_a_plain_file_takes_the_one_pass_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the staged path ran on a plain file")

    monkeypatch.setattr(duckdb_engine, "stage_fast", refuse)
    monkeypatch.setattr(duckdb_engine, "stage_slow", refuse)
    calls = tmp_path / "calls.json"
    calls.write_text("\n".join(call(f"C{i % 50}") for i in range(80)) + "\n")
    result = run_etl(calls, AGENTS, tmp_path / "c.parquet", tmp_path / "m.json",
                     tmp_path / "r.jsonl", progress=False)  # fmt: skip
    assert (result.rows_out, result.rejected[s.REJECT_DUPLICATE]) == (50, 30)
    assert result.manifest["timings"].get("one_pass") is not None


def test_ids_sharing_a_hash_are_never_taken_for_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With a 2-value hash nearly every id collides; the proof against the written output must
    # catch it and hand the file to the staged path, which compares the ids themselves.
    calls = tmp_path / "calls.json"
    calls.write_text("\n".join(call(f"C{i % 300}") for i in range(400)) + "\n")
    expected = run_files(calls, tmp_path / "real")
    monkeypatch.setattr(one_pass, "ID_HASH_SQL", "hash(v.call_id) % 2")
    out = tmp_path / "colliding"
    result = run_etl(calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl")
    assert "share a 64-bit hash" in capsys.readouterr().err
    assert ((out / "c.parquet").read_bytes(), (out / "r.jsonl").read_bytes()) == expected
    assert (result.rows_out, result.rejected[s.REJECT_DUPLICATE]) == (300, 100)


@pytest.mark.timeout(60)
def test_a_failing_parquet_write_stops_the_run_without_publishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls.json"
    calls.write_text("\n".join(call(f"C{i}") for i in range(3000)) + "\n")
    out = tmp_path / "out"
    run_files(calls, out)
    before = (out / "c.parquet").read_bytes()

    def full(self: KeptWriter, *args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(KeptWriter, "add_counted", full)  # both paths' rows go through it
    with pytest.raises(OSError, match="No space left"):
        run_etl(calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl",
                progress=False, force=True)  # fmt: skip
    assert (out / "c.parquet").read_bytes() == before


@pytest.mark.parametrize("block", [1, 1 << 20])
def test_small_batches_and_reject_blocks_give_the_staged_paths_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    # Numbering, repeats and the rejects' merge all cross batch (and block) boundaries here.
    lines = (FIXTURES / "calls_every_reject.json").read_text().splitlines()
    lines = [*lines, "", "  ", *lines, call("R1"), call("R1"), *lines[:5], call("R1")] * 3
    calls = tmp_path / "calls.json"
    calls.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(one_pass, "batch_rows", lambda calls: 7)
    monkeypatch.setattr(one_pass_writers, "REJECTS_BLOCK", block)
    one = run_files(calls, tmp_path / "one")
    monkeypatch.setattr(
        duckdb_engine,
        "stage_one_pass",
        lambda *a, **k: one_pass.OnePassResult(None, fallback="test"),
    )
    assert one == run_files(calls, tmp_path / "staged")


HOSTILE_AGENTS = sorted((FIXTURES / "hostile" / "agents").glob("*.csv"))


@pytest.mark.parametrize("agents", HOSTILE_AGENTS, ids=lambda p: p.name)
def test_names_looked_up_in_arrow_give_the_staged_paths_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, agents: Path
) -> None:
    # The one pass looks agent names and regions up from the agent's code in Arrow; the staged
    # path indexes list literals in DuckDB. Odd agents files (blank names, quotes, markup, a
    # header only) must come out the same, or be refused with the same message.
    calls = tmp_path / "calls.json"
    rows = [call(f"C{i}").replace('"A1"', f'"A{i % 5}"') for i in range(12)]
    calls.write_text("\n".join([*rows, "not json", rows[3]]) + "\n")

    def outcome(out: Path) -> tuple[bytes, bytes] | str:
        try:
            run_etl(calls, agents, out / "c.parquet", out / "m.json", out / "r.jsonl",
                    progress=False)  # fmt: skip
        except InputError as exc:
            return str(exc)
        return (out / "c.parquet").read_bytes(), (out / "r.jsonl").read_bytes()

    one = outcome(tmp_path / "one")
    monkeypatch.setattr(
        duckdb_engine,
        "stage_one_pass",
        lambda *a, **k: one_pass.OnePassResult(None, fallback="test"),
    )
    assert one == outcome(tmp_path / "staged")
