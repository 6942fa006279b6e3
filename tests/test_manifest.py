"""Manifest: failed writes, stable hashes, corruption handling, tamper detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support_analytics.io.files import file_sha256
from support_analytics.io.manifest import (
    manifest_hash,
    read_manifest,
    update_cleaned_calls_manifest,
    verify_output,
    write_manifest,
)


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    write_manifest(target, {"a": 1})
    with pytest.raises(TypeError):
        write_manifest(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_missing_manifest_reads_as_empty(tmp_path: Path) -> None:
    assert read_manifest(tmp_path / "none.json") == {}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\xff"])
def test_corrupt_manifest_reads_as_empty_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "m.json"
    path.write_text(content, encoding="latin-1")
    assert read_manifest(path) == {}
    assert "will be rebuilt" in capsys.readouterr().err


def test_hash_ignores_timestamps_but_not_content() -> None:
    a = {"created_at": "2026-01-01", "output": {"sha256": "x", "file_mtime": "t1"}}
    b = {"created_at": "2026-02-02", "output": {"sha256": "x", "file_mtime": "t2"}}
    c = {"created_at": "2026-01-01", "output": {"sha256": "y", "file_mtime": "t1"}}
    assert manifest_hash(a) == manifest_hash(b)
    assert manifest_hash(a) != manifest_hash(c)


def test_update_records_size_and_sha256_of_the_parquet(tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    out.write_bytes(b"PAR1 fake")
    payload = update_cleaned_calls_manifest(out, tmp_path / "m.json", engine="duckdb")
    stored = read_manifest(tmp_path / "m.json")
    assert stored == payload
    assert stored["output"]["sha256"] == file_sha256(out)
    assert stored["output"]["file_size"] == 9
    assert stored["engine"] == "duckdb" and stored["schema_version"] and stored["created_at"]


def test_verify_output_names_the_fix_when_the_parquet_changed(tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    out.write_bytes(b"v1")
    manifest = update_cleaned_calls_manifest(out, tmp_path / "m.json")
    assert verify_output(manifest, out) is None
    out.write_bytes(b"v2")
    message = verify_output(manifest, out)
    assert message is not None and "rerun" in message and "changed" in message
