"""A mapped source's files as one DuckDB relation of text columns, in input order.

JSON (newline-delimited or objects concatenated without a delimiter, as Firehose writes
them), CSV/TSV with or without a header, and Parquet; any of them gzip-compressed (DuckDB
detects it by content); a file, a folder read recursively (Firehose's ``YYYY/MM/dd/HH/``
keys) or a glob. Every source field comes out as text under its own name, personal fields
already replaced by their pseudonym, so nothing later can read the original value.
"""

from __future__ import annotations

import glob
import gzip
import re
from pathlib import Path

import duckdb

from support_analytics.errors import InputError
from support_analytics.etl.rules import sql_str
from support_analytics.etl.sources.mapping import Mapping
from support_analytics.etl.sources.pseudonym import pseudonym_sql
from support_analytics.io import storage

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
_GLOB_CHARS = set("*?[")


def list_files(calls: Path | str) -> list[Path]:
    """The files of a file, folder (recursively, hidden and ``_`` files skipped) or glob."""
    text = str(calls)
    if storage.is_remote(text):  # pragma: no cover - the engine downloads it first
        raise InputError(f"{calls}: download it first (the engine reads a local copy)")
    path = Path(text)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
        )
    elif _GLOB_CHARS & set(text):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
    else:
        raise InputError(f"{calls}: calls file or folder not found; pass --calls PATH")
    if not files:
        raise InputError(f"{calls}: no files found there; check the path or the glob")
    empty = [f for f in files if f.stat().st_size == 0]
    if empty:
        raise InputError(f"{empty[0]}: calls file is empty (0 bytes); remove it or re-export it")
    return files


def head_bytes(path: Path, size: int = 4096) -> bytes:
    """The first bytes of a file's content, gunzipped when it is gzip."""
    with open(path, "rb") as fh:
        start = fh.read(2)
    if start == GZIP_MAGIC:
        with gzip.open(path, "rb") as gz:
            try:
                return gz.read(size)
            except (OSError, EOFError):
                raise InputError(
                    f"{path}: a damaged gzip file; re-download or re-export it"
                ) from None
    with open(path, "rb") as fh:
        return fh.read(size)


def check_format(mapping: Mapping, files: list[Path]) -> None:
    """Refuse a file of another format than the mapping says, naming the fix."""
    for path in files:
        head = head_bytes(path)
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        looks_json = text[:1] in (b"{", b"[")
        if mapping.format == "parquet" and not head.startswith(PARQUET_MAGIC):
            kind = "JSON" if looks_json else "text"
            raise InputError(
                f"{path}: is not Parquet (it looks like {kind}); set [source] format in "
                f"{mapping.origin} to the file's format, or pass the Parquet export"
            )
        if mapping.format != "parquet" and head.startswith(PARQUET_MAGIC):
            raise InputError(
                f'{path}: is a Parquet file; set [source] format = "parquet" in {mapping.origin}'
            )
        if mapping.format == "json" and text and not looks_json:
            first = text.split(b"\n", 1)[0][:60].decode("utf-8", "replace")
            raise InputError(
                f"{path}: line 1 is not JSON ({first!r}); for CSV/TSV set [source] format = "
                f'"csv" in {mapping.origin}'
            )
        if mapping.format == "csv" and looks_json:
            raise InputError(
                f'{path}: line 1 looks like JSON, not CSV; set [source] format = "json" in '
                f"{mapping.origin}"
            )


def json_path(field: str) -> str:
    """``Agent.Username`` -> ``$."Agent"."Username"`` (each key quoted: any name is safe)."""
    parts = [p.replace("\\", "\\\\").replace('"', '\\"') for p in field.split(".")]
    return "$." + ".".join(f'"{p}"' for p in parts)


def column_ref(field: str, nested: bool) -> str:
    """A column (or, in Parquet, a struct member by dotted path) as a SQL identifier."""
    parts = field.split(".") if nested else [field]
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def ident(name: str) -> str:
    """A source field's column name in the relation below (quoted: dots and spaces allowed)."""
    return '"' + name.replace('"', '""') + '"'


