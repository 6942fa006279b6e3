"""Fingerprints: a same-size edit is caught, a touch without a change is not a change."""

from __future__ import annotations

import os
from pathlib import Path

from support_analytics.io.fingerprint import fingerprint, matches


def test_fingerprint_detects_a_content_change_with_the_same_size(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"aaaa")
    recorded = fingerprint(path)
    path.write_bytes(b"bbbb")
    os.utime(path, ns=(recorded["mtime_ns"] + 10**9, recorded["mtime_ns"] + 10**9))
    assert not matches(recorded, path)


def test_fingerprint_survives_a_touch_without_change(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"aaaa")
    recorded = fingerprint(path)
    os.utime(path, ns=(recorded["mtime_ns"] + 10**9, recorded["mtime_ns"] + 10**9))
    assert matches(recorded, path)
