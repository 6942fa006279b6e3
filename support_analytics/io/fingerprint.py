"""What a manifest records about a file or folder, and whether it still matches.

One fingerprint for every kind of path (local file, partitioned folder, s3:// object or
prefix) and one check, so the ETL's up-to-date shortcut, ``verify`` and both engines agree on
what "unchanged" means.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support_analytics.io import storage
from support_analytics.io.files import file_sha256, stream_sha256


def fingerprint(
    path: Path | str, *, sha256: str | None = None, recorded_as: Path | str | None = None
) -> dict[str, Any]:
    """Size, content hash (and mtime or ETag) of ``path``: enough to tell later if it changed.

    ``sha256`` skips re-reading a local file the caller already hashed. ``recorded_as`` names
    the path the entry is for when ``path`` is a staged copy about to be renamed onto it (a
    rename keeps size, mtime and content). A folder (partitioned output) is its sorted file
    list with sizes and sha256s plus one combined sha256, so a changed, added or removed
    partition file changes it; remote objects also keep their ETag, which lets a later check
    skip re-reading them.
    """
    name = str(recorded_as if recorded_as is not None else path)
    fs, p = storage.filesystem(path)
    if not storage.is_remote(path) and not fs.isdir(p):
        stat = os.stat(path)
        return {
            "path": name,
            "file_size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "file_mtime": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
            "sha256": sha256 or file_sha256(path),
        }
    if fs.isdir(p):
        files = []
        for rel, info in storage.data_files(fs, p):
            entry = {
                "name": rel,
                "size": int(info["size"]),
                "sha256": _object_sha256(fs, info["name"]),
            }
            if storage.etag(info):
                entry["etag"] = storage.etag(info)
            files.append(entry)
        return {
            "path": name,
            "kind": "directory",
            "file_size": sum(f["size"] for f in files),
            "files": files,
            "sha256": combined_sha256(files),
        }
    info = fs.info(p)
    return {
        "path": name,
        "file_size": int(info["size"]),
        "etag": storage.etag(info),
        "sha256": sha256 or _object_sha256(fs, p),
    }


def matches(recorded: dict[str, Any] | None, path: Path | str) -> bool:
    """Whether a file or folder is still the one recorded, cheap checks first.

    A local file with the same size and mtime is unchanged without reading it (what make
    does); an object with the same ETag likewise. Otherwise the content hash decides, so a
    touched-but-identical file stays fresh.
    """
    if not recorded:
        return False
    fs, p = storage.filesystem(path)
    if not fs.exists(p):
        return False
    if recorded.get("kind") == "directory":
        if not fs.isdir(p):
            return False
        found = storage.data_files(fs, p)
        want = recorded.get("files") or []
        if [(rel, int(info["size"])) for rel, info in found] != [
            (f["name"], f["size"]) for f in want
        ]:
            return False
        for (_, info), entry in zip(found, want, strict=True):
            if entry.get("etag") and entry["etag"] == storage.etag(info):
                continue
            if _object_sha256(fs, info["name"]) != entry["sha256"]:
                return False
        return True
    if fs.isdir(p):
        return False
    if not storage.is_remote(path):
        stat = os.stat(path)
        if stat.st_size != recorded.get("file_size"):
            return False
        if stat.st_mtime_ns == recorded.get("mtime_ns"):
            return True
        return file_sha256(path) == recorded.get("sha256")
    info = fs.info(p)
    if int(info["size"]) != recorded.get("file_size"):
        return False
    if recorded.get("etag") and recorded["etag"] == storage.etag(info):
        return True
    return _object_sha256(fs, p) == recorded.get("sha256")


def current_sha256(path: Path | str) -> str:
    """The full content hash of a file or folder as :func:`fingerprint` records it."""
    return fingerprint(path)["sha256"]


def _object_sha256(fs: Any, p: str) -> str:
    with fs.open(p, "rb") as fh:
        return stream_sha256(fh)


def combined_sha256(files: list[dict[str, Any]]) -> str:
    """A folder's one hash from its sorted (name, sha256) entries, as ``fingerprint`` records."""
    text = "".join(f"{f['name']}\0{f['sha256']}\n" for f in files)
    return hashlib.sha256(text.encode()).hexdigest()
