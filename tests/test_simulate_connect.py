"""The Amazon Connect contact-record generator: the published data model, delivered as Firehose
delivers it (tests and benches rely on its shape)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from support_analytics.simulate.connect import ConnectWorld, contact_records, write_firehose

WORLD = ConnectWorld(contacts=150, seed=3)
KEY = re.compile(
    r"^\d{4}/\d{2}/\d{2}/\d{2}/ctr-stream-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$"
)


def test_same_world_same_records() -> None:
    assert contact_records(WORLD) == contact_records(WORLD)


def test_records_follow_the_contact_record_data_model() -> None:
    records = contact_records(WORLD)
    for r in records:
        assert r["AWSContactTraceRecordFormatVersion"] == "2017-03-10"
        assert r["Channel"] in ("VOICE", "CHAT", "TASK")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", r["InitiationTimestamp"])
        assert r["InitiationTimestamp"] < r["DisconnectTimestamp"] < r["LastUpdateTimestamp"]
        assert r["Queue"]["Name"] and r["CustomerEndpoint"]["Address"].startswith("+1555")
        if r["Agent"] is None:  # abandoned: queued, never answered
            assert "resolution" not in r["Attributes"]
    assert any(r["Agent"] is None for r in records)
    ids = [r["ContactId"] for r in records]
    assert len(set(ids)) < len(ids)  # repeated and updated copies


def test_firehose_layout_concatenated_gzip(tmp_path: Path) -> None:
    records = contact_records(WORLD)
    files = write_firehose(records, tmp_path)
    assert all(KEY.match(str(p.relative_to(tmp_path))) for p in files)
    bodies = [gzip.decompress(p.read_bytes()).decode() for p in files]
    assert any("}{" in b for b in bodies) and not any("\n" in b for b in bodies)
    decoder, at, count = json.JSONDecoder(), 0, 0
    for path in files:
        text, at = gzip.decompress(path.read_bytes()).decode(), 0
        while at < len(text):
            at = decoder.raw_decode(text, at)[1]
            count += 1
    assert count == len(records)