def reader_sql(mapping: Mapping, files: list[Path]) -> str:
    """The table function reading every file, in order, with a ``filename`` column."""
    names = "[" + ", ".join(sql_str(str(f)) for f in files) + "]"
    if mapping.format == "json":
        return f"read_json_objects({names}, format='auto', ignore_errors=true, filename=true)"
    if mapping.format == "parquet":
        return f"read_parquet({names}, filename=true)"
    options = [
        f"delim={sql_str(mapping.delimiter)}",
        f"quote={sql_str(mapping.quote)}",
        f"escape={sql_str(mapping.escape)}",
        f"header={'true' if mapping.header else 'false'}",
        f"encoding={sql_str(mapping.encoding)}",
        "all_varchar=true",
        "null_padding=true",
        "strict_mode=false",
        "filename=true",
    ]
    if mapping.serial:
        options.append("parallel=false")
    if mapping.columns:
        options.append("names=[" + ", ".join(sql_str(c) for c in mapping.columns) + "]")
    return f"read_csv({names}, {', '.join(options)})"


def csv_header(con: duckdb.DuckDBPyConnection, mapping: Mapping, files: list[Path]) -> list[str]:
    """The column names DuckDB reads from a CSV's header (or the mapping's ``columns``)."""
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {reader_sql(mapping, files[:1])}").fetchall()
    except duckdb.Error as exc:
        raise InputError(
            f"{files[0]}: cannot read as CSV ({first_line(exc)}); check [source] delimiter, "
            f"quote and encoding in {mapping.origin}"
        ) from None
    return [r[0] for r in rows if r[0] != "filename"]


def source_sql(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, files: list[Path], key: bytes | None
) -> str:
    """(source_file, record, is_object, one text column per source field) in input order.

    ``record`` is the original JSON object text (NULL for a line that is not JSON) for JSON
    sources; personal fields are pseudonymised here, in the first projection.
    """
    fields = mapping.source_fields()
    if mapping.format == "csv":
        header = csv_header(con, mapping, files)
        missing = [f for f in fields if f not in header]
        if missing:
            raise InputError(
                f"{files[0]}: the mapping {mapping.origin} names column(s) "
                f"{', '.join(missing)}, not in the file (columns: {', '.join(header)}); fix "
                "the mapping's field names, or set header/columns/delimiter to match the file"
            )
    cols = []
    if mapping.format == "csv":  # every column, as text: sql and filter may read any
        secret = [f for f in header if f in mapping.personal]
        if secret and key is None:  # pragma: no cover - the engine always passes the key
            raise InputError("a personal field needs the pseudonym key")
        masked = ", ".join(f"{pseudonym_sql(key, ident(f))} AS {ident(f)}" for f in secret)
        replace = f" REPLACE ({masked})" if secret else ""
        return (
            "SELECT filename AS source_file, CAST(NULL AS VARCHAR) AS record, true AS is_object, "
            f"* EXCLUDE (filename){replace}\nFROM {reader_sql(mapping, files)}"
        )
    if mapping.format == "json":
        paths = ", ".join(sql_str(json_path(f)) for f in fields)
        texts = [f"f[{i}]" for i in range(1, len(fields) + 1)]
        inner = (
            f"SELECT filename, json AS record, json IS NOT NULL AND json_type(json) = 'OBJECT' "
            f"AS is_object FROM {reader_sql(mapping, files)}"
        )
        inner = (
            f"SELECT *, CASE WHEN is_object THEN json_extract_string(record, [{paths}]) END "
            f"AS f FROM ({inner})"
        )
    else:
        nested = mapping.format == "parquet"
        texts = [f"CAST({column_ref(f, nested)} AS VARCHAR)" for f in fields]
        inner = f"SELECT *, NULL AS record, true AS is_object FROM {reader_sql(mapping, files)}"
    for name, text in zip(fields, texts, strict=True):
        if name in mapping.personal:
            if key is None:  # pragma: no cover - the engine always passes the key
                raise InputError("a personal field needs the pseudonym key")
            text = pseudonym_sql(key, text)
        cols.append(f"{text} AS {ident(name)}")
    body = ",\n  ".join(cols)
    return f"SELECT filename AS source_file, record, is_object,\n  {body}\nFROM ({inner})"


#: DuckDB's hint that a CSV with quoted newlines needs its serial reader.
NEEDS_SERIAL = "parallel=false"


def first_line(exc: BaseException) -> str:
    """DuckDB's message in one line: its first line (no error class) and, for a CSV error,
    the line that says what is wrong (not the offending text, not the settings dump)."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    text = re.sub(r"^[A-Za-z ]*(Error|Exception): ", "", lines[0])
    skip = False
    for line in lines[1:]:
        if skip or line.startswith("Original Line"):
            skip = not skip and line.strip() == "Original Line:"  # the text on the next line
            continue
        if line.strip() and not line.startswith((" ", "Possible Solution", "LINE ")):
            return f"{text}: {line.strip()}"
    return text
