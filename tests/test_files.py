"""Local file primitives: atomic writes leave nothing half-written behind."""

from __future__ import annotations

from pathlib import Path

from support_analytics.io.files import atomic_write_bytes


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]
