"""Publishing a run: one writer per output, the commit record, recovery after a kill, verify.

Three user-facing paths (``--output``, ``--rejects``, ``--manifest``) cannot change in one
system call, so a run stages into a work dir beside the output and writes a redo record
before it renames anything; whatever kills it, the next run (or ``verify``) finds the
previous complete set or rolls the new one forward. docs/reliability.md has the table.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from support_analytics import config
from support_analytics.errors import IntegrityError, LockedError
from support_analytics.io import storage
from support_analytics.io.files import atomic_write_bytes, fsync_dir, remove, replace_local
from support_analytics.io.manifest import read_manifest, verify_output, write_manifest

COMMIT_RECORD = "commit.json"


@contextlib.contextmanager
def output_lock(output: Path, wait: float | None, quiet: bool) -> Iterator[None]:
    """One writer per output: a second run waits (saying so) or fails with a clear message."""
    output.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(output) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait is not None and wait <= 0:
            raise LockedError(
                f"{output}: another ETL run is writing it (lock {lock.lock_file}); try again "
                "when it finishes"
            ) from None
        if not quiet:
            print(f"waiting for another ETL run writing {output} to finish...", file=sys.stderr)
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise LockedError(
                f"{output}: still locked by another ETL run after {wait:.0f}s "
                f"(lock {lock.lock_file}); try again later"
            ) from None
    try:
        yield
    finally:
        lock.release()


def new_work_dir(output: Path) -> Path:
    """A fresh work dir beside ``output`` (same file system, so publishing is renames)."""
    return Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".work", dir=output.parent))


def discard_work_dir(workdir: Path) -> None:
    """Delete a run's work dir, unless it holds a commit record.

    A record still there means publishing failed half-way (an error, Ctrl-C): it stays so the
    next run replays it instead of leaving a mixed set.
    """
    if not (workdir / COMMIT_RECORD).exists():
        shutil.rmtree(workdir, ignore_errors=True)


def commit(
    workdir: Path,
    moves: list[tuple[Path, Path]],
    manifest_path: Path,
    payload: dict[str, Any],
    *,
    removes: list[Path] | None = None,
    appends: list[tuple[Path, Path, int, int]] | None = None,
) -> None:
    """Make the staged files and manifest current; the commit record is the commit point.

    Three paths cannot change in one system call, so the run first writes (atomically) a
    record of every rename plus the manifest into its work dir. Killed before that, the
    previous set is untouched and the work dir is garbage; killed after it, the next run
    (or ``verify``) replays the record. Either way the set left is the previous or the new one.
    ``removes`` (files or folders the new set no longer has) are deleted after the renames.
    ``appends`` (staged tail, target, base size, mtime_ns) grow a file in place instead of
    replacing a copy of it, so an update writes its new bytes, not the whole file again:
    the target is cut to ``base`` bytes, the tail added and the mtime set, which a replay
    repeats to the same result.
    """
    record = {
        "moves": [[os.path.relpath(m[0], workdir), os.path.abspath(m[1])] for m in moves],
        "removes": [os.path.abspath(r) for r in removes or []],
        "appends": [
            [os.path.relpath(tail, workdir), os.path.abspath(target), base, mtime_ns]
            for tail, target, base, mtime_ns in appends or []
        ],
        "manifest_path": os.path.abspath(manifest_path),
        "manifest": payload,
    }
    atomic_write_bytes(workdir / COMMIT_RECORD, json.dumps(record).encode("utf-8"))
    fsync_dir(workdir)
    _publish(workdir, record)
    (workdir / COMMIT_RECORD).unlink()


def _publish(workdir: Path, record: dict[str, Any]) -> None:
    """Carry out a commit record; idempotent, so a replay after a kill finishes the job."""
    for staged_name, target in record["moves"]:
        staged = workdir / staged_name
        if not staged.exists():
            continue
        if staged.is_dir() or Path(target).is_dir():  # a partitioned folder, or replacing one
            replace_local(staged, Path(target))
        else:
            os.replace(staged, target)
            fsync_dir(Path(target).parent)
    for tail, target, base, mtime_ns in record.get("appends") or []:
        _append_at(workdir / tail, Path(target), int(base), int(mtime_ns))
    for target in record.get("removes") or []:
        gone = Path(target)
        if gone.exists():
            remove(gone)
            fsync_dir(gone.parent)
    write_manifest(record["manifest_path"], record["manifest"])


def _append_at(tail: Path, target: Path, base: int, mtime_ns: int) -> None:
    """``target`` cut to its first ``base`` bytes, then ``tail`` after them; idempotent."""
    with open(target, "r+b") as fh:
        fh.truncate(base)
        fh.seek(base)
        with open(tail, "rb") as src:
            shutil.copyfileobj(src, fh, 1 << 20)
        fh.flush()
        os.fsync(fh.fileno())
    os.utime(target, ns=(mtime_ns, mtime_ns))


def _work_dirs(output: Path) -> list[Path]:
    """Work dirs of runs on this output (``tempfile.mkdtemp`` names: 8 chars of [a-z0-9_])."""
    pattern = re.compile(re.escape(f".{output.name}.") + r"[a-z0-9_]{8}\.work")
    if not output.parent.is_dir():
        return []
    return sorted(p for p in output.parent.iterdir() if pattern.fullmatch(p.name) and p.is_dir())


def recover_interrupted_run(output: Path | str) -> str | None:
    """Finish or discard what a killed run left beside ``output``; call with the lock held.

    A work dir with a commit record reached its commit point: replay it (roll forward). Any
    other work dir died before committing, with the previous set untouched: delete it.
    Returns a note for the user when something was rolled forward, else None.
    """
    note = None
    for workdir in _work_dirs(Path(output)):
        record_path = workdir / COMMIT_RECORD
        if record_path.is_file():
            _publish(workdir, json.loads(record_path.read_text(encoding="utf-8")))
            note = f"finished the commit of an interrupted ETL run on {output}"
        shutil.rmtree(workdir, ignore_errors=True)
    return note


def verify_run(
    output: Path | str = config.DEFAULT_OUTPUT,
    rejects: Path | str = config.DEFAULT_REJECTS,
    manifest: Path | str = config.DEFAULT_MANIFEST,
    *,
    lock_wait: float | None = None,
) -> str:
    """Check that the Parquet and rejects are the files the manifest records (by sha256).

    A local output: takes the output lock and replays an interrupted commit first, so a crash
    is never reported as tampering. An s3:// output has no lock or work dir; its objects are
    hashed where they are. Raises IntegrityError with the fix when anything differs.
    """
    output, rejects, manifest_path = (storage.as_path(p) for p in (output, rejects, manifest))
    if storage.is_remote(output):
        lock: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    else:
        lock = output_lock(Path(output), lock_wait, quiet=False)
    with lock:
        if not storage.is_remote(output):
            recover_interrupted_run(output)
        if not storage.exists(manifest_path) or storage.is_dir(manifest_path):
            raise IntegrityError(f"{manifest_path}: no manifest; run `support-analytics etl`")
        recorded = read_manifest(manifest_path, warn=False)
        if not recorded:
            raise IntegrityError(
                f"{manifest_path}: manifest is unreadable; rerun `support-analytics etl --force`"
            )
        problems = [
            p
            for p in (
                verify_output(recorded, output, "output"),
                verify_output(recorded, rejects, "rejects"),
            )
            if p
        ]
    if problems:
        raise IntegrityError("; ".join(problems))
    rows = recorded.get("rows") or {}
    return (
        f"ok: {output} ({int(rows.get('output', 0)):,} rows) and {rejects} "
        f"({sum((rows.get('rejected') or {}).values()):,} rejects) match {manifest_path}"
    )
