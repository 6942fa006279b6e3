"""Daily drops: each new file staged into the partitions it touches, beside an id index.

Rewriting only touched partitions (and keeping ``call_id`` unique without rescanning the
history) needs part files named by the input file's sequence number and one small id file
per input file; the same names let ``--force`` cut out a changed file's parts, ids and
reject lines and keep everything before it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl.engine import Engine
from support_analytics.etl.incremental_files import file_entry
from support_analytics.etl.rules import connect, sql_str
from support_analytics.etl.run_steps import stage_checked, staging_for
from support_analytics.io.fingerprint import matches

#: The id index lives beside the output: ``<output>.ids/ids-<seq>.parquet``.
ID_INDEX_SUFFIX = ".ids"

#: How a folder run names its part files: ``part-<seq of the input file>-<i>.parquet``.
_PART_NAME = re.compile(r"part-(\d+)-\d+\.parquet")


def id_index_path(output: Path) -> Path:
    """The folder of kept call_ids beside ``output``."""
    return output.with_name(output.name + ID_INDEX_SUFFIX)


def id_file_name(seq: int) -> str:
    """The id file of the input file with sequence number ``seq`` in the id index."""
    return f"ids-{int(seq):06d}.parquet"


def ensure_dir(path: Path) -> Path:
    """``path``, created if missing (the work dirs a folder run stages into)."""
    path.mkdir(exist_ok=True)
    return path


def stage_new_files(
    engine: Engine,
    new: list[tuple[Path | str, str]],
    agents_data: Any,
    workdir: Path,
    seen: list[Path],
    seq: int,
    *,
    output: Path | str,
    fresh: bool,
    partition_by: str | None,
    progress: bool,
    chunk_bytes: int,
    lap: Any,
    dropped: frozenset[int] = frozenset(),
) -> tuple[list[dict[str, Any]], set[str], int]:
    """Stage each new file in name order into ``workdir`` (``out/`` parts, ``ids/`` kept ids,
    ``rejects.jsonl`` appended): the same for local and s3:// outputs. ``seen`` (the id files
    of earlier files) grows as files are staged, so a later file's repeats are duplicates.
    A touched partition keeps its current part files except those of the ``dropped`` file
    sequence numbers. Returns the manifest entries, the touched partitions and the next
    sequence number."""
    out_dir, ids_work = workdir / "out", workdir / "ids"
    staged_rejects = workdir / "rejects.jsonl"
    entries: list[dict[str, Any]] = []
    touched: set[str] = set()
    for path, sha in new:
        job = staging_for(
            engine,
            path,
            agents_data,
            ensure_dir(workdir / f"f{seq:06d}"),
            ensure_dir(workdir / f"f{seq:06d}"),
            partition_by,
            progress,
            chunk_bytes,
            lap,
        )
        job.seen_ids = list(seen)
        staged = stage_checked(engine, job, path, output)
        ids_file = ids_work / id_file_name(seq)
        partitions = _move_parts(Path(staged.output), out_dir, seq, Path(output), fresh, dropped)
        _write_ids(partitions, out_dir, seq, ids_file, job.workdir)
        seen.append(ids_file)
        touched.update(partitions)
        append_rejects(job.rejects, staged_rejects, str(path))
        entries.append(file_entry(path, sha, seq, staged, partitions))
        seq += 1
    return entries, touched, seq


def _move_parts(
    staged: Path,
    out_dir: Path,
    seq: int,
    output: Path,
    fresh: bool,
    dropped: frozenset[int] = frozenset(),
) -> list[str]:
    """Move a file's staged partition files into the new partition folders.

    A partition the output already has starts as hard links of its current files (a rename
    of the whole folder then swaps old for new), less the parts of ``dropped`` files, and
    the file's rows join it as ``part-<seq>-<i>.parquet``, so the folder reads in (file
    order, line order).
    """
    partitions = sorted(p.name for p in staged.iterdir() if p.is_dir()) if staged.is_dir() else []
    for name in partitions:
        target = out_dir / name
        if not target.exists():
            if fresh:
                target.mkdir()
            else:
                link_kept_parts(output / name, target, dropped)
        for i, part in enumerate(sorted((staged / name).glob("*.parquet"))):
            os.replace(part, target / f"part-{seq:06d}-{i}.parquet")
    return partitions


def link_kept_parts(current: Path, target: Path, dropped: frozenset[int]) -> int:
    """Start a partition's new folder as hard links of its current part files, except those
    of the ``dropped`` input files (part names carry the file's sequence number). Returns
    how many were linked."""
    target.mkdir()
    linked = 0
    for existing in sorted(current.iterdir()) if current.is_dir() else []:
        if not existing.is_file():
            continue
        if dropped:
            match = _PART_NAME.fullmatch(existing.name)
            if match is None:
                raise InputError(
                    f"{existing}: is not a part file a folder run wrote, so --force cannot "
                    "tell which input file it came from; rerun with --rebuild"
                )
            if int(match.group(1)) in dropped:
                continue
        os.link(existing, target / existing.name)
        linked += 1
    return linked


def _write_ids(partitions: list[str], out_dir: Path, seq: int, ids_file: Path, work: Path) -> None:
    """The file's kept call_ids: what later files are checked against for duplicates."""
    parts = [str(p) for name in partitions for p in (out_dir / name).glob(f"part-{seq:06d}-*")]
    if not parts:
        pq.write_table(pa.table({s.CALL_ID: pa.array([], type=pa.string())}), ids_file)
        return
    con = connect(work)
    try:
        files = "[" + ", ".join(sql_str(p) for p in sorted(parts)) + "]"
        con.execute(
            f"COPY (SELECT {s.CALL_ID} FROM read_parquet({files}, hive_partitioning = false)) "
            f"TO {sql_str(str(ids_file))} (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        con.close()


def append_rejects(source: Path, target: Path, name: str) -> None:
    """Add a file's rejects to the run's, each line naming its file first."""
    prefix = b'{"' + s.REJECT_FILE.encode() + b'":' + json.dumps(name).encode("utf-8") + b","
    with open(source, "rb") as src, open(target, "ab") as dst:
        for line in src:
            if line.startswith(b"{"):
                dst.write(prefix + line[1:])


def kept_rejects_size(
    previous: dict[str, Any], rejects: Path, kept: list[dict[str, Any]], whole: bool
) -> int:
    """How many leading bytes of the rejects file the update keeps: all of it on a plain
    update; with ``--force``, the kept files' lines (files append in order, and the manifest
    counts each file's rejects). Refuses a rejects file changed behind the manifest's back."""
    fix = "rerun with --rebuild to reprocess every file"
    if not matches(previous.get("rejects"), rejects):
        raise InputError(f"{rejects}: differs from the manifest (changed or deleted); {fix}")
    if whole:
        return rejects.stat().st_size
    want, size = sum(sum(e["rows"]["rejected"].values()) for e in kept), 0
    with open(rejects, "rb") as src:
        for _ in range(want):
            size += len(src.readline())
    return size
