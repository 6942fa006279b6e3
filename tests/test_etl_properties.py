"""Property test: whatever lines arrive, rows reconcile and kept rows obey the contract."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support_analytics import schema as s
from support_analytics.etl import run_etl

AGENTS = Path(__file__).parent / "fixtures" / "agents.csv"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def timestamp_text(draw: st.DrawFn, instant: datetime) -> str:
    style = draw(st.sampled_from(["Z", "offset", "naive", "garbage"]))
    if style == "Z":
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "naive":
        return instant.strftime("%Y-%m-%d %H:%M:%S")
    if style == "offset":
        hours = draw(st.integers(-12, 14))
        local = instant + timedelta(hours=hours)
        sign = "+" if hours >= 0 else "-"
        return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(hours):02d}:00"
    return draw(st.sampled_from(["", "soon", "2026-02-30T00:00:00Z", "12345", "2026-01-01"]))


@st.composite
def call_line(draw: st.DrawFn) -> str:
    start = EPOCH + timedelta(seconds=draw(st.integers(0, 86400 * 60)))
    end = start + timedelta(seconds=draw(st.integers(-600, 7200)))
    record: dict[str, object] = {
        s.CALL_ID: draw(st.sampled_from(["a", "b", "c", "d", "e", "f"])),
        s.AGENT_ID: draw(st.sampled_from(["A1", "A2", "A3", "A9", None])),
        s.CUSTOMER_ID: draw(st.sampled_from(["U1", "U2"])),
        s.START_TIME: draw(timestamp_text(start)),
        s.END_TIME: draw(timestamp_text(end)),
        s.ISSUE_TYPE: draw(st.sampled_from(["billing", " Tech ", "ACCOUNT", None])),
        s.RESOLUTION: draw(st.sampled_from(["resolved", "Escalated", None])),
        s.RATING: draw(st.one_of(st.none(), st.integers(-2, 8), st.floats(allow_nan=False))),
    }
    for key in draw(st.sets(st.sampled_from(list(record)), max_size=2)):
        del record[key]
    line = json.dumps(record)
    if draw(st.integers(0, 9)) == 0:
        line = line[: draw(st.integers(0, len(line) - 1))]
    return line


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(call_line(), min_size=1, max_size=25))
def test_any_input_reconciles_and_keeps_only_contract_rows(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        calls = tmp_path / "calls.json"
        calls.write_text("\n".join(lines) + "\n")
        if not any(_is_object(line) for line in lines):
            return  # a file with no JSON object at all is refused as a whole (tested elsewhere)
        outputs = []
        for run in ("first", "second"):
            out = tmp_path / run
            result = run_etl(
                calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl", progress=False
            )
            outputs.append((out / "c.parquet").read_bytes())
        kept = pd.read_parquet(out / "c.parquet")
        rejects = (out / "r.jsonl").read_text().splitlines()

        assert result.rows_in == len(kept) + len(rejects)
        assert result.rows_in + result.blank_lines == len(lines)
        assert outputs[0] == outputs[1], "same input must give the same Parquet bytes"
        assert s.contract_mismatches(pq.read_schema(out / "c.parquet")) == []
        assert kept[s.CALL_ID].is_unique
        assert (kept[s.CALL_DURATION_MINUTES] > 0).all()
        assert (kept[s.CALL_DURATION_MINUTES].round(2) == kept[s.CALL_DURATION_MINUTES]).all()
        assert str(kept[s.START_TIME].dt.tz) == "UTC"
        assert (kept[s.START_TIME].dt.date == kept[s.CALL_DATE]).all()
        assert (kept[s.START_TIME].dt.hour == kept[s.HOUR_OF_DAY]).all()
        assert kept[s.RATING].dropna().between(s.MIN_RATING, s.MAX_RATING).all()
        numbers = [json.loads(r)[s.REJECT_LINE_NUMBER] for r in rejects]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
