"""Data quality from the manifest and the rejects file: counts, reasons, a redacted sample, the
inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from support_analytics import schema as s
from support_analytics.io import storage
from support_analytics.report.metrics.source import new_connection, sql_str

_REDACTED = "<redacted>"


# --------------------------------------------------------------------------------------------
# Data quality (from the manifest and the rejects file)
# --------------------------------------------------------------------------------------------
def rejects_by_reason(manifest: dict[str, Any]) -> pd.DataFrame:
    """Rejected lines per reason in the contract's order (zeros included); reason, lines."""
    recorded = ((manifest.get("rows") or {}).get("rejected")) or {}
    return pd.DataFrame(
        {
            "reason": list(s.REJECT_REASONS),
            "lines": [int(recorded.get(r, 0)) for r in s.REJECT_REASONS],
        }
    )


def warnings_by_kind(manifest: dict[str, Any]) -> pd.DataFrame:
    """Kept rows that carry a warning, per kind; kind, rows."""
    recorded = manifest.get("warnings") or {}
    return pd.DataFrame(
        {"kind": list(s.WARNING_KINDS), "rows": [int(recorded.get(k, 0)) for k in s.WARNING_KINDS]}
    )


def row_counts(manifest: dict[str, Any]) -> dict[str, int]:
    """Lines read, rows kept, lines rejected, blank lines skipped, rows with a warning."""
    rows = manifest.get("rows") or {}
    return {
        "input": int(rows.get("input", 0)),
        "output": int(rows.get("output", 0)),
        "rejected": int(sum((rows.get("rejected") or {}).values())),
        "blank_lines": int(rows.get("blank_lines", 0)),
        "warnings": int(sum((manifest.get("warnings") or {}).values())),
    }


_CUSTOMER_RE = re.compile(
    r'("' + re.escape(s.CUSTOMER_ID) + r'"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\s]+)'
)


def redact_customer(raw: str) -> str:
    """A raw input line with its customer id value masked: the report shows counts only."""
    try:
        obj = json.loads(raw)
    except (ValueError, TypeError):
        return _CUSTOMER_RE.sub(lambda m: m.group(1) + json.dumps(_REDACTED), raw)
    if isinstance(obj, dict) and obj.get(s.CUSTOMER_ID) is not None:
        obj[s.CUSTOMER_ID] = _REDACTED
        return json.dumps(obj, ensure_ascii=False)
    return raw


def rejected_sample(rejects_path: Path | str, limit: int = 20) -> pd.DataFrame:
    """The first ``limit`` rejected lines (line_number, reason, raw) with customer ids masked."""
    columns = [s.REJECT_LINE_NUMBER, s.REJECT_REASON, s.REJECT_RAW]
    fs, source = storage.filesystem(rejects_path)
    remote = storage.is_remote(rejects_path)
    if remote:
        key = fs._strip_protocol(source)
        size = int(fs.info(key).get("size") or 0) if fs.isfile(key) else 0
    else:
        path = Path(rejects_path)
        source = str(path)
        size = path.stat().st_size if path.exists() else 0
    if size == 0:
        return pd.DataFrame({c: [] for c in columns}).astype({s.REJECT_LINE_NUMBER: "int64"})
    con = new_connection(fs if remote else None)
    try:
        df = con.execute(
            f"SELECT {', '.join(columns)} FROM read_json({sql_str(source)}, "
            f"format = 'newline_delimited', columns = {{{s.REJECT_LINE_NUMBER}: 'BIGINT', "
            f"{s.REJECT_REASON}: 'VARCHAR', {s.REJECT_RAW}: 'VARCHAR'}}) "
            f"ORDER BY {s.REJECT_LINE_NUMBER} LIMIT {int(limit)}"
        ).df()
    finally:
        con.close()
    df[s.REJECT_RAW] = [redact_customer(r) if isinstance(r, str) else "" for r in df[s.REJECT_RAW]]
    return df


def input_files(manifest: dict[str, Any]) -> pd.DataFrame:
    """What the ETL read and wrote: role, file name, size, modified time, short sha256."""
    entries = [("calls", (manifest.get("inputs") or {}).get("calls"))]
    entries.append(("agents", (manifest.get("inputs") or {}).get("agents")))
    entries.append(("cleaned parquet", manifest.get("output")))
    entries.append(("rejects", manifest.get("rejects")))
    rows = [
        {
            "file": role,
            "name": Path(str(info.get("path", ""))).name,
            "bytes": int(info.get("file_size", 0)),
            "modified (UTC)": str(info.get("file_mtime", ""))[:19].replace("T", " "),
            "sha256": str(info.get("sha256", ""))[:16],
        }
        for role, info in entries
        if info
    ]
    return pd.DataFrame(rows, columns=["file", "name", "bytes", "modified (UTC)", "sha256"])
