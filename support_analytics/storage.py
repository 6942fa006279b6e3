"""Paths that may be local files or ``s3://`` URLs, through fsspec.

Every place that accepts a path (CLI, ETL engines, notebooks) goes through these helpers, so
S3 support is one module: credentials come from the usual AWS chain (environment, config
files, instance roles) via s3fs/botocore; ``AWS_ENDPOINT_URL`` points it at another S3 API
(the tests use a moto server on loopback). Nothing here stores credentials.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import fsspec

from support_analytics.errors import InputError

_HASH_CHUNK = 4 * 1024 * 1024
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


def replace_local(src: Path, dst: Path) -> None:
    """Move ``src`` (file or folder) onto ``dst`` with renames, so readers never see half."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir() or dst.is_dir():
        old = dst.with_name(f".{dst.name}.old")
        if old.exists() or old.is_symlink():
            _remove(old)
        if dst.exists():
            os.replace(dst, old)
        os.replace(src, dst)
        if old.exists():
            _remove(old)
    else:
        os.replace(src, dst)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def read_bytes(path: Path | str) -> bytes:
    fs, p = filesystem(path)
    with fs.open(p, "rb") as fh:
        return fh.read()


def write_bytes(path: Path | str, data: bytes) -> None:
    """Write a small object: a temp file + os.replace locally, a single PUT on S3."""
    if not is_remote(path):
        from support_analytics.manifest import atomic_write_bytes

        atomic_write_bytes(path, data)
        return
    fs, p = filesystem(path)
    with fs.open(p, "wb") as fh:
        fh.write(data)


def _sha256(fs: fsspec.AbstractFileSystem, p: str) -> str:
    digest = hashlib.sha256()
    with fs.open(p, "rb") as fh:
        while block := fh.read(_HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _etag(info: dict[str, Any]) -> str | None:
    tag = info.get("ETag") or info.get("etag")
    return str(tag).strip('"') if tag else None


def _files(fs: fsspec.AbstractFileSystem, root: str) -> list[tuple[str, dict[str, Any]]]:
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


def fingerprint(path: Path | str) -> dict[str, Any]:
    """What a manifest records about a file or a folder, local or remote.

    A folder (partitioned output) is its sorted file list with sizes and sha256s plus one
    combined sha256, so a changed, added or removed partition file changes the fingerprint.
    Remote objects also keep their ETag, which lets a later check skip re-reading them.
    """
    fs, p = filesystem(path)
    if not is_remote(path) and not fs.isdir(p):
        from support_analytics.manifest import file_fingerprint

        return file_fingerprint(path)
    if fs.isdir(p):
        files = []
        for rel, info in _files(fs, p):
            entry = {"name": rel, "size": int(info["size"]), "sha256": _sha256(fs, info["name"])}
            if _etag(info):
                entry["etag"] = _etag(info)
            files.append(entry)
        combined = hashlib.sha256(
            "".join(f"{f['name']}\0{f['sha256']}\n" for f in files).encode()
        ).hexdigest()
        return {
            "path": str(path),
            "kind": "directory",
            "file_size": sum(f["size"] for f in files),
            "files": files,
            "sha256": combined,
        }
    info = fs.info(p)
    return {
        "path": str(path),
        "file_size": int(info["size"]),
        "etag": _etag(info),
        "sha256": _sha256(fs, p),
    }


def fingerprint_matches(recorded: dict[str, Any] | None, path: Path | str) -> bool:
    """Whether a file or folder is still the one recorded (cheap checks first)."""
    if not recorded:
        return False
    fs, p = filesystem(path)
    if not fs.exists(p):
        return False
    if recorded.get("kind") == "directory":
        if not fs.isdir(p):
            return False
        found = _files(fs, p)
        want = recorded.get("files") or []
        if [(rel, int(info["size"])) for rel, info in found] != [
            (f["name"], f["size"]) for f in want
        ]:
            return False
        for (_, info), entry in zip(found, want, strict=True):
            if entry.get("etag") and entry["etag"] == _etag(info):
                continue
            if _sha256(fs, info["name"]) != entry["sha256"]:
                return False
        return True
    if fs.isdir(p):
        return False
    if not is_remote(path):
        from support_analytics.manifest import fingerprint_matches as local_matches

        return local_matches(recorded, path)
    info = fs.info(p)
    if int(info["size"]) != recorded.get("file_size"):
        return False
    if recorded.get("etag") and recorded["etag"] == _etag(info):
        return True
    return _sha256(fs, p) == recorded.get("sha256")


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
        first = next((info["name"] for _, info in _files(fs, p)), None)
        if first is None:
            return s.CLEANED_SCHEMA
        with fs.open(first, "rb") as fh:
            file_schema = pq.read_schema(fh)
        fields = {f.name: f for f in file_schema}
        fields[s.CALL_DATE] = pa.field(s.CALL_DATE, pa.date32())
        return pa.schema([fields[n] for n in s.CLEANED_COLUMNS if n in fields])
    with fs.open(p, "rb") as fh:
        return pq.read_schema(fh)
