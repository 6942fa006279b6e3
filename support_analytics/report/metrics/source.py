"""Where the report's numbers come from: the cleaned Parquet (a file, a partitioned folder, or
an s3:// URL) as DuckDB views, and the cached repeat flags every repeat-based KPI needs."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from filelock import FileLock

from support_analytics import config
from support_analytics import schema as s
from support_analytics.io import storage

RESOLVED = "resolved"


ESCALATED = "escalated"


REPEAT_WINDOW_DAYS = 7


_FLAGS_VERSION = 1  # bump when flagged_sql changes, so old caches are not reused


#: Where the repeat-flag cache of an s3:// dataset goes (it cannot sit beside the data).
REMOTE_CACHE_DIR_NAME = "support-analytics-cache"


# --------------------------------------------------------------------------------------------
# Sources and segments
# --------------------------------------------------------------------------------------------
def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class _Remote:
    """An s3:// dataset as one listing saw it: the fsspec filesystem DuckDB reads through, the
    URL, whether it is a (partitioned) folder, and its Parquet objects' (key, size, ETag)."""

    fs: Any
    url: str
    is_dir: bool
    files: tuple[tuple[str, int, str], ...]


def _remote(path: str) -> _Remote:
    """List a remote dataset once (one ``info``, plus one ``find`` for a folder)."""
    fs, url = storage.filesystem(path)
    key = fs._strip_protocol(url).rstrip("/")
    if fs.isdir(key):
        found = fs.find(key, detail=True)
        files = tuple(
            (name[len(key) + 1 :], int(info.get("size") or 0), _remote_tag(info))
            for name, info in sorted(found.items())
            if info.get("type") != "directory" and name.endswith(".parquet")
        )
        return _Remote(fs, url.rstrip("/"), True, files)
    info = fs.info(key)  # FileNotFoundError (an OSError) when it does not exist
    return _Remote(fs, url, False, (("", int(info.get("size") or 0), _remote_tag(info)),))


def _remote_tag(info: dict[str, Any]) -> str:
    """What changes when an object is rewritten: its ETag, else its modification time."""
    return storage.etag(info) or str(info.get("LastModified") or info.get("mtime") or "")


def _dataset(path: Path | str) -> Path | _Remote:
    """A local path as is; a URL listed once, so one query does not list it repeatedly."""
    return _remote(str(path)) if storage.is_remote(path) else Path(path)


def _source(path: Path | str | _Remote) -> str:
    """A DuckDB table expression for one Parquet file or a Hive-partitioned folder of them.

    An s3:// URL is read through the fsspec filesystem registered on the connection
    (:func:`new_connection`), since DuckDB's httpfs extension cannot be downloaded at run time.
    """
    if isinstance(path, str) and storage.is_remote(path):
        path = _remote(path)
    if isinstance(path, _Remote):
        if path.is_dir:
            return (
                f"read_parquet({sql_str(path.url + '/**/*.parquet')}, hive_partitioning = true, "
                "union_by_name = true)"
            )
        return f"read_parquet({sql_str(path.url)})"
    path = Path(path)
    if path.is_dir():
        return (
            f"read_parquet({sql_str(str(path / '**' / '*.parquet'))}, hive_partitioning = true, "
            "union_by_name = true)"
        )
    return f"read_parquet({sql_str(str(path))})"


def new_connection(fs: Any = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection; ``fs`` (an fsspec filesystem) serves its URLs."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {sql_str(config.DUCKDB_MEMORY_LIMIT)}")
    con.execute(f"SET threads = {int(config.DUCKDB_THREADS)}")
    if fs is not None:
        con.register_filesystem(fs)
    return con


def _is_empty_source(path: Path | _Remote) -> bool:
    """True when there is nothing to read (missing folder contents), so queries return no rows."""
    if isinstance(path, _Remote):
        return path.is_dir and not path.files
    return path.is_dir() and not any(path.rglob("*.parquet"))


def query(path: Path | str, sql: str) -> pd.DataFrame:
    """Run ``sql`` with ``calls`` (and ``flagged``: calls with their repeat flag) bound to the
    source; an empty source gives an empty result."""
    with connect(path, flagged="flagged" in sql) as con:
        return con.execute(sql).df()


