"""Paths that may be local files or ``s3://`` URLs, through fsspec (above ``files``).

Every place that accepts a path (CLI, ETL engines, notebooks) goes through these helpers, so
S3 support is one module: credentials come from the usual AWS chain (environment, config
files, instance roles) via s3fs/botocore; ``AWS_ENDPOINT_URL`` points it at another S3 API
(the tests use a moto server on loopback). Nothing here stores credentials.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import fsspec

from support_analytics.errors import InputError
from support_analytics.io.files import atomic_write_bytes, replace_local

_REMOTE_PREFIXES = ("s3://", "s3a://", "s3n://")


def is_remote(path: Path | str | None) -> bool:
    """True for an object-store URL (``s3://bucket/key``); local paths and None are not."""
    return path is not None and str(path).lower().startswith(_REMOTE_PREFIXES)


def as_path(path: Path | str) -> Path | str:
    """A local path as Path, a URL kept as str (Path would collapse ``s3://`` to ``s3:/``)."""
    return str(path) if is_remote(path) else Path(path)


def filesystem(path: Path | str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem for a path and the path as that filesystem spells it."""
    text = str(path)
    if not is_remote(text):
        return fsspec.filesystem("file"), os.path.abspath(text)
    text = "s3://" + text.split("://", 1)[1]
    kwargs: dict[str, Any] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs["client_kwargs"] = {"endpoint_url": endpoint}
    try:
        fs = fsspec.filesystem("s3", **kwargs)
    except ImportError:
        raise InputError(
            f"{text}: s3:// paths need s3fs; install it with pip install 'support-analytics[s3]'"
        ) from None
    # Listings are cached per instance; a pipeline run must see its own writes.
    fs.invalidate_cache()
    return fs, text


def exists(path: Path | str) -> bool:
    fs, p = filesystem(path)
    return fs.exists(p)


def is_dir(path: Path | str) -> bool:
    fs, p = filesystem(path)
    return fs.isdir(p)


def download(path: Path | str, local: Path) -> Path:
    """Copy a remote object (or prefix) to ``local``; InputError when it does not exist."""
    fs, p = filesystem(path)
    if not fs.exists(p):
        raise InputError(f"{path}: not found")
    local.parent.mkdir(parents=True, exist_ok=True)
    if fs.isdir(p):
        fs.get(p.rstrip("/") + "/", str(local), recursive=True)
    else:
        fs.get(p, str(local))
    return local


def upload(local: Path, path: Path | str) -> None:
    """Put a local file or folder at ``path``, replacing what was there.

    One S3 PUT is atomic per object; for a folder the old objects are removed first so no
    stale partition survives. Local targets use os.replace.
    """
    fs, p = filesystem(path)
    if not is_remote(path):
        replace_local(local, Path(p))
        return
    if fs.exists(p):
        fs.rm(p, recursive=True)
    if local.is_dir():
        for file in sorted(f for f in local.rglob("*") if f.is_file()):
            fs.put_file(str(file), f"{p.rstrip('/')}/{file.relative_to(local).as_posix()}")
    else:
        fs.put_file(str(local), p)
    fs.invalidate_cache()


def publish(staged: Path | str, path: Path | str) -> None:
    """Put a staged file or folder at ``path``: an upload or rename from local staging, a
    move within the store when an engine staged on S3 itself (Spark on Glue)."""
    if not is_remote(staged):
        upload(Path(staged), path)
        return
    fs, src = filesystem(staged)
    _, dst = filesystem(path)
    if fs.exists(dst):
        fs.rm(dst, recursive=True)
    fs.mv(src, dst, recursive=fs.isdir(src))
    fs.invalidate_cache()


def remove(path: Path | str) -> None:
    """Delete a file or folder (all objects under a prefix) if it exists."""
    fs, p = filesystem(path)
    if fs.exists(p):
        fs.rm(p, recursive=True)
        fs.invalidate_cache()


def read_bytes(path: Path | str) -> bytes:
    fs, p = filesystem(path)
    with fs.open(p, "rb") as fh:
        return fh.read()


def write_bytes(path: Path | str, data: bytes) -> None:
    """Write a small object: a temp file + os.replace locally, a single PUT on S3."""
    if not is_remote(path):
        atomic_write_bytes(path, data)
        return
    fs, p = filesystem(path)
    with fs.open(p, "wb") as fh:
        fh.write(data)


def etag(info: dict[str, Any]) -> str | None:
    """An object's ETag from an fsspec listing entry, without the quotes S3 puts around it."""
    tag = info.get("ETag") or info.get("etag")
    return str(tag).strip('"') if tag else None


def data_files(fs: fsspec.AbstractFileSystem, root: str) -> list[tuple[str, dict[str, Any]]]:
    """(relative name, info) of every data file under a folder, hidden/marker files skipped."""
    out = []
    root = fs._strip_protocol(root)  # find() answers without the s3:// prefix
    for full, info in sorted(fs.find(root, detail=True).items()):
        rel = full[len(root.rstrip("/")) + 1 :] if full.startswith(root.rstrip("/")) else full
        name = rel.rsplit("/", 1)[-1]
        if info.get("type") == "directory" or name.startswith((".", "_")):
            continue
        out.append((rel, info))
    return out


def read_cleaned(path: Path | str) -> Any:
    """The cleaned calls as an Arrow table in contract column order and types.

    Works for a single Parquet file or a Hive-partitioned folder (``call_date=YYYY-MM-DD/``),
    local or remote, so metrics and notebooks need not care which layout the ETL wrote.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    from support_analytics import schema as s

    fs, p = filesystem(path)
    if fs.isdir(p):
        partitioning = ds.partitioning(pa.schema([(s.CALL_DATE, pa.date32())]), flavor="hive")
        root = fs._strip_protocol(p) if is_remote(path) else p
        dataset = ds.dataset(root, filesystem=fs, format="parquet", partitioning=partitioning)
        table = dataset.to_table()
    else:
        import pyarrow.parquet as pq

        with fs.open(p, "rb") as fh:
            table = pq.read_table(fh)
    return table.select(list(s.CLEANED_COLUMNS)).cast(s.CLEANED_SCHEMA)


def read_cleaned_schema(path: Path | str) -> Any:
    """The Arrow schema of the cleaned output (file or partitioned folder), contract order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from support_analytics import schema as s

    fs, p = filesystem(path)
    if fs.isdir(p):
        first = next((info["name"] for _, info in data_files(fs, p)), None)
        if first is None:
            return s.CLEANED_SCHEMA
        with fs.open(first, "rb") as fh:
            file_schema = pq.read_schema(fh)
        fields = {f.name: f for f in file_schema}
        fields[s.CALL_DATE] = pa.field(s.CALL_DATE, pa.date32())
        return pa.schema([fields[n] for n in s.CLEANED_COLUMNS if n in fields])
    with fs.open(p, "rb") as fh:
        return pq.read_schema(fh)
