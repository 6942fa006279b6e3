"""Amazon Connect contact records through the connect-ctr preset, end to end.

The records come from the project's own generator (``simulate/connect.py``, written from the
published data model): concatenated and newline-delimited, gzipped, in Firehose's
``YYYY/MM/dd/HH/`` layout, with repeated and updated copies, abandoned contacts, chats and
tasks, and phone numbers in the endpoints and in free attributes. The kept rows are checked
against an independent DuckDB query over the same files.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from support_analytics import schema as s
from support_analytics.etl import run_etl
from support_analytics.etl.sources.pseudonym import pseudonym
from support_analytics.simulate.connect import (
    ConnectWorld,
    agents_csv,
    contact_records,
    write_firehose,
)

KEY = "test-key-0123456789abcdef"
WORLD = ConnectWorld(contacts=300, days=2, seed=5)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_ANALYTICS_PSEUDONYM_KEY", KEY)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return contact_records(WORLD)


def _run(calls: Path, out: Path, **kw: object):
    (out / "agents.csv").write_text(agents_csv(WORLD))
    return run_etl(
        calls, out / "agents.csv", out / "calls.parquet", out / "manifest.json",
        out / "rejects.jsonl", source="connect-ctr", progress=False, **kw,
    )  # fmt: skip


def _expected(calls: Path) -> list[tuple]:
    """The independent recomputation: DuckDB's own JSON reader, latest copy per voice contact."""
    rows = duckdb.execute(
        f"""
        WITH src AS (
          SELECT * FROM read_json('{calls}/**/*', format='auto', sample_size=-1,
                                  union_by_name=true)
        ), voice AS (
          SELECT * FROM src WHERE Channel = 'VOICE'
          QUALIFY row_number() OVER (PARTITION BY ContactId
                                     ORDER BY LastUpdateTimestamp DESC) = 1
        )
        SELECT CAST(ContactId AS VARCHAR), Agent.Username, CustomerEndpoint.Address,
               CAST(InitiationTimestamp AS TIMESTAMPTZ), CAST(DisconnectTimestamp AS TIMESTAMPTZ),
               Attributes.issue_type, Attributes.resolution, CAST(Attributes.csat AS INTEGER)
        FROM voice ORDER BY ContactId"""
    ).fetchall()
    key = KEY.encode()
    return [(r[0], r[1], pseudonym(key, r[2]), *r[3:]) for r in rows]


def _kept(out: Path) -> list[tuple]:
    table = pq.read_table(out / "calls.parquet")
    cols = [s.CALL_ID, s.AGENT_ID, s.CUSTOMER_ID, s.START_TIME, s.END_TIME, s.ISSUE_TYPE,
            s.RESOLUTION, s.RATING]  # fmt: skip
    return sorted(zip(*(table[c].to_pylist() for c in cols), strict=True))


def _phones(records: list[dict]) -> set[str]:
    text = json.dumps(records)
    return set(re.findall(r"\+1555\d{7}", text))


@pytest.mark.parametrize("newline", [False, True], ids=["concatenated", "ndjson"])
def test_connect_kept_rows_equal_an_independent_query(
    tmp_path: Path, records: list[dict], newline: bool
) -> None:
    write_firehose(records, tmp_path / "in", gz=True, newline=newline)
    result = _run(tmp_path / "in", tmp_path)
    expected = _expected(tmp_path / "in")
    assert _kept(tmp_path) == sorted(expected)
    assert result.rows_out == len(expected)
    voice = [r for r in records if r["Channel"] == "VOICE"]
    assert result.rejected[s.REJECT_NOT_A_CALL] == len(records) - len(voice)
    assert result.rejected[s.REJECT_DUPLICATE] == len(voice) - len({r["ContactId"] for r in voice})
    assert result.rows_in == len(records) == result.rows_out + result.rows_rejected


def test_latest_copy_wins_and_abandoned_contacts_are_kept(
    tmp_path: Path, records: list[dict]
) -> None:
    write_firehose(records, tmp_path / "in", gz=True)
    _run(tmp_path / "in", tmp_path)
    kept = {r[0]: r for r in _kept(tmp_path)}
    latest: dict[str, dict] = {}
    for r in records:
        if r["Channel"] == "VOICE" and (
            r["ContactId"] not in latest
            or r["LastUpdateTimestamp"] >= latest[r["ContactId"]]["LastUpdateTimestamp"]
        ):
            latest[r["ContactId"]] = r
    updated = [c for c in latest if sum(r["ContactId"] == c for r in records) > 1]
    assert updated, "the generator wrote no repeated contacts"
    for contact in updated:
        want = latest[contact]["Attributes"]
        assert kept[contact][6] == want.get("resolution")
        assert kept[contact][7] == (int(want["csat"]) if "csat" in want else None)
    abandoned = [c for c, r in latest.items() if r["Agent"] is None]
    assert abandoned and all(kept[c][1] is None for c in abandoned)


