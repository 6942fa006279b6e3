"""Daily drops into s3:// outputs with an engine that reads and writes S3 itself (Spark on
AWS Glue, ``direct_io``): each new file is staged on S3, under ``<output>.staging/``.

On a cluster the executors cannot see the driver's disk, so everything such an engine reads
or writes is an s3:// URL: the calls object, the id files of the earlier files (the
published index, then this run's staged ones) and the staged partitions. The driver only
renames each file's staged part objects to ``out/<partition>/part-<seq>-<i>.parquet``,
writes the file's small id file (its kept call_ids) to ``ids/`` and appends its rejects
locally; ``incremental_s3`` then copies the staged objects into place in the same add-only
order, manifest last, as parts staged on this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from support_analytics import schema as s
from support_analytics.etl.engine import Engine
from support_analytics.etl.incremental_files import file_entry
from support_analytics.etl.incremental_partitions import append_rejects, ensure_dir, id_file_name
from support_analytics.etl.run_steps import REMOTE_STAGING_SUFFIX, stage_checked, staging_for
from support_analytics.io import storage

#: An id file: the kept call_ids of one input file.
_IDS_SCHEMA = pa.schema([(s.CALL_ID, pa.string())])


def staging_url(output: str) -> str:
    """Where an engine that writes S3 itself stages an update of the s3:// ``output``."""
    return output + REMOTE_STAGING_SUFFIX


def stage_new_files_on_s3(
    engine: Engine,
    new: list[tuple[Path | str, str]],
    agents_data: Any,
    workdir: Path,
    staging: str,
    seen: list[str],
    seq: int,
    *,
    output: str,
    partition_by: str | None,
    progress: bool,
    chunk_bytes: int,
    lap: Any,
) -> tuple[list[dict[str, Any]], set[str], int]:
    """Stage each new file in name order under ``staging`` (``out/`` parts, ``ids/`` kept
    ids) and append its rejects to ``workdir/rejects.jsonl``. ``seen`` (the s3:// id files
    of earlier files) grows as files are staged, so a later file's repeats are duplicates.
    Returns the manifest entries, the touched partitions and the next sequence number, like
    ``incremental_partitions.stage_new_files``."""
    fs, _ = storage.filesystem(staging)
    staged_rejects = workdir / "rejects.jsonl"
    entries: list[dict[str, Any]] = []
    touched: set[str] = set()
    for path, sha in new:
        local = ensure_dir(workdir / f"f{seq:06d}")
        job = staging_for(
            engine,
            path,
            agents_data,
            local,
            f"{staging}/f{seq:06d}",
            partition_by,
            progress,
            chunk_bytes,
            lap,
        )
        job.seen_ids = list(seen)
        staged = stage_checked(engine, job, path, output)
        parts = _rename_parts(fs, str(staged.output), f"{staging}/out", seq)
        ids_url = f"{staging}/ids/{id_file_name(seq)}"
        new_parts = [p for names in parts.values() for p in names]
        _write_ids(fs, new_parts, local / id_file_name(seq), ids_url)
        seen.append(ids_url)
        touched.update(parts)
        append_rejects(job.rejects, staged_rejects, str(path))
        entries.append(file_entry(path, sha, seq, staged, sorted(parts)))
        storage.remove(f"{staging}/f{seq:06d}")
        seq += 1
    return entries, touched, seq


def _rename_parts(fs: Any, staged: str, out: str, seq: int) -> dict[str, list[str]]:
    """Move one file's staged part objects to ``out/<partition>/part-<seq>-<i>.parquet`` (the
    names a local folder run gives them); returns each partition's new objects."""
    _, root = storage.filesystem(staged)
    by_partition: dict[str, list[str]] = {}
    if fs.isdir(root):
        for rel, info in storage.data_files(fs, root):
            if "/" in rel and rel.endswith(".parquet"):
                by_partition.setdefault(rel.split("/", 1)[0], []).append(info["name"])
    _, out_root = storage.filesystem(out)
    moved: dict[str, list[str]] = {}
    for name in sorted(by_partition):
        for i, source in enumerate(sorted(by_partition[name])):
            target = f"{out_root}/{name}/part-{seq:06d}-{i}.parquet"
            fs.mv(source, target)
            moved.setdefault(name, []).append(target)
    fs.invalidate_cache()
    return moved


def _write_ids(fs: Any, parts: list[str], local: Path, url: str) -> None:
    """The file's kept call_ids (read on the driver: one column of one file's rows), put at
    ``url`` for the next files' duplicate check."""
    tables = []
    for part in parts:
        with fs.open(part, "rb") as fh:
            tables.append(pq.read_table(fh, columns=[s.CALL_ID]).cast(_IDS_SCHEMA))
    ids = pa.concat_tables(tables) if tables else _IDS_SCHEMA.empty_table()
    pq.write_table(ids, local, compression="zstd")
    _, target = storage.filesystem(url)
    fs.put_file(str(local), target)
