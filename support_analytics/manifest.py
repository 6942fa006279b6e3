"""The manifest: what the ETL read, what it wrote, and hashes that say whether it is stale.

Downstream steps (the report, caches) key on :func:`manifest_hash`, so it covers the content
of the outputs and inputs but not volatile fields such as timestamps.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST_FORMAT = 1
_HASH_CHUNK = 4 * 1024 * 1024
# Fields that change on every run without the data changing.
_VOLATILE = {"created_at", "file_mtime", "mtime_ns", "seconds", "timings"}


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write via a temp file in the same folder and os.replace, so readers never see half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of a file, read in chunks so memory stays flat for big files."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def file_fingerprint(path: Path | str, sha256: str | None = None) -> dict[str, Any]:
    """Size, mtime and sha256 of one file: enough to tell later whether it changed."""
    stat = os.stat(path)
    return {
        "path": str(path),
        "file_size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "file_mtime": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
        "sha256": sha256 or file_sha256(path),
    }


def fingerprint_matches(recorded: dict[str, Any] | None, path: Path | str) -> bool:
    """Whether a file is still the one recorded.

    Size and mtime equal means unchanged without reading the file (what make does); when
    either differs the content hash decides, so a touched-but-identical file stays fresh.
    """
    if not recorded or not os.path.exists(path):
        return False
    stat = os.stat(path)
    if stat.st_size != recorded.get("file_size"):
        return False
    if stat.st_mtime_ns == recorded.get("mtime_ns"):
        return True
    return file_sha256(path) == recorded.get("sha256")


def read_manifest(path: Path | str, *, warn: bool = True) -> dict[str, Any]:
    """The manifest as a dict; {} when missing or corrupt (with a warning), so a run rebuilds it."""
    from support_analytics import storage

    remote = storage.is_remote(path)
    if not (storage.exists(path) if remote else Path(path).exists()):
        return {}
    try:
        raw = storage.read_bytes(path) if remote else Path(path).read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if warn:
            print(
                f"warning: manifest {path} is unreadable ({exc}); it will be rebuilt",
                file=sys.stderr,
            )
        return {}
    if not isinstance(data, dict):
        if warn:
            print(
                f"warning: manifest {path} is not a JSON object; it will be rebuilt",
                file=sys.stderr,
            )
        return {}
    return data


def write_manifest(path: Path | str, payload: dict[str, Any]) -> None:
    """Write the manifest atomically, pretty-printed with sorted keys for readable diffs."""
    from support_analytics import storage

    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    storage.write_bytes(path, text.encode("utf-8"))  # atomic locally, one PUT on S3


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def manifest_hash(manifest: dict[str, Any]) -> str:
    """A short hash of the manifest's content, ignoring timestamps: a cache key for reports."""
    canonical = json.dumps(_stable(manifest), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def update_cleaned_calls_manifest(
    output_path: Path | str, manifest_path: Path | str, **fields: Any
) -> dict[str, Any]:
    """Record the Parquet's size, mtime and sha256 (plus any run fields) in the manifest."""
    payload = cleaned_calls_manifest(output_path, **fields)
    write_manifest(manifest_path, payload)
    return payload


def cleaned_calls_manifest(
    output_path: Path | str, *, staged_output: Path | str | None = None, **fields: Any
) -> dict[str, Any]:
    """The manifest payload, not written; fingerprints ``staged_output`` under ``output_path``.

    The ETL fingerprints its staged file before renaming it into place (a rename keeps size,
    mtime and content), so the manifest can be part of the commit record.
    """
    from support_analytics import __version__
    from support_analytics.schema import SCHEMA_VERSION

    payload: dict[str, Any] = {
        "manifest_format": MANIFEST_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    payload.update(fields)
    payload["output"] = staged_fingerprint(output_path, staged_output)
    return payload


def staged_fingerprint(path: Path | str, staged: Path | str | None = None) -> dict[str, Any]:
    """The fingerprint ``path`` will have once ``staged`` is renamed onto it.

    Folders (partitioned output) and s3:// objects are fingerprinted by ``storage``.
    """
    from support_analytics import storage

    recorded = storage.fingerprint(staged if staged is not None else path)
    recorded["path"] = str(path)
    return recorded


def verify_output(
    manifest: dict[str, Any], output_path: Path | str, key: str = "output"
) -> str | None:
    """None when the file's sha256 matches the manifest's ``key`` entry, else the fix."""
    recorded = (manifest.get(key) or {}).get("sha256")
    if not recorded:
        return f"the manifest has no record of {output_path}; rerun etl"
    if not os.path.exists(output_path):
        return f"{output_path} is missing; rerun `support-analytics etl`"
    actual = file_sha256(output_path)
    if actual != recorded:
        return (
            f"{output_path} changed since the ETL wrote it (sha256 {actual[:12]}... != manifest "
            f"{recorded[:12]}...); rerun `support-analytics etl --force`"
        )
    return None
