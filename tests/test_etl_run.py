"""The run shell: the output contract is checked on the staged files, before publishing.

An engine that writes a Parquet missing a contract column must leave the previous set as it
was (all three files, byte for byte) and no work dir behind, whichever engine it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from support_analytics import schema as s
from support_analytics.errors import ContractError
from support_analytics.etl import run_etl
from support_analytics.etl.writers import KeptWriter

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents.csv"
CALLS_A = FIXTURES / "calls_every_reject.json"
CALLS_B = FIXTURES / "calls_clean.json"


def paths(out: Path) -> tuple[Path, Path, Path]:
    return out / "c.parquet", out / "m.json", out / "r.jsonl"


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def drop_rating(path: Path) -> None:
    """Rewrite a staged Parquet file without the rating column (a broken engine)."""
    pq.write_table(pq.read_table(path).drop_columns([s.RATING]), path)


@pytest.fixture
def previous(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    run_etl(CALLS_A, AGENTS, *paths(out), progress=False)
    return out, snapshot(out)


def test_duckdb_output_breaking_the_contract_is_not_published(
    previous: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, before = previous
    real = KeptWriter.close

    def broken(self: KeptWriter) -> Any:  # both the one-pass and the staged writes end here
        counts = real(self)
        drop_rating(self.path)
        return counts

    monkeypatch.setattr(KeptWriter, "close", broken)
    with pytest.raises(ContractError, match="breaks the contract.*rating"):
        run_etl(CALLS_B, AGENTS, *paths(out), progress=False)
    assert snapshot(out) == before
    assert not list(out.glob(".c.parquet.*.work"))


@pytest.mark.spark
def test_spark_output_breaking_the_contract_is_not_published(
    spark: Any, previous: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from support_analytics.etl import spark_engine

    out, before = previous
    real = spark_engine._write_kept

    def broken(kept: Any, target: str, partition_by: str | None) -> None:
        real(kept, target, partition_by)
        for part in Path(target).glob("part-*.parquet"):
            drop_rating(part)

    monkeypatch.setattr(spark_engine, "_write_kept", broken)
    with pytest.raises(ContractError, match="breaks the contract.*rating"):
        spark_engine.run_spark_etl(CALLS_B, AGENTS, *paths(out), spark=spark, progress=False)
    assert snapshot(out) == before
    assert not list(out.glob(".c.parquet.*.work"))
