"""Local file primitives: atomic writes, fsync, sha256, replacing a file or folder by rename.

The bottom of the I/O layer (files <- storage <- fingerprint <- manifest): it imports nothing
from the package, so every module above can use it without a cycle.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

HASH_CHUNK = 4 * 1024 * 1024


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


def stream_sha256(fh: BinaryIO) -> str:
    """Hex sha256 of an open binary stream, read in chunks so memory stays flat."""
    digest = hashlib.sha256()
    while block := fh.read(HASH_CHUNK):
        digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of a local file."""
    with open(path, "rb") as fh:
        return stream_sha256(fh)


def fsync_file(path: Path | str) -> None:
    """Flush a written file to disk before it is published by a rename."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path | str) -> None:
    """Make renames in a folder durable (a crash of the machine, not only of the process)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def replace_local(src: Path, dst: Path) -> None:
    """Move ``src`` (file or folder) onto ``dst`` with renames, so readers never see half."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir() or dst.is_dir():
        old = dst.with_name(f".{dst.name}.old")
        if old.exists() or old.is_symlink():
            remove(old)
        if dst.exists():
            os.replace(dst, old)
        os.replace(src, dst)
        if old.exists():
            remove(old)
    else:
        os.replace(src, dst)


def remove(path: Path) -> None:
    """Delete a file or a whole folder (not what a symlink points to)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
