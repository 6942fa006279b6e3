"""A wrong mapping or a file of another format stops with one line: the file, the problem, the
fix; the outputs stay untouched. Also ``source list/show/check`` and the key file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from support_analytics import config
from support_analytics.cli import main
from support_analytics.etl.sources import load_mapping, preset_names, preset_text
from support_analytics.etl.sources.pseudonym import load_key, pseudonym
from support_analytics.simulate.connect import ConnectWorld, contact_records, write_firehose

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
BANK = FIXTURES / "bank_calls.tsv"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.PSEUDONYM_KEY_ENV, "test-key-0123456789abcdef")


def _etl(calls: Path, out: Path, source: str | Path, *extra: str) -> int:
    return main(
        ["etl", "-q", "--calls", str(calls), "--agents", str(FIXTURES / "agents.csv"),
         "--source", str(source), "--output", str(out / "calls.parquet"),
         "--manifest", str(out / "manifest.json"), "--rejects", str(out / "rejects.jsonl"),
         *extra]
    )  # fmt: skip


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def _mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


BANK_HEAD = '[source]\nformat = "csv"\ndelimiter = "\\t"\n'


def test_a_mapping_naming_a_missing_csv_column_lists_the_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _mapping(
        tmp_path,
        BANK_HEAD + '[fields]\ncall_id = "callid"\nstart_time = "date"\nend_time = "date"\n',
    )
    assert _etl(BANK, tmp_path, path) == 2
    err = _error(capsys)
    assert str(BANK) in err and "'callid'" not in err and "callid" in err
    assert "vru_entry" in err and "fix the mapping" in err
    assert not (tmp_path / "calls.parquet").exists()


def test_a_json_field_no_record_has_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_firehose(contact_records(ConnectWorld(contacts=20)), tmp_path / "in")
    text = preset_text("connect-ctr").replace('call_id = "ContactId"', 'call_id = "ContactID"')
    assert _etl(tmp_path / "in", tmp_path, _mapping(tmp_path, text)) == 2
    err = _error(capsys)
    assert "no record has 'ContactID' (read for call_id)" in err and "mine.toml" in err
    assert not (tmp_path / "calls.parquet").exists()


def test_a_timestamp_format_that_matches_no_record_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        BANK_HEAD + '[fields]\ncall_id = "call_id"\n'
        'start_time = { field = "date", format = "%d/%m/%Y" }\n'
        'end_time = { field = "date", format = "%d/%m/%Y" }\n'
    )
    assert _etl(BANK, tmp_path, _mapping(tmp_path, text)) == 2
    err = _error(capsys)
    assert "start_time '990101' (first record) does not match format '%d/%m/%Y'" in err
    assert "fix [fields] start_time format" in err


@pytest.mark.parametrize(
    ("fmt", "content", "expected"),
    [
        ("json", b"a,b\n1,2\n", "line 1 is not JSON"),
        ("parquet", b'{"a": 1}\n', "is not Parquet (it looks like JSON)"),
        ("csv", b'{"a": 1}\n', "looks like JSON, not CSV"),
    ],
)
def test_a_file_of_another_format_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, content: bytes, expected: str
) -> None:
    calls = tmp_path / "calls.dat"
    calls.write_bytes(content)
    text = (
        f'[source]\nformat = "{fmt}"\n[fields]\ncall_id = "a"\nstart_time = "a"\nend_time = "a"\n'
    )
    assert _etl(calls, tmp_path, _mapping(tmp_path, text)) == 2
    err = _error(capsys)
    assert str(calls) in err and expected in err and "format" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[source]\nformat = "xml"\n[fields]\n', "format = 'xml'; set it to one of json, csv"),
        ('[source]\nformat = "csv"\n[fields]\ncall_id = "a"\n', "lacks start_time, end_time"),
        ('[source]\nformat = "csv"\n[fields]\nduration = "a"\n', "duration, not contract fields"),
        (
            '[source]\nformat = "csv"\nfilter = 3\n[fields]\ncall_id = "a"\nstart_time = "a"\n'
            'end_time = "a"\n',
            "filter must be a non-empty string",
        ),
        ("[source\n", "not valid TOML"),
        (
            '[source]\nformat = "csv"\n[fields]\ncall_id = "a"\nstart_time = "a"\n'
            'end_time = { field = "a", timezone = "Europe/Londn" }\n',
            "timezone = 'Europe/Londn' is not a time zone",
        ),
        (
            '[source]\nformat = "csv"\n[fields]\ncall_id = "a"\nstart_time = "a"\n'
            'end_time = { field = "a", format = "dd.mm.yyyy" }\n',
            "use iso, epoch, epoch_ms or a strptime pattern",
        ),
    ],
)
def test_mapping_mistakes_name_the_file_and_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = _mapping(tmp_path, text)
    assert _etl(BANK, tmp_path, path) == 2
    err = _error(capsys)
    assert err.startswith(f"error: {path}") and expected in err


def test_sql_that_reads_an_unknown_column_names_the_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BANK_HEAD + '[fields]\ncall_id = { sql = "upper(nope)" }\nstart_time = "date"\n'
    assert _etl(BANK, tmp_path, _mapping(tmp_path, text + 'end_time = "date"\n')) == 2
    err = _error(capsys)
    assert "mine.toml" in err and "nope" in err


def test_unknown_preset_lists_the_presets(capsys: pytest.CaptureFixture[str]) -> None:
    assert _etl(BANK, Path("/nonexistent"), "connect") == 2
    assert "no such preset and no such file; presets: cdr-csv, connect-ctr" in _error(capsys)


def test_spark_refuses_a_mapped_source_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["etl", "--engine", "spark", "--source", "cdr-csv"]) == 2
    assert "--engine duckdb only" in _error(capsys)


def test_every_preset_parses_and_show_prints_a_copyable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preset_names() == ["cdr-csv", "connect-ctr"]
    for name in preset_names():
        assert main(["source", "show", name]) == 0
        copy = _mapping(tmp_path, capsys.readouterr().out)
        assert load_mapping(copy).specs == load_mapping(name).specs
    assert main(["source", "list"]) == 0
    assert "Amazon Connect contact records" in capsys.readouterr().out


def test_source_check_prints_rows_and_each_problem_with_its_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["source", "check", str(FIXTURES / "bank-tsv.toml"), "--calls", str(BANK)]) == 0
    out = capsys.readouterr().out
    assert "9 records" in out and "call_id=33116" in out
    assert "bank_calls.tsv: record 6: not_a_call" in out
    assert "record 8: invalid_timestamp: start_time '990102 25:61:00'" in out


def test_source_check_fails_on_an_unknown_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_firehose(contact_records(ConnectWorld(contacts=20)), tmp_path / "in")
    text = preset_text("connect-ctr").replace("Attributes.csat", "Attributes.survey")
    assert (
        main(["source", "check", str(_mapping(tmp_path, text)), "--calls", str(tmp_path / "in")])
        == 2
    )
    captured = capsys.readouterr()
    assert "unknown field 'Attributes.survey' (read for rating)" in captured.out
    assert "names an unknown field" in captured.err


def test_the_key_file_is_made_once_private_and_gives_stable_pseudonyms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.PSEUDONYM_KEY_ENV)
    path = tmp_path / "data" / ".pseudonym-key"
    key = load_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(path) == key
    assert pseudonym(key, "+15550100111") == pseudonym(load_key(path), "+15550100111")
    assert pseudonym(key, "+15550100111") != pseudonym(b"another-key-000000", "+15550100111")


def test_same_caller_same_pseudonym_across_runs(tmp_path: Path) -> None:
    ids = []
    for run in ("one", "two"):
        out = tmp_path / run
        out.mkdir()
        assert _etl(FIXTURES / "Master.csv", out, "cdr-csv") == 0
        manifest = json.loads((out / "manifest.json").read_text())
        ids.append(manifest["options"]["source"]["pseudonym_key"])
        ids.append((out / "calls.parquet").read_bytes())
    assert ids[0] == ids[2] and ids[1] == ids[3]


def test_a_broken_object_among_concatenated_records_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_firehose(contact_records(ConnectWorld(contacts=30)), tmp_path / "in", gz=False)
    broken = max(files, key=lambda p: p.stat().st_size)
    body = broken.read_text()  # the first record broken, others after it:
    broken.write_text(body.replace('"AWSAccountId":', '"AWSAccountId":@', 1))
    assert _etl(tmp_path / "in", tmp_path, "connect-ctr") == 2
    err = _error(capsys)
    assert broken.name in err and "Malformed JSON" in err and "fix or remove that record" in err
    assert not (tmp_path / "calls.parquet").exists()


CSV_MAPPING = (
    '[source]\nformat = "csv"\n[fields]\ncall_id = "id"\nstart_time = "s"\nend_time = "e"\n'
)


def test_a_csv_that_is_not_utf8_says_so_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_bytes(b"id,s,e\n1,2026-01-01T00:00:00Z,2026-01-01T00:05:00Z\n2,x,\xff\n")
    assert _etl(calls, tmp_path, _mapping(tmp_path, CSV_MAPPING)) == 2
    err = _error(capsys)
    assert "calls.csv" in err and "Line: 3" in err and "not utf-8" in err and "encoding" in err


def test_quoted_newlines_in_a_csv_are_read(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    ok = "2026-01-01T00:00:00Z,2026-01-01T00:05:00Z"
    calls.write_text(f'id,s,e\n"a\nb",{ok}\n3,x,y\n')
    assert _etl(calls, tmp_path, _mapping(tmp_path, CSV_MAPPING)) == 0
    rejects = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [(r["line_number"], r["reason"]) for r in rejects] == [(3, "invalid_timestamp")]