@contextmanager
def connect(
    parquet_path: Path | str | None = None, flagged: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the views ``calls`` (the cleaned calls) and, unless ``flagged``
    is False, ``flagged`` (every call with its repeat flag over the whole history, from the
    :func:`prepare` cache when it can be written), for aggregate queries beyond this module's
    (the page's slice arrays). An empty source gives empty views."""
    data = _dataset(resolve_path(parquet_path))
    con = new_connection(data.fs if isinstance(data, _Remote) else None)
    try:
        empty = _is_empty_source(data)
        if empty:
            con.register("calls_src", s.empty_cleaned_table())
            con.execute("CREATE VIEW calls AS SELECT * FROM calls_src")
        else:
            con.execute(f"CREATE VIEW calls AS SELECT * FROM {_source(data)}")
        if flagged:
            cached = None if empty else _prepare(data)
            source = f"read_parquet({sql_str(str(cached))})" if cached else f"({flagged_sql()})"
            con.execute(f"CREATE VIEW flagged AS SELECT * FROM {source}")
        yield con
    finally:
        con.close()


def _fingerprint(path: Path) -> str:
    """Names, sizes and mtimes of the Parquet file(s): changes whenever the ETL rewrites them."""
    digest = hashlib.sha256(f"flags-v{_FLAGS_VERSION}".encode())
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    for f in files:
        st = f.stat()
        digest.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _remote_fingerprint(data: _Remote) -> str:
    """Keys, sizes and ETags of the Parquet object(s), from the listing (nothing downloaded):
    a rewrite by the ETL changes the ETag even when the size stays the same."""
    digest = hashlib.sha256(f"flags-v{_FLAGS_VERSION}|{data.url}|{data.is_dir}".encode())
    for name, size, tag in data.files:
        digest.update(f"{name}|{size}|{tag}\n".encode())
    return digest.hexdigest()[:16]


def remote_cache_dir() -> Path:
    """The local folder holding the repeat-flag caches of s3:// datasets."""
    return Path(tempfile.gettempdir()) / REMOTE_CACHE_DIR_NAME


def prepare(parquet_path: Path | str | None = None) -> Path | None:
    """Compute every call's repeat flag once per version of the data and keep it beside it.

    The flag needs each customer's next call over the whole dataset, a window over every row;
    doing that once instead of in every KPI query of every page keeps a 10M-call report fast.
    The cache holds no customer ids and is sorted by call_date so period filters skip row
    groups. Returns None (queries then compute the flag inline) where the folder is read-only.
    For an s3:// dataset the cache is a local file in :func:`remote_cache_dir`, keyed by the
    objects' keys, sizes and ETags, so a rewrite on S3 is noticed without downloading it.
    """
    return _prepare(_dataset(resolve_path(parquet_path)))


def cache_files(parquet_path: Path) -> list[Path]:
    """The repeat-flag caches (and their locks) beside a local dataset, for ``clean``."""
    return sorted(parquet_path.parent.glob(f".{parquet_path.name}.repeats-*"))


def _prepare(data: Path | _Remote) -> Path | None:
    if isinstance(data, _Remote):
        folder = remote_cache_dir()
        stem = hashlib.sha256(data.url.encode("utf-8")).hexdigest()[:16]
        target = folder / f".{stem}.repeats-{_remote_fingerprint(data)}.parquet"
        fs = data.fs
    else:
        folder = data.parent
        stem = data.name
        target = folder / f".{stem}.repeats-{_fingerprint(data)}.parquet"
        fs = None
    if target.exists():
        return target
    try:
        if fs is not None:  # private: the cache holds call rows (never customer ids)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock"):
            if target.exists():
                return target
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            con = new_connection(fs)
            try:
                con.execute(f"CREATE VIEW calls AS SELECT * FROM {_source(data)}")
                con.execute(
                    f"COPY (SELECT * EXCLUDE ({s.CUSTOMER_ID}) FROM ({flagged_sql()}) "
                    f"ORDER BY {s.CALL_DATE}, {s.START_TIME}, {s.CALL_ID}) "
                    f"TO {sql_str(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
                )
            finally:
                con.close()
            os.replace(tmp, target)
        for stale in folder.glob(f".{stem}.repeats-*"):
            if stale.name not in (target.name, target.name + ".lock"):
                stale.unlink(missing_ok=True)
    except OSError:
        return None
    return target


def plain(value: Any) -> Any:
    """numpy/pandas scalars and NaN/NaT to plain Python (None for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def resolve_path(parquet_path: Path | str | None) -> Path | str:
    """The Parquet to read: the given path (a Path, or an s3:// URL kept as str), or the
    configured default output."""
    return storage.as_path(parquet_path) if parquet_path is not None else config.DEFAULT_OUTPUT


# --------------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------------
def flagged_sql() -> str:
    """Every call with its repeat flag, computed over the whole dataset (not the segment)."""
    return f"""
        SELECT *,
            coalesce(
                {s.CUSTOMER_ID} IS NOT NULL
                AND lead({s.START_TIME}) OVER (
                    PARTITION BY {s.CUSTOMER_ID} ORDER BY {s.START_TIME}, {s.CALL_ID}
                ) <= {s.START_TIME} + INTERVAL {REPEAT_WINDOW_DAYS} DAY,
                false
            ) AS repeated
        FROM calls
    """
