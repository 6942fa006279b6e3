"""The manifest: what the ETL read, what it wrote, and hashes that say whether it is stale.

The top of the I/O layer (files <- storage <- fingerprint <- manifest). Downstream steps (the
report, caches) key on :func:`manifest_hash`, so it covers the content of the outputs and
inputs but not volatile fields such as timestamps.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support_analytics.io import storage
from support_analytics.io.fingerprint import current_sha256, fingerprint

MANIFEST_FORMAT = 1
#: The ``mode`` of a manifest written by a folder run (``etl/incremental.py``): its outputs
#: are rebuilt with ``--rebuild`` (``--force`` there reprocesses changed input files only).
INCREMENTAL_MODE = "incremental"
# Fields that change on every run without the data changing.
_VOLATILE = {"created_at", "file_mtime", "mtime_ns", "seconds", "timings"}


def read_manifest(path: Path | str, *, warn: bool = True) -> dict[str, Any]:
    """The manifest as a dict; {} when missing or corrupt (with a warning), so a run rebuilds it."""
    if not storage.exists(path):
        return {}
    try:
        data = json.loads(storage.read_bytes(path).decode("utf-8"))
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
    staged = staged_output if staged_output is not None else output_path
    payload["output"] = fingerprint(staged, recorded_as=output_path)
    return payload


def verify_output(
    manifest: dict[str, Any], output_path: Path | str, key: str = "output"
) -> str | None:
    """None when the file's sha256 matches the manifest's ``key`` entry, else the fix.

    Local or s3://, a file or a partitioned folder: the hash is the one the manifest records.
    """
    recorded = (manifest.get(key) or {}).get("sha256")
    if not recorded:
        return f"the manifest has no record of {output_path}; rerun etl"
    if not storage.exists(output_path):
        return f"{output_path} is missing; rerun `support-analytics etl`"
    actual = current_sha256(output_path)
    if actual != recorded:
        fix = "--rebuild" if manifest.get("mode") == INCREMENTAL_MODE else "--force"
        return (
            f"{output_path} changed since the ETL wrote it (sha256 {actual[:12]}... != manifest "
            f"{recorded[:12]}...); rerun `support-analytics etl {fix}`"
        )
    return None
