"""The cleaning rules, one behaviour per test, through the real file-to-file run."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl import (
    clean_calls,
    clean_calls_detailed,
    duckdb_engine,
    load_agents,
    load_calls,
    run_etl,
    writers,
)
from support_analytics.etl.one_pass import OnePassResult

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents.csv"


def call(call_id: str = "C1", **fields: object) -> str:
    base: dict[str, object] = {
        s.CALL_ID: call_id,
        s.AGENT_ID: "A1",
        s.CUSTOMER_ID: "U1",
        s.START_TIME: "2026-01-05T09:00:00Z",
        s.END_TIME: "2026-01-05T09:05:00Z",
        s.ISSUE_TYPE: "billing",
        s.RESOLUTION: "resolved",
        s.RATING: 4,
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def run(tmp_path: Path, lines: list[str] | bytes, **kwargs: object):
    tmp_path.mkdir(parents=True, exist_ok=True)
    calls = tmp_path / "calls.json"
    if isinstance(lines, bytes):
        calls.write_bytes(lines)
    else:
        calls.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_etl(
        calls,
        kwargs.pop("agents", AGENTS),
        out / "cleaned.parquet",
        out / "manifest.json",
        out / "rejects.jsonl",
        progress=False,
        **kwargs,
    )
    kept = pd.read_parquet(out / "cleaned.parquet") if (out / "cleaned.parquet").exists() else None
    rejects = [
        json.loads(line)
        for line in (out / "rejects.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    return result, kept, rejects


def reasons(rejects: list[dict]) -> list[tuple[int, str]]:
    return [(r[s.REJECT_LINE_NUMBER], r[s.REJECT_REASON]) for r in rejects]


# --- kept rows --------------------------------------------------------------------------------
def test_output_matches_the_contract_schema(tmp_path: Path) -> None:
    run(tmp_path, [call()])
    parquet_schema = pq.read_schema(tmp_path / "out" / "cleaned.parquet")
    assert s.contract_mismatches(parquet_schema) == []
    assert parquet_schema.metadata[b"support_analytics.schema_version"] == s.SCHEMA_VERSION.encode()


def test_offsets_are_converted_to_utc(tmp_path: Path) -> None:
    _, kept, _ = run(
        tmp_path,
        [call(start_time="2026-01-05T17:00:00+08:00", end_time="2026-01-05T17:04:00+08:00")],
    )
    assert kept[s.START_TIME][0] == pd.Timestamp("2026-01-05T09:00:00Z")
    assert str(kept[s.START_TIME].dt.tz) == "UTC"


@pytest.mark.parametrize(
    ("start", "utc"),
    [
        ("2026-01-05T23:00:00+14:00", "2026-01-05T09:00:00Z"),
        ("2026-01-04T21:00:00-12:00", "2026-01-05T09:00:00Z"),
        ("2026-01-05T11:00:00+0200", "2026-01-05T09:00:00Z"),
        ("2026-01-05T11:00:00+02", "2026-01-05T09:00:00Z"),
        ("2026-01-05T09:00:00.123456z", "2026-01-05T09:00:00.123456Z"),
    ],
)
def test_every_offset_form_converts_to_utc(tmp_path: Path, start: str, utc: str) -> None:
    _, kept, _ = run(tmp_path, [call(start_time=start, end_time="2026-01-05T10:00:00Z")])
    assert kept[s.START_TIME][0] == pd.Timestamp(utc)


def test_naive_timestamps_are_taken_as_utc(tmp_path: Path) -> None:
    _, kept, _ = run(
        tmp_path, [call(start_time="2026-01-05 09:00:00", end_time="2026-01-05 09:01:00")]
    )
    assert kept[s.START_TIME][0] == pd.Timestamp("2026-01-05T09:00:00Z")


def test_duration_is_minutes_rounded_to_two_decimals(tmp_path: Path) -> None:
    _, kept, _ = run(
        tmp_path,
        [
            call("A", end_time="2026-01-05T09:10:30Z"),
            call("B", end_time="2026-01-05T09:00:20Z"),
            call("C", end_time="2026-01-05T09:00:00.3Z"),
        ],
    )
    durations = dict(zip(kept[s.CALL_ID], kept[s.CALL_DURATION_MINUTES], strict=True))
    assert durations == {"A": 10.5, "B": 0.33, "C": 0.01}


def test_call_date_and_hour_come_from_the_utc_start(tmp_path: Path) -> None:
    _, kept, _ = run(
        tmp_path,
        [call(start_time="2026-01-06T01:30:00+03:00", end_time="2026-01-06T01:40:00+03:00")],
    )
    assert str(kept[s.CALL_DATE][0]) == "2026-01-05"
    assert kept[s.HOUR_OF_DAY][0] == 22


# Date and hour are integer arithmetic on the UTC microseconds (rules.kept_sql): floor
# division must hold before 1970 and at both ends of the calendar, to the microsecond.
@pytest.mark.parametrize(
    "start",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T23:59:59.999999Z",
        "1969-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00Z",
        "1900-03-01T05:00:00+06:00",
        "1582-10-10T12:00:00Z",
        "9999-12-31T23:58:00Z",
        "2026-03-01T00:15:00+01:00",
    ],
)
def test_call_date_and_hour_hold_across_the_calendar(tmp_path: Path, start: str) -> None:
    begin = datetime.fromisoformat(start).astimezone(UTC)
    end = (begin + timedelta(seconds=30)).isoformat()
    run(tmp_path, [call(start_time=start, end_time=end)])
    kept = pq.read_table(tmp_path / "out" / "cleaned.parquet").to_pylist()
    assert (kept[0][s.CALL_DATE], kept[0][s.HOUR_OF_DAY]) == (begin.date(), begin.hour)


def test_categories_are_trimmed_and_lower_cased(tmp_path: Path) -> None:
    _, kept, _ = run(tmp_path, [call(issue_type="  Billing ", resolution="RESOLVED ")])
    assert (kept[s.ISSUE_TYPE][0], kept[s.RESOLUTION][0]) == ("billing", "resolved")


def test_agent_name_and_region_come_from_agents_csv(tmp_path: Path) -> None:
    _, kept, _ = run(tmp_path, [call(agent_id="A1")])
    assert (kept[s.AGENT_NAME][0], kept[s.REGION][0]) == ("Smith, Jo", "Europe")


def test_columns_are_in_contract_order(tmp_path: Path) -> None:
    _, kept, _ = run(tmp_path, [call()])
    assert tuple(kept.columns) == s.CLEANED_COLUMNS


# --- rejects ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"call_id": "X", "start_time": ', s.REJECT_MALFORMED),
        ("not json", s.REJECT_MALFORMED),
        ("[1, 2, 3]", s.REJECT_MALFORMED),
        ('"a string"', s.REJECT_MALFORMED),
        (call(start_time=...), s.REJECT_MISSING_TS),
        (call(end_time=None), s.REJECT_MISSING_TS),
        (call(end_time=""), s.REJECT_MISSING_TS),
        (call(end_time=" 2026-01-05T09:05:00Z"), s.REJECT_INVALID_TS),
        (call(start_time="yesterday"), s.REJECT_INVALID_TS),
        (call(start_time="2026-13-45T99:00:00Z"), s.REJECT_INVALID_TS),
        (call(start_time=1767603600), s.REJECT_INVALID_TS),
        (call(start_time="2026-01-05"), s.REJECT_INVALID_TS),
        (call(start_time="infinity"), s.REJECT_INVALID_TS),
        (call(start_time="2026-01-05T09:00:00+99:99"), s.REJECT_INVALID_TS),
        (call(start_time="2026-01-05T09:00:00+14:30"), s.REJECT_INVALID_TS),
        (call(end_time="2026-01-05T08:59:59Z"), s.REJECT_NON_POSITIVE),
        (call(end_time="2026-01-05T09:00:00Z"), s.REJECT_NON_POSITIVE),
        (call(call_id=...), s.REJECT_MISSING_CALL_ID),
        (call(call_id=" "), s.REJECT_MISSING_CALL_ID),
        (call(issue_type="x" * (s.MAX_NAME_LENGTH + 1)), s.REJECT_TOO_LONG),
        (call(resolution="\u00e9" * (s.MAX_NAME_LENGTH + 1)), s.REJECT_TOO_LONG),
        (call(call_id="C" * (s.MAX_ID_LENGTH + 1)), s.REJECT_TOO_LONG),
        (call(agent_id="A" * (s.MAX_ID_LENGTH + 1)), s.REJECT_TOO_LONG),
        (call(customer_id="U" * (s.MAX_ID_LENGTH + 1)), s.REJECT_TOO_LONG),
        (call(call_id=..., issue_type="x" * 20_000), s.REJECT_TOO_LONG),
    ],
)
def test_bad_line_is_rejected_with_its_reason(tmp_path: Path, line: str, reason: str) -> None:
    result, _, rejects = run(tmp_path, [call("OK"), line])
    assert reasons(rejects) == [(2, reason)]
    assert rejects[0][s.REJECT_RAW] == line
    assert result.rows_out == 1


def test_values_at_their_cap_are_kept_whole_counted_in_characters(tmp_path: Path) -> None:
    issue = "\u00fc" * s.MAX_NAME_LENGTH  # 200 bytes, 100 characters
    line = call("I" * s.MAX_ID_LENGTH, issue_type=f"  {issue}  ", resolution="r" * 100)
    _, kept, rejects = run(tmp_path, [line])
    assert rejects == []
    assert kept[s.ISSUE_TYPE].tolist() == [issue]
    assert kept[s.CALL_ID].tolist() == ["I" * s.MAX_ID_LENGTH]


def test_an_over_long_line_does_not_claim_its_call_id(tmp_path: Path) -> None:
    lines = [call("D", issue_type="x" * 5000), call("D", customer_id="ok")]
    _, kept, rejects = run(tmp_path, lines)
    assert kept[s.CUSTOMER_ID].tolist() == ["ok"]
    assert reasons(rejects) == [(1, s.REJECT_TOO_LONG)]
    assert rejects[0][s.REJECT_RAW] == lines[0]


def test_first_duplicate_is_kept_and_later_ones_rejected(tmp_path: Path) -> None:
    lines = [call("D", customer_id="first"), call("D", customer_id="second"), call("D")]
    _, kept, rejects = run(tmp_path, lines)
    assert kept[s.CUSTOMER_ID].tolist() == ["first"]
    assert reasons(rejects) == [(2, s.REJECT_DUPLICATE), (3, s.REJECT_DUPLICATE)]
    assert [r[s.REJECT_RAW] for r in rejects] == lines[1:]


def test_a_rejected_line_does_not_claim_its_call_id(tmp_path: Path) -> None:
    _, kept, rejects = run(tmp_path, [call("D", start_time="bad"), call("D", customer_id="ok")])
    assert kept[s.CUSTOMER_ID].tolist() == ["ok"]
    assert reasons(rejects) == [(1, s.REJECT_INVALID_TS)]


def test_every_reject_kind_in_one_file_reconciles(tmp_path: Path) -> None:
    lines = (FIXTURES / "calls_every_reject.json").read_text().splitlines()
    result, kept, rejects = run(tmp_path, lines)
    assert reasons(rejects) == [
        (2, s.REJECT_MALFORMED),
        (3, s.REJECT_MALFORMED),
        (4, s.REJECT_MISSING_TS),
        (5, s.REJECT_INVALID_TS),
        (6, s.REJECT_NON_POSITIVE),
        (7, s.REJECT_DUPLICATE),
        (8, s.REJECT_MISSING_CALL_ID),
        (10, s.REJECT_TOO_LONG),
    ]
    assert result.rows_in == len(lines) == len(kept) + len(rejects)
    assert result.manifest["rows"]["rejected"][s.REJECT_MALFORMED] == 2


# --- warnings ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "five", True, {"x": 1}])
def test_out_of_range_rating_becomes_null_with_a_warning(tmp_path: Path, rating: object) -> None:
    result, kept, rejects = run(tmp_path, [call(rating=rating)])
    assert pd.isna(kept[s.RATING][0])
    assert result.warnings[s.WARN_INVALID_RATING] == 1
    assert rejects == []


@pytest.mark.parametrize(("rating", "expected"), [(1, 1), (5, 5), ("3", 3), (4.0, 4)])
def test_integer_ratings_one_to_five_are_kept(
    tmp_path: Path, rating: object, expected: int
) -> None:
    result, kept, _ = run(tmp_path, [call(rating=rating)])
    assert kept[s.RATING][0] == expected
    assert result.warnings[s.WARN_INVALID_RATING] == 0


def test_missing_rating_is_null_without_a_warning(tmp_path: Path) -> None:
    result, kept, _ = run(tmp_path, [call(rating=None), call("C2", rating=...)])
    assert kept[s.RATING].isna().all()
    assert result.warnings[s.WARN_INVALID_RATING] == 0


def test_unknown_agent_is_kept_with_null_name_and_a_warning(tmp_path: Path) -> None:
    result, kept, _ = run(tmp_path, [call(agent_id="A404")])
    assert kept[s.AGENT_ID][0] == "A404"
    assert pd.isna(kept[s.AGENT_NAME][0]) and pd.isna(kept[s.REGION][0])
    assert result.warnings[s.WARN_UNKNOWN_AGENT] == 1


# --- file handling ----------------------------------------------------------------------------
def test_blank_lines_are_counted_but_are_not_rows(tmp_path: Path) -> None:
    result, kept, rejects = run(tmp_path, [call("A"), "", "   ", call("B")])
    assert (result.rows_in, len(kept), rejects) == (2, 2, [])
    assert result.blank_lines == 2


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    _, _, rejects = run(tmp_path, [call("A"), "", "oops"])
    assert reasons(rejects) == [(3, s.REJECT_MALFORMED)]


def test_crlf_line_endings_and_bom_are_accepted(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + (call("A") + "\r\n" + "oops\r\n").encode()
    _, kept, rejects = run(tmp_path, data)
    assert kept[s.CALL_ID].tolist() == ["A"]
    assert rejects[0][s.REJECT_RAW] == "oops"


def test_last_line_without_newline_is_read(tmp_path: Path) -> None:
    _, kept, _ = run(tmp_path, (call("A") + "\n" + call("B")).encode())
    assert sorted(kept[s.CALL_ID]) == ["A", "B"]


def test_gzip_input_is_read_whatever_its_name(tmp_path: Path) -> None:
    data = gzip.compress((call("A") + "\n" + call("A") + "\n").encode())
    result, kept, rejects = run(tmp_path, data)
    assert kept[s.CALL_ID].tolist() == ["A"]
    assert reasons(rejects) == [(2, s.REJECT_DUPLICATE)]
    assert rejects[0][s.REJECT_RAW] == call("A")


def test_line_with_invalid_utf8_is_rejected_not_fatal(tmp_path: Path) -> None:
    data = (call("A") + "\n").encode() + b'{"call_id": "caf\xe9"}\n'
    _, kept, rejects = run(tmp_path, data)
    assert kept[s.CALL_ID].tolist() == ["A"]
    assert reasons(rejects) == [(2, s.REJECT_ENCODING)]
    assert "\\xe9" in rejects[0][s.REJECT_RAW]


def test_a_run_leaves_the_callers_arrow_memory_pool_as_it_found_it(tmp_path: Path) -> None:
    import pyarrow as pa

    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        run(tmp_path, [call("A"), call("A"), "not json"])
        assert pa.default_memory_pool().backend_name == "system"
    finally:
        pa.set_memory_pool(before)


def test_small_read_chunks_give_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    force_reader(monkeypatch, "line_by_line")
    lines = (FIXTURES / "calls_every_reject.json").read_text().splitlines() * 3
    _, kept_big, rej_big = run(tmp_path / "big", lines)
    _, kept_small, rej_small = run(tmp_path / "small", lines, chunk_bytes=50)
    pd.testing.assert_frame_equal(kept_big, kept_small)
    assert rej_big == rej_small


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty.*; check that --calls names the calls export"),
        (b"\n\n  \n", "no calls.*; check that --calls names the calls export"),
        (b'[{"call_id": "A"}]\n', "JSON array.*convert it with"),
        (b"call_id,agent_id\nA,B\n", "not NDJSON.*each line must be one JSON object"),
        (b"\x00\x01\x02\xff\xfe\n", "not NDJSON.*check that --calls names the calls export"),
        (b'{"call_id": "A"}\r{"call_id": "B"}\r', "not NDJSON.*bare CR.*convert them with: tr"),
    ],
)
def test_unusable_calls_file_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        run(tmp_path, content)
    assert "calls.json" in str(info.value)
    assert not (tmp_path / "out" / "cleaned.parquet").exists()


def test_missing_calls_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        run_etl(
            tmp_path / "nope.json",
            AGENTS,
            tmp_path / "o.parquet",
            tmp_path / "m.json",
            tmp_path / "r.jsonl",
            progress=False,
        )


# --- in-memory API: same rules ----------------------------------------------------------------
def test_clean_calls_agrees_with_the_file_run(tmp_path: Path) -> None:
    lines = (FIXTURES / "calls_every_reject.json").read_text().splitlines()
    _, kept_file, rejects_file = run(tmp_path, lines)
    frame = load_calls(tmp_path / "calls.json")
    detailed = clean_calls_detailed(frame, load_agents(AGENTS))
    pd.testing.assert_frame_equal(
        detailed.kept.astype({s.RATING: "float64"}),
        kept_file.astype({s.RATING: "float64"}),
        check_dtype=False,
    )
    assert list(detailed.rejected[s.REJECT_REASON]) == [r[s.REJECT_REASON] for r in rejects_file]


def test_clean_calls_accepts_a_frame_built_by_hand() -> None:
    frame = pd.DataFrame(
        {
            s.CALL_ID: ["A", "B"],
            s.AGENT_ID: ["A1", "A2"],
            s.CUSTOMER_ID: ["U1", "U2"],
            s.START_TIME: ["2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z"],
            s.END_TIME: ["2026-01-05T09:01:00Z", "2026-01-05T09:00:00Z"],
            s.ISSUE_TYPE: ["Billing", "x"],
            s.RESOLUTION: ["resolved", "x"],
            s.RATING: [5.0, math.nan],
        }
    )
    kept = clean_calls(frame, load_agents(AGENTS))
    assert kept[s.CALL_ID].tolist() == ["A"]
    assert kept[s.RATING].tolist() == [5]


def test_clean_calls_rejects_over_long_fields_as_the_file_run_does() -> None:
    frame = pd.DataFrame(
        {
            s.CALL_ID: ["A", "B"],
            s.START_TIME: ["2026-01-05T09:00:00Z"] * 2,
            s.END_TIME: ["2026-01-05T09:01:00Z"] * 2,
            s.ISSUE_TYPE: ["billing", "x" * (s.MAX_NAME_LENGTH + 1)],
        }
    )
    detailed = clean_calls_detailed(frame, load_agents(AGENTS))
    assert detailed.kept[s.CALL_ID].tolist() == ["A"]
    assert detailed.rejected[s.REJECT_REASON].tolist() == [s.REJECT_TOO_LONG]


# --- the two line readers ---------------------------------------------------------------------
# DuckDB's parallel CSV reader splits plain files; Python's line-by-line reader takes the rest
# (gzip, CR bytes, invalid UTF-8). Whichever runs, the outputs must be the same bytes.
HOSTILE_CALLS = sorted((FIXTURES / "hostile" / "calls").glob("*.json"))
REPO_SAMPLE = Path(__file__).parent.parent / "data" / "sample_calls.json"


def force_reader(monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    """Make single-file runs take the staged fast path, or the line-by-line reader."""
    monkeypatch.setattr(
        duckdb_engine,
        "stage_one_pass",
        lambda *a, **k: OnePassResult(None, fallback="test", line_by_line=reader == "line_by_line"),
    )
    if reader == "line_by_line":
        monkeypatch.setattr(
            duckdb_engine, "stage_fast", lambda *a, **k: duckdb_engine.FastResult(None, None, None)
        )


def _run_files(calls: Path, out: Path) -> tuple[bytes, bytes, dict] | str:
    try:
        result = run_etl(
            calls,
            AGENTS,
            out / "c.parquet",
            out / "m.json",
            out / "r.jsonl",
            progress=False,
            force=True,
        )
    except InputError as exc:
        return str(exc).replace(str(calls), "CALLS")
    rows = dict(result.manifest["rows"], warnings=result.warnings)
    return (out / "c.parquet").read_bytes(), (out / "r.jsonl").read_bytes(), rows


@pytest.mark.parametrize(
    "calls",
    [FIXTURES / "calls_every_reject.json", FIXTURES / "calls_clean.json", REPO_SAMPLE]
    + HOSTILE_CALLS,
    ids=lambda p: p.name,
)
def test_one_pass_staged_and_line_by_line_readers_give_the_same_bytes(
    calls: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_pass = _run_files(calls, tmp_path / "one_pass")
    force_reader(monkeypatch, "staged")
    staged = _run_files(calls, tmp_path / "staged")
    force_reader(monkeypatch, "line_by_line")
    slow = _run_files(calls, tmp_path / "slow")
    assert one_pass == staged == slow


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_plain_file_is_read_by_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the line-by-line reader ran on a plain file")

    monkeypatch.setattr(duckdb_engine, "stage_slow", refuse)
    lines = (FIXTURES / "calls_every_reject.json").read_text().splitlines()
    data = end.join(["", *lines, "  ", call("DUP-1"), call("DUP-1")]) + end
    result, kept, rejects = run(tmp_path, ("\ufeff" + data).encode())
    assert result.rows_out == len(kept) > 0
    assert result.blank_lines == 2
    dup = rejects[-1]
    assert (dup[s.REJECT_LINE_NUMBER], dup[s.REJECT_REASON]) == (len(lines) + 4, s.REJECT_DUPLICATE)
    assert dup[s.REJECT_RAW] == call("DUP-1")
    assert [r[s.REJECT_LINE_NUMBER] for r in rejects] == sorted(
        r[s.REJECT_LINE_NUMBER] for r in rejects
    )


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ((call("A") + "\r\n" + call("B") + "\n").encode(), "mixes CRLF line ends"),
        ((call("A") + "\n" + call("B") + "\r\n").encode(), "carriage returns but not CRLF"),
        ((call("A") + "\r\n" + call("B") + "\r" + call("C") + "\r\n").encode(), "lone CR"),
        ((call("A") + "\n").encode() + b'{"call_id": "caf\xe9"}\n', "line 2 is not valid UTF-8"),
        ((call("A") + "\n").encode() + b'{"call_id": "x\x01"}\n', "x01"),
    ],
    ids=["crlf-then-lf", "lf-then-crlf", "crlf-with-lone-cr", "invalid-utf8", "ctrl-a"],
)
def test_other_files_fall_back_and_say_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, why: str
) -> None:
    calls = tmp_path / "calls.json"
    calls.write_bytes(data)
    out = tmp_path / "out"
    result = run_etl(calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl")
    err = capsys.readouterr().err
    assert why in err and "line by line" in err
    assert result.rows_in == 2


def test_an_invalid_byte_deep_in_a_file_falls_back_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Past DuckDB's first batch its errors come through Arrow's stream, not as duckdb.Error.
    calls = tmp_path / "calls.json"
    lines = [call(f"C{i}") for i in range(20_000)]
    calls.write_bytes(("\n".join(lines) + "\n").encode() + b'{"call_id": "caf\xe9"}\n')
    out = tmp_path / "out"
    result = run_etl(calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl")
    assert "line 20001 is not valid UTF-8" in capsys.readouterr().err
    assert (result.rows_in, result.rows_out) == (20_001, 20_000)
    assert result.rejected[s.REJECT_ENCODING] == 1


def test_rejects_are_merged_in_line_order_without_a_sort(tmp_path: Path) -> None:
    # Rejects stream out of the staged scan and the sorted duplicates are merged in: DuckDB's
    # sort of the raw text ran out of its 1 GB on 60,000 lines of 20 KB, half of them bad.
    pad = "x" * 2_000
    lines = [call(f"L{i}", transcript=pad)[: -3 if i % 2 else None] for i in range(3000)]
    lines.insert(10, call("L0", transcript=pad))  # duplicates land between other rejects
    lines.insert(2000, call("L2", transcript=pad))
    lines.append(call("L4"))  # and after the last one
    result, _, rejects = run(tmp_path, lines)
    assert (result.rows_out, result.rows_rejected) == (1500, 1503)
    assert [r["line_number"] for r in rejects] == sorted(r["line_number"] for r in rejects)
    assert all(r["raw"] == lines[r["line_number"] - 1] for r in rejects)
    dups = [r["line_number"] for r in rejects if r["reason"] == s.REJECT_DUPLICATE]
    assert dups == [11, 2001, len(lines)]


@pytest.mark.timeout(60)
def test_a_failing_engine_during_the_line_by_line_read_errors_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader thread must not wait forever on a full queue once DuckDB stops taking chunks.
    import duckdb

    def fail(con: Any, query: str, path: Path, fix: Any = None) -> None:
        raise duckdb.OutOfMemoryException("Out of Memory Error: staged too much")

    # DuckDB gives up without taking the chunks
    monkeypatch.setattr(duckdb_engine, "write_staged", fail)
    calls = tmp_path / "calls.json.gz"
    calls.write_bytes(gzip.compress(("\n".join(call(f"C{i}") for i in range(5000))).encode()))
    out = tmp_path / "out"
    with pytest.raises(duckdb.OutOfMemoryException, match="staged too much"):
        run_etl(calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl",
                progress=False, chunk_bytes=4096)  # fmt: skip
    assert not (out / "c.parquet").exists()


def test_row_groups_have_a_fixed_size_and_runs_repeat_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "ROW_GROUP_ROWS", 100)
    lines = [call(f"C{i % 900}") for i in range(1000)]  # 100 later copies to drop
    first = run(tmp_path / "a", lines)[0]
    second = run(tmp_path / "b", lines)[0]
    a, b = tmp_path / "a" / "out" / "cleaned.parquet", tmp_path / "b" / "out" / "cleaned.parquet"
    assert a.read_bytes() == b.read_bytes()
    assert first.rows_out == second.rows_out == 900
    meta = pq.ParquetFile(a).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [100] * 9


def test_output_keeps_min_max_statistics_for_times_and_numbers_only(tmp_path: Path) -> None:
    run(tmp_path, [call("A"), call("B", start_time="2024-03-02T10:00:00Z")])
    meta = pq.ParquetFile(tmp_path / "out" / "cleaned.parquet").metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    stats = {n: meta.row_group(0).column(i).statistics for i, n in enumerate(names)}
    assert stats[s.CALL_DATE].has_min_max and stats[s.START_TIME].has_min_max
    assert stats[s.RATING].has_min_max
    assert str(stats[s.CALL_DATE].min) == "2024-03-02"
    assert not (stats[s.CALL_ID] and stats[s.CALL_ID].has_min_max)  # unique ids prune nothing


def test_a_batch_of_only_blank_lines_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "ROW_GROUP_ROWS", 100)
    lines = [call("A"), *([""] * 350), "oops", call("B")]
    result, kept, rejects = run(tmp_path, lines)
    assert kept[s.CALL_ID].tolist() == ["A", "B"]
    assert reasons(rejects) == [(352, s.REJECT_MALFORMED)]
    assert result.blank_lines == 350
