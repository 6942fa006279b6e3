"""The read-ahead thread: order kept, errors handed over, stopped when left early."""

from __future__ import annotations

import pytest

from support_analytics.etl.handoff import ReadAhead


def test_read_ahead_keeps_order_and_hands_over_errors() -> None:
    import duckdb

    con = duckdb.connect()
    reader = con.sql("SELECT range AS i FROM range(100000)").to_arrow_reader(1000)
    got = [v for b in ReadAhead(reader) for v in b.column("i").to_pylist()]
    assert got == list(range(100000))

    bad = con.sql(
        "SELECT CAST(CASE WHEN range < 50000 THEN '1' ELSE 'x' END AS INTEGER) AS v "
        "FROM range(100000)"
    ).to_arrow_reader(1000)
    with pytest.raises((duckdb.Error, OSError), match="Could not convert"):
        for _ in ReadAhead(bad):
            pass


def test_read_ahead_stops_its_thread_when_left_early() -> None:
    import duckdb

    con = duckdb.connect()
    ahead = ReadAhead(con.sql("SELECT range FROM range(10000000)").to_arrow_reader(1000))
    for _ in ahead:
        break
    assert not ahead._thread.is_alive()
    assert con.execute("SELECT 42").fetchone() == (42,)  # the connection is free again
