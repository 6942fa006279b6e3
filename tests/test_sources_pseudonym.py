"""The keyed pseudonym DuckDB computes is RFC 2104 HMAC-SHA256, as Python's hmac computes it."""

from __future__ import annotations

import duckdb
import pytest

from support_analytics.etl.rules import sql_str
from support_analytics.etl.sources.pseudonym import pseudonym, pseudonym_sql


@pytest.mark.parametrize(
    "key", [b"0123456789abcdef0123456789abcdef", b"6\\'\x00" * 5, b"k" * 100, "ключ-€".encode()]
)
@pytest.mark.parametrize("value", ["+15550100111", "é€ x", "", "it's"])
def test_sql_pseudonym_equals_python_hmac(key: bytes, value: str) -> None:
    got = duckdb.execute(f"SELECT {pseudonym_sql(key, sql_str(value))}").fetchall()[0][0]
    assert got == pseudonym(key, value)


def test_null_stays_null() -> None:
    assert duckdb.execute(f"SELECT {pseudonym_sql(b'k' * 20, 'NULL')}").fetchall() == [(None,)]
