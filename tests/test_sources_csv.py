"""CSV, TSV and Parquet exports through a mapping: a bank's log, a PBX's CDR, a Parquet dump.

The bank log (tests/fixtures/sources/bank_calls.tsv) has its date and times in separate
columns, local Israeli time, a call past midnight, outcome codes and a PHANTOM entry that is
not a call; its expected rows are recomputed here in Python from the same file.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from support_analytics import schema as s
from support_analytics.cli import main
from support_analytics.etl import run_etl

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
BANK = FIXTURES / "bank_calls.tsv"
BANK_MAPPING = FIXTURES / "bank-tsv.toml"
AGENTS = FIXTURES / "agents.csv"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_ANALYTICS_PSEUDONYM_KEY", "test-key-0123456789abcdef")


def _etl(calls: Path, out: Path, source: str | Path) -> int:
    return main(
        ["etl", "-q", "--calls", str(calls), "--agents", str(AGENTS), "--source", str(source),
         "--output", str(out / "calls.parquet"), "--manifest", str(out / "manifest.json"),
         "--rejects", str(out / "rejects.jsonl")]
    )  # fmt: skip


def _rejects(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "rejects.jsonl").read_text().splitlines()]


def _bank_expected() -> list[tuple]:
    """The bank's calls recomputed by hand: local date+time -> UTC, next day past midnight."""
    zone, seen, rows = ZoneInfo("Asia/Jerusalem"), set(), []
    with open(BANK, newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            if r["outcome"] == "PHANTOM":
                continue
            day = datetime.strptime(r["date"], "%y%m%d")
            try:
                entry = datetime.strptime(r["vru_entry"], "%H:%M:%S")
            except ValueError:
                continue  # an impossible time: invalid_timestamp
            leave = {"AGENT": r["ser_exit"], "HANG": r["q_exit"] if r["q_time"] != "0" else None}
            exit_text = leave.get(r["outcome"]) or r["vru_exit"]
            exit_ = datetime.strptime(exit_text, "%H:%M:%S")
            start = day.replace(hour=entry.hour, minute=entry.minute, second=entry.second)
            end = day.replace(hour=exit_.hour, minute=exit_.minute, second=exit_.second)
            if exit_.time() < entry.time():
                end += timedelta(days=1)
            if r["call_id"] in seen:
                continue
            seen.add(r["call_id"])
            rows.append((
                r["call_id"],
                None if r["server"] == "NO_SERVER" else r["server"],
                start.replace(tzinfo=zone), end.replace(tzinfo=zone),
                {"AGENT": "resolved", "HANG": "unresolved"}[r["outcome"]],
            ))  # fmt: skip
    return rows


def test_bank_tsv_with_separate_date_and_time_columns(tmp_path: Path) -> None:
    assert _etl(BANK, tmp_path, BANK_MAPPING) == 0
    table = pq.read_table(tmp_path / "calls.parquet")
    cols = (s.CALL_ID, s.AGENT_ID, s.START_TIME, s.END_TIME, s.RESOLUTION)
    got = list(zip(*(table[c].to_pylist() for c in cols), strict=True))
    assert got == _bank_expected()
    assert table.schema.names == list(s.CLEANED_COLUMNS)
    wrap = got[3]
    assert wrap[3] - wrap[2] == timedelta(minutes=6, seconds=2)  # 23:58:10 -> 00:04:12
    reasons = [(r[s.REJECT_LINE_NUMBER], r[s.REJECT_REASON]) for r in _rejects(tmp_path)]
    assert reasons == [(6, s.REJECT_NOT_A_CALL), (8, s.REJECT_INVALID_TS), (9, s.REJECT_DUPLICATE)]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    rows = manifest["rows"]
    assert rows["input"] == 9 == rows["output"] + sum(rows["rejected"].values())
    assert manifest["options"]["source"]["name"] == "bank-tsv"


def test_rejects_raw_names_the_record_read(tmp_path: Path) -> None:
    _etl(BANK, tmp_path, BANK_MAPPING)
    phantom = json.loads(_rejects(tmp_path)[0][s.REJECT_RAW])
    assert phantom["call_id"] == "33120" and phantom["outcome"] == "PHANTOM"


def test_cdr_csv_preset_masks_callers_everywhere(tmp_path: Path) -> None:
    assert _etl(FIXTURES / "Master.csv", tmp_path, "cdr-csv") == 0
    table = pq.read_table(tmp_path / "calls.parquet")
    assert table[s.CALL_ID].to_pylist() == ["1772442000.1", "1772442600.3", "1772449200.5"]
    assert table[s.AGENT_ID].to_pylist() == ["bob", None, "bob"]
    assert table[s.RESOLUTION].to_pylist() == [None, "unresolved", None]
    assert table[s.CALL_DURATION_MINUTES].to_pylist() == [5.33, 0.75, 12.5]
    assert [(r[s.REJECT_LINE_NUMBER], r[s.REJECT_REASON]) for r in _rejects(tmp_path)] == [
        (3, s.REJECT_NON_POSITIVE)
    ]
    for name in ("calls.parquet", "rejects.jsonl", "manifest.json"):
        data = (tmp_path / name).read_bytes()
        assert b"555010" not in data, name
    assert b"555010" not in json.dumps(table.to_pylist(), default=str).encode()


def test_gzipped_csv_folder_reads_every_file_and_names_it(tmp_path: Path) -> None:
    lines = BANK.read_text().splitlines(keepends=True)
    folder = tmp_path / "in" / "1999" / "01"
    folder.mkdir(parents=True)
    (folder / "a.tsv.gz").write_bytes(gzip.compress("".join(lines[:5]).encode()))
    (folder / "b.tsv.gz").write_bytes(gzip.compress("".join(lines[:1] + lines[5:]).encode()))
    out = tmp_path / "out"
    out.mkdir()
    assert _etl(tmp_path / "in", out, BANK_MAPPING) == 0
    single = tmp_path / "single"
    single.mkdir()
    _etl(BANK, single, BANK_MAPPING)
    assert pq.read_table(out / "calls.parquet").equals(pq.read_table(single / "calls.parquet"))
    got = [(r[s.REJECT_FILE], r[s.REJECT_LINE_NUMBER], r[s.REJECT_REASON]) for r in _rejects(out)]
    assert got == [
        ("1999/01/b.tsv.gz", 2, s.REJECT_NOT_A_CALL),
        ("1999/01/b.tsv.gz", 4, s.REJECT_INVALID_TS),
        ("1999/01/b.tsv.gz", 5, s.REJECT_DUPLICATE),
    ]


def test_parquet_export_with_typed_timestamps(tmp_path: Path) -> None:
    start = datetime(2026, 3, 2, 9, 0)
    table = pa.table({
        "id": ["p1", "p2", "p3"],
        "agent": ["bob", "erin", None],
        "started": pa.array([start, start, start], pa.timestamp("s")),
        "ended": pa.array([start + timedelta(minutes=3), start, None], pa.timestamp("s")),
        "outcome": [1, 2, 1],
    })  # fmt: skip
    pq.write_table(table, tmp_path / "export.parquet")
    mapping = tmp_path / "dump.toml"
    mapping.write_text(
        '[source]\nformat = "parquet"\n[fields]\ncall_id = "id"\nagent_id = "agent"\n'
        'start_time = { field = "started", timezone = "Europe/Berlin" }\n'
        'end_time = { field = "ended", timezone = "Europe/Berlin" }\n'
        'resolution = { field = "outcome", map = { "1" = "resolved", "2" = "escalated" } }\n'
    )
    assert _etl(tmp_path / "export.parquet", tmp_path, mapping) == 0
    out = pq.read_table(tmp_path / "calls.parquet")
    assert out[s.CALL_ID].to_pylist() == ["p1"]
    assert out[s.START_TIME][0].as_py().hour == 8  # 09:00 in Berlin (winter) is 08:00 UTC
    assert out[s.RESOLUTION].to_pylist() == ["resolved"]
    assert [r[s.REJECT_REASON] for r in _rejects(tmp_path)] == [
        s.REJECT_NON_POSITIVE,
        s.REJECT_MISSING_TS,
    ]


def test_default_source_is_byte_identical(tmp_path: Path) -> None:
    sample = Path(__file__).parent / "fixtures" / "report" / "metrics_calls.json"
    agents = Path(__file__).parent / "fixtures" / "report" / "metrics_agents.csv"
    outs = []
    for name, source in (("plain", None), ("named", "ndjson")):
        out = tmp_path / name
        out.mkdir()
        shutil.copy(sample, out / "calls.json")
        run_etl(out / "calls.json", agents, out / "c.parquet", out / "m.json", out / "r.jsonl",
                progress=False, source=source)  # fmt: skip
        outs.append(out)
    for f in ("c.parquet", "r.jsonl"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()
    assert "source" not in json.loads((outs[1] / "m.json").read_text())["options"]


def test_a_glob_is_refused_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _etl(FIXTURES / "*.tsv", tmp_path, BANK_MAPPING) == 2
    assert "pass the folder" in capsys.readouterr().err


def test_report_step_reruns_with_the_recorded_source_and_partitions(tmp_path: Path) -> None:
    from support_analytics.etl import run_etl_step

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(BANK, folder / "bank.tsv")
    paths = (folder, AGENTS, tmp_path / "calls", tmp_path / "m.json", tmp_path / "r.jsonl")
    first = run_etl_step(*paths, source=str(BANK_MAPPING))
    assert first.result.rows_out == 6
    assert sorted(p.name for p in (tmp_path / "calls").iterdir()) == [
        "call_date=1998-12-31", "call_date=1999-01-01", "call_date=1999-01-02",
    ]  # fmt: skip
    assert run_etl_step(*paths).result.up_to_date  # the notebook's check: no --source given
