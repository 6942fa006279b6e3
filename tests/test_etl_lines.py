"""The fast reader's proof: rows re-read from the file at their offsets must match."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from support_analytics import schema as s
from support_analytics.etl.lines import spot_check


def call(call_id: str) -> str:
    return json.dumps(
        {
            s.CALL_ID: call_id,
            s.START_TIME: "2026-01-05T09:00:00Z",
            s.END_TIME: "2026-01-05T09:05:00Z",
        }
    )


def test_spot_check_catches_rows_out_of_place(tmp_path: Path) -> None:
    import duckdb
    import pyarrow as pa

    lines = [call("A"), "oops", call("B")]
    calls = tmp_path / "calls.json"
    calls.write_text("\n".join(lines) + "\n", encoding="utf-8")
    offsets = [0, len(lines[0]) + 1, len(lines[0]) + len(lines[1]) + 2]

    def staged(order: list[int]) -> Path:
        path = tmp_path / f"staged-{order}.parquet"
        table = pa.table(
            {
                "line_number": [1, 2, 3],
                "byte_offset": [offsets[i] for i in order],
                "raw": [None, "oops", None],
                "call_id": ["A", None, "B"],
            }
        )
        pq.write_table(table, path)
        return path

    con = duckdb.connect()
    assert spot_check(con, calls, staged([0, 1, 2]), 3)
    assert not spot_check(con, calls, staged([2, 1, 0]), 3)
    assert not spot_check(con, calls, staged([0, 2, 1]), 3)