def test_every_record_is_kept_or_rejected_once_per_file(
    tmp_path: Path, records: list[dict]
) -> None:
    files = write_firehose(records, tmp_path / "in", gz=True)
    _run(tmp_path / "in", tmp_path)
    everything, winners = set(), {}
    for path in files:
        rel = str(path.relative_to(tmp_path / "in"))
        decoded = gzip.decompress(path.read_bytes()).decode()
        objects = list(json.JSONDecoder().raw_decode(decoded, i)[0] for i in _starts(decoded))
        for number, r in enumerate(objects, start=1):
            everything.add((rel, number))
            if r["Channel"] == "VOICE":
                best = winners.get(r["ContactId"])
                if best is None or r["LastUpdateTimestamp"] >= best[0]:
                    winners[r["ContactId"]] = (r["LastUpdateTimestamp"], rel, number)
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    rejected = [(r[s.REJECT_FILE], r[s.REJECT_LINE_NUMBER]) for r in rejects]
    kept = {(rel, number) for _, rel, number in winners.values()}
    counts = json.loads((tmp_path / "manifest.json").read_text())["rows"]["files"]
    assert [c["file"] for c in counts] == sorted(str(p.relative_to(tmp_path / "in")) for p in files)
    for c in counts:
        assert c["input"] == sum(rel == c["file"] for rel, _ in everything)
        assert c["output"] == sum(rel == c["file"] for rel, _ in kept)
        assert c["input"] == c["output"] + c["rejected"]
    assert len(rejected) == len(set(rejected))
    assert not kept & set(rejected)
    assert kept | set(rejected) == everything
    assert {c for c, *_ in _kept(tmp_path)} == set(winners)


def _starts(text: str) -> list[int]:
    """Where each top-level JSON object of a concatenated body starts."""
    decoder, at, out = json.JSONDecoder(), 0, []
    while at < len(text):
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            break
        out.append(at)
        at = decoder.raw_decode(text, at)[1]
    return out


def test_no_phone_number_reaches_any_output_file(tmp_path: Path, records: list[dict]) -> None:
    write_firehose(records, tmp_path / "in", gz=True)
    _run(tmp_path / "in", tmp_path)
    phones = _phones(records)
    assert len(phones) > 100
    outputs = [tmp_path / n for n in ("calls.parquet", "rejects.jsonl", "manifest.json")]
    decoded = json.dumps(pq.read_table(outputs[0]).to_pylist(), default=str)
    for phone in phones:
        digits = phone.lstrip("+").encode()
        for path in outputs:
            assert digits not in path.read_bytes(), f"{phone} in {path.name}"
        assert phone.lstrip("+") not in decoded
    rejects = (tmp_path / "rejects.jsonl").read_text()
    assert "anon-" in rejects and "Attributes.callback_number" not in rejects


def test_a_single_uncompressed_ndjson_file_reads_like_the_folder(
    tmp_path: Path, records: list[dict]
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "records.json").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    write_firehose(records, tmp_path / "in", gz=True)
    _run(tmp_path / "one" / "records.json", tmp_path / "one")
    _run(tmp_path / "in", tmp_path)
    assert _kept(tmp_path / "one") == _kept(tmp_path)
    rejects = (tmp_path / "one" / "rejects.jsonl").read_text().splitlines()
    for reject in map(json.loads, rejects):
        assert s.REJECT_FILE not in reject
        record = records[reject[s.REJECT_LINE_NUMBER] - 1]  # the line number is the line's
        voice = reject[s.REJECT_REASON] == s.REJECT_DUPLICATE
        assert (record["Channel"] == "VOICE") == voice
        assert json.loads(reject[s.REJECT_RAW])["ContactId"] == record["ContactId"]


def test_a_second_run_is_up_to_date_and_a_new_key_reruns(
    tmp_path: Path, records: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_firehose(records, tmp_path / "in", gz=True)
    first = _run(tmp_path / "in", tmp_path)
    assert _run(tmp_path / "in", tmp_path).up_to_date
    monkeypatch.setenv("SUPPORT_ANALYTICS_PSEUDONYM_KEY", "another-key-0123456789")
    again = _run(tmp_path / "in", tmp_path)
    assert not again.up_to_date and again.rows_out == first.rows_out


def test_kpis_equal_an_independent_query_over_the_records(
    tmp_path: Path, records: list[dict]
) -> None:
    write_firehose(records, tmp_path / "in", gz=True)
    _run(tmp_path / "in", tmp_path)
    kpis = """count(*), round(avg({minutes}), 6), round(avg(({res} = 'resolved')::INT), 6),
              round(avg({rating}), 6), count(*) FILTER (WHERE {agent} IS NULL)"""
    got = duckdb.execute(
        "SELECT "
        + kpis.format(
            minutes="call_duration_minutes", res="resolution", rating="rating", agent="agent_id"
        )  # fmt: skip
        + f" FROM '{tmp_path}/calls.parquet'"
    ).fetchall()
    minutes = (
        "round(epoch(CAST(DisconnectTimestamp AS TIMESTAMPTZ) - "
        "CAST(InitiationTimestamp AS TIMESTAMPTZ)) / 60.0, 2)"
    )
    want = duckdb.execute(
        f"""
        WITH latest AS (
          SELECT * FROM read_json('{tmp_path}/in/**/*.gz', format='auto', sample_size=-1,
                                  union_by_name=true)
          WHERE Channel = 'VOICE'
          QUALIFY row_number() OVER (PARTITION BY ContactId
                                     ORDER BY LastUpdateTimestamp DESC) = 1
        )
        SELECT """
        + kpis.format(
            minutes=minutes,
            res="Attributes.resolution",
            rating="CAST(Attributes.csat AS INTEGER)",
            agent="Agent",
        )  # fmt: skip
        + " FROM latest"
    ).fetchall()
    assert got == want
    assert got[0][4] > 0  # abandoned contacts are in the counts
