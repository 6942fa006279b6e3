"""Fuzz: valid call lines mutated at the byte level (flips, truncation, field swaps, ...).

Whatever comes out, a run either refuses the file with one clear line and writes nothing, or
accounts for every line: blank, kept or rejected with its original text, with a manifest that
matches the files. Any other exception is a bug. In-process (run_etl) for speed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support_analytics import schema as s
from support_analytics.errors import SupportAnalyticsError
from support_analytics.etl import run_etl
from support_analytics.io.files import file_sha256

AGENTS = Path(__file__).parent / "fixtures" / "agents.csv"
MAX_EXAMPLES = 60
BASE_LINES = [
    {"call_id": "C1", "agent_id": "A1", "customer_id": "U1", "start_time": "2026-01-05T09:00:00Z",
     "end_time": "2026-01-05T09:05:00Z", "issue_type": "billing", "resolution": "resolved",
     "rating": 4},
    {"call_id": "C2", "agent_id": "A2", "customer_id": "U2",
     "start_time": "2026-03-29T01:59:59.5+01:00", "end_time": "2026-03-29T03:00:00+02:00",
     "issue_type": "Technical", "resolution": "escalated", "rating": None},
    {"call_id": 3, "agent_id": "A3", "customer_id": "U\u00e9", "start_time": "2028-02-29 23:59",
     "end_time": "2028-03-01 00:10", "issue_type": "account", "rating": "5", "extra": [1, {}]},
]  # fmt: skip
FIELDS = sorted({k for line in BASE_LINES for k in line})


@st.composite
def field_swap(draw: st.DrawFn, obj: dict) -> bytes:
    """Two fields exchange values (a number lands where a string belongs, and so on)."""
    a, b = draw(st.sampled_from(FIELDS)), draw(st.sampled_from(FIELDS))
    obj = dict(obj)
    obj[a], obj[b] = obj.get(b), obj.get(a)
    return json.dumps(obj, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    obj = draw(st.sampled_from(BASE_LINES))
    kind = draw(st.sampled_from(["keep", "flip", "truncate", "swap", "insert", "delete"]))
    if kind == "swap":
        return draw(field_swap(obj))
    data = bytearray(json.dumps(obj, ensure_ascii=False).encode())
    pos = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        data[pos] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        del data[pos:]
    elif kind == "insert":
        data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    elif kind == "delete":
        del data[pos : pos + draw(st.integers(1, 8))]
    return bytes(data)


@st.composite
def calls_file(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(mutated_line(), min_size=1, max_size=12))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    body = ending.join(lines) + draw(st.sampled_from([ending, b""]))
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + body


def _physical_lines(data: bytes) -> list[bytes]:
    pieces = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    return pieces[:-1] if pieces[-1] == b"" else pieces


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=calls_file())
def test_mutated_lines_are_refused_clearly_or_fully_accounted_for(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        calls, out = Path(tmp) / "calls.json", Path(tmp) / "out"
        calls.write_bytes(data)
        try:
            result = run_etl(
                calls, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl",
                progress=False,
            )  # fmt: skip
        except SupportAnalyticsError as exc:
            assert "\n" not in str(exc) and str(exc)
            assert not out.exists() or [p.name for p in out.iterdir()] == ["c.parquet.lock"]
            return
        manifest = json.loads((out / "m.json").read_text(encoding="utf-8"))
        rejects = [json.loads(x) for x in (out / "r.jsonl").read_text().splitlines() if x]
        lines = _physical_lines(data)
        assert result.rows_in == result.rows_out + result.rows_rejected
        assert result.rows_in + result.blank_lines == len(lines)
        assert pq.read_metadata(out / "c.parquet").num_rows == result.rows_out
        assert len(rejects) == result.rows_rejected
        assert manifest["output"]["sha256"] == file_sha256(out / "c.parquet")
        assert manifest["rejects"]["sha256"] == file_sha256(out / "r.jsonl")
        for reject in rejects:
            original = lines[reject[s.REJECT_LINE_NUMBER] - 1].rstrip(b"\r\n")
            assert reject[s.REJECT_RAW] == original.decode("utf-8", "backslashreplace")
