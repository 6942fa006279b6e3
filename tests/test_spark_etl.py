"""Parity: the Spark engine gives the local (DuckDB) engine's output for the same input.

One session-scoped SparkSession (conftest ``spark``); every test runs both engines on tiny
fixtures covering every reject kind and the JSON/timestamp corners where Spark differs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl import run_etl
from support_analytics.io import storage

pytestmark = pytest.mark.spark

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents.csv"
EDGE = FIXTURES / "spark" / "calls_edge_cases.json"
EVERY_REJECT = FIXTURES / "calls_every_reject.json"


def outputs(out: Path, output_name: str) -> dict[str, Any]:
    """What a run produced, in engine-neutral form."""
    table = storage.read_cleaned(out / output_name).sort_by(s.CALL_ID)
    rejects = [
        json.loads(line)
        for line in (out / "rejects.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"table": table, "rejects": rejects, "manifest": manifest}


def run_both(
    spark: Any, calls: Path, tmp_path: Path, partition_by: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    from support_analytics.etl.spark_engine import run_spark_etl

    name = "cleaned" if partition_by else "cleaned.parquet"
    results = []
    for engine in ("duckdb", "spark"):
        out = tmp_path / engine
        args = (calls, AGENTS, out / name, out / "manifest.json", out / "rejects.jsonl")
        if engine == "duckdb":
            run_etl(*args, progress=False, partition_by=partition_by)
        else:
            run_spark_etl(*args, partition_by=partition_by, spark=spark)
        results.append(outputs(out, name))
    return results[0], results[1]


def assert_same(local: dict[str, Any], remote: dict[str, Any]) -> None:
    assert remote["table"].schema.equals(local["table"].schema)
    for col in s.CLEANED_COLUMNS:  # column by column, so a failure names the column
        assert remote["table"][col].to_pylist() == local["table"][col].to_pylist(), col
    assert remote["rejects"] == local["rejects"]
    assert remote["manifest"]["rows"] == local["manifest"]["rows"]
    assert remote["manifest"]["warnings"] == local["manifest"]["warnings"]
    assert remote["manifest"]["options"] == local["manifest"]["options"]


def test_every_reject_kind_gives_identical_output(spark: Any, tmp_path: Path) -> None:
    local, remote = run_both(spark, EVERY_REJECT, tmp_path)
    assert_same(local, remote)
    assert {r[s.REJECT_REASON] for r in local["rejects"]} >= set(s.REJECT_REASONS) - {
        s.REJECT_ENCODING,
        s.REJECT_NOT_A_CALL,  # only a mapped source's filter (etl/sources) gives it
    }
    assert remote["manifest"]["engine"] == "spark"


def test_json_and_timestamp_corner_cases_give_identical_output(spark: Any, tmp_path: Path) -> None:
    calls = tmp_path / "calls.json"
    # An invalid UTF-8 line and CRLF endings, which a text fixture cannot hold.
    calls.write_bytes(
        EDGE.read_bytes()
        + b'{"call_id": "E90", "issue_type": "caf\xe9"}\n'
        + b'{"call_id":"E91","start_time":"2026-01-05T09:00Z","end_time":"2026-01-05T09:01Z"}\r\n'
    )
    local, remote = run_both(spark, calls, tmp_path)
    assert_same(local, remote)
    kept = local["table"]
    ids = kept[s.CALL_ID].to_pylist()
    # The corners really are exercised (not all rejected): first duplicate key wins,
    # numbers become text, a nested object becomes its JSON text.
    assert {"E04", "123", "E06", "E07", "E08", "E11", "E13", "E37"} <= set(ids)
    row = {r[s.CALL_ID]: r for r in kept.to_pylist()}
    assert row["E07"][s.ISSUE_TYPE] == '{"a":1,"b":[1,2],"c":"é"}'
    assert row["E01"][s.START_TIME].microsecond == 123456
    reasons = {r[s.REJECT_LINE_NUMBER]: r[s.REJECT_REASON] for r in local["rejects"]}
    assert reasons[12] == s.REJECT_INVALID_TS  # 2026-02-30
    assert reasons[len(EDGE.read_text().splitlines()) + 1] == s.REJECT_ENCODING


def test_only_ascii_spaces_are_trimmed_by_both_engines(spark: Any, tmp_path: Path) -> None:
    # DuckDB's trim() also strips Unicode spaces (NBSP, U+3000), Spark's only U+0020: the
    # contract says spaces, so both strip exactly those and keep the rest as data.
    ts = '"start_time": "2026-01-05T09:00:00Z", "end_time": "2026-01-05T09:05:00Z"'
    calls = tmp_path / "calls.json"
    calls.write_text(
        f'{{"call_id": "  N1  ", "issue_type": "\u00a0Billing\u00a0", {ts}}}\n'
        f'{{"call_id": "\u3000N2", "resolution": " \\tresolved\\t ", {ts}}}\n'
        "\u00a0\n"  # not blank: a line of one NBSP is a malformed line, not a skipped one
        "   \n"  # blank
        f'{{"call_id": "\u00a0", {ts}}}\n',  # an NBSP is a call_id, not a missing one
        encoding="utf-8",
    )
    local, remote = run_both(spark, calls, tmp_path)
    assert_same(local, remote)
    rows = {r[s.CALL_ID]: r for r in local["table"].to_pylist()}
    assert set(rows) == {"N1", "\u3000N2", "\u00a0"}
    assert rows["N1"][s.ISSUE_TYPE] == "\u00a0billing\u00a0"
    assert rows["\u3000N2"][s.RESOLUTION] == "\tresolved\t"
    assert [r[s.REJECT_REASON] for r in local["rejects"]] == [s.REJECT_MALFORMED]
    assert local["manifest"]["rows"]["blank_lines"] == 1


def test_over_long_fields_are_rejected_by_both_engines_alike(spark: Any, tmp_path: Path) -> None:
    # Lengths in characters of the trimmed text: escapes, accents and emoji count one each.
    calls = FIXTURES / "hostile" / "calls" / "field_too_long.json"
    local, remote = run_both(spark, calls, tmp_path)
    assert_same(local, remote)
    assert local["table"][s.CALL_ID].to_pylist() == sorted(
        ["AT-CAP", "SHORT-IN-BYTES", "LONG-NOTES-IGNORED"]
    )
    assert [r[s.REJECT_REASON] for r in local["rejects"]] == [s.REJECT_TOO_LONG] * 7


def test_partitioned_output_is_identical(spark: Any, tmp_path: Path) -> None:
    local, remote = run_both(spark, EDGE, tmp_path, partition_by=s.CALL_DATE)
    assert_same(local, remote)
    for engine in ("duckdb", "spark"):
        folder = tmp_path / engine / "cleaned"
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
        assert files and all(f.startswith("call_date=") and "/part-" in f for f in files)
        assert not [p for p in folder.rglob("*") if p.name.startswith(("_", "."))]


def test_rerun_with_unchanged_inputs_is_up_to_date(spark: Any, tmp_path: Path) -> None:
    from support_analytics.etl.spark_engine import run_spark_etl

    out = tmp_path / "out"
    args = (EVERY_REJECT, AGENTS, out / "cleaned", out / "manifest.json", out / "rejects.jsonl")
    first = run_spark_etl(*args, partition_by=s.CALL_DATE, spark=spark)
    again = run_spark_etl(*args, partition_by=s.CALL_DATE, spark=spark)
    assert not first.up_to_date and again.up_to_date
    assert again.rows_out == first.rows_out
    # A partition file changed behind the manifest's back: the next run rebuilds.
    victim = next((out / "cleaned").rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes() + b"x")
    assert not run_spark_etl(*args, partition_by=s.CALL_DATE, spark=spark).up_to_date


def test_spark_refuses_what_the_local_engine_refuses(spark: Any, tmp_path: Path) -> None:
    from support_analytics.etl.spark_engine import run_spark_etl

    array = tmp_path / "array.json"
    array.write_text('[{"call_id": "x"}]\n')
    out = tmp_path / "out"
    with pytest.raises(InputError, match="JSON array"):
        run_spark_etl(
            array, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl", spark=spark
        )
    blank = tmp_path / "blank.json"
    blank.write_text("\n  \n")
    with pytest.raises(InputError, match="only blank lines"):
        run_spark_etl(
            blank, AGENTS, out / "c.parquet", out / "m.json", out / "r.jsonl", spark=spark
        )
    with pytest.raises(InputError, match="partition-by"):
        run_spark_etl(
            EDGE, AGENTS, out / "c", out / "m.json", out / "r.jsonl", partition_by="region"
        )


def test_line_numbers_are_consecutive_across_many_splits(spark: Any, tmp_path: Path) -> None:
    """Force tiny input splits so numbering must stitch partitions together."""
    from support_analytics.etl.spark_engine import read_lines

    calls = tmp_path / "many.json"
    calls.write_text("".join(f'{{"n": {i}}}\n' if i % 7 else "\n" for i in range(1, 2001)))
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")
    try:
        lines = read_lines(spark, str(calls))
        assert lines.rdd.getNumPartitions() > 5
        got = sorted((r.line_number, r.value) for r in lines.collect())
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    want = [(i, f'{{"n": {i}}}' if i % 7 else "") for i in range(1, 2001)]
    assert got == want


def test_contract_types_are_written_by_spark(spark: Any, tmp_path: Path) -> None:
    _, remote = run_both(spark, EVERY_REJECT, tmp_path)
    assert (
        s.contract_mismatches(storage.read_cleaned_schema(tmp_path / "spark" / "cleaned.parquet"))
        == []
    )
    assert isinstance(remote["table"], pa.Table)
