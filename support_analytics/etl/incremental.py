"""Daily drops: a folder (or glob) of call files ingested incrementally into a partitioned output.

A telephony export lands one file a day; rebuilding a year to add a day makes an update cost
the history. So a rerun stages only the files the manifest does not record
(``incremental_files``) and rewrites only the ``call_date`` partitions that receive rows
(``incremental_partitions``); this shell refuses what would mix silently and publishes the
update under the output lock through the same commit record as a single-file run, so a kill
leaves the previous complete set or the new one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from support_analytics import config
from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl.commit import (
    commit,
    discard_work_dir,
    new_work_dir,
    output_lock,
    recover_interrupted_run,
)
from support_analytics.etl.engine import Engine
from support_analytics.etl.incremental_files import (
    Plan,
    folder_manifest,
    list_call_files,
    plan_files,
    refuse_another_run,
    up_to_date_result,
    update_result,
)
from support_analytics.etl.incremental_partitions import (
    ensure_dir,
    id_file_name,
    id_index_path,
    kept_rejects_size,
    link_kept_parts,
    stage_new_files,
)
from support_analytics.etl.run_steps import EtlResult, lap_timer, names_output, read_agents
from support_analytics.io import storage
from support_analytics.io.files import fsync_file
from support_analytics.io.manifest import read_manifest


def run_incremental(
    engine: Engine,
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    manifest: Path | str,
    rejects: Path | str,
    *,
    rebuild: bool = False,
    force: bool = False,
    progress: bool = True,
    lock_wait: float | None = None,
    chunk_bytes: int = config.READ_CHUNK_BYTES,
    partition_by: str | None = None,
) -> EtlResult:
    """Ingest the new files of a folder or glob; refuse anything that would mix silently.

    Raises InputError, before any output is touched, when ``partition_by`` is not call_date,
    when a file ingested earlier changed or vanished, or when agents.csv or the options
    changed (each with the fix: ``--rebuild`` reprocesses every file from scratch). With
    ``force``, a changed or vanished file is reprocessed (or dropped) with every file after
    it, and only the partitions those files touch are rewritten.
    """
    if partition_by != s.CALL_DATE:
        what = "is a directory" if storage.is_dir(calls) else "names several files (a glob)"
        raise InputError(
            f"{calls}: {what}; pass the NDJSON calls file itself, or add --partition-by "
            f"{s.CALL_DATE} to ingest a folder of call files incrementally"
        )
    if storage.is_remote(output):
        from support_analytics.etl.incremental_s3 import run_remote

        return run_remote(
            engine,
            calls,
            agents,
            str(output).rstrip("/"),
            manifest,
            rejects,
            rebuild=rebuild,
            force=force,
            progress=progress,
            chunk_bytes=chunk_bytes,
            partition_by=partition_by,
        )
    if storage.is_remote(manifest) or storage.is_remote(rejects):
        raise InputError(
            f"--output {output}: is local; keep its --manifest and --rejects local too (or put "
            "all three on s3://)"
        )
    output, manifest, rejects = Path(output), Path(manifest), Path(rejects)
    listing = list_call_files(calls)
    agents_data = read_agents(agents)
    with output_lock(output, lock_wait, quiet=not progress):
        note = recover_interrupted_run(output)
        if note and progress:
            print(note, file=sys.stderr)
        previous = {} if rebuild else read_manifest(manifest)
        if previous:
            _check_previous(previous, agents, output, partition_by, manifest)
        plan = plan_files(listing, previous, force=force)
        if not plan.new and not plan.dropped and previous:
            return up_to_date_result(previous, plan.detail)
        if plan.dropped and not plan.kept:  # --force from the first file: a rebuild
            previous = {}
        return _ingest(
            engine,
            plan,
            previous,
            agents,
            agents_data,
            output,
            manifest,
            rejects,
            partition_by=partition_by,
            progress=progress,
            chunk_bytes=chunk_bytes,
        )


def _check_previous(
    previous: dict[str, Any],
    agents: Path | str,
    output: Path,
    partition_by: str | None,
    manifest: Path,
) -> None:
    """Refuse to add to an output made another way, with other agents, or changed since."""
    fix = "rerun with --rebuild to reprocess every file"
    described = (previous.get("output") or {}).get("path")
    same = described is None or names_output(str(described), output)
    refuse_another_run(previous, agents, output, partition_by, manifest, same_output=same)
    want = [(f["name"], f["size"]) for f in (previous.get("output") or {}).get("files") or []]
    found = []
    if output.is_dir():
        fs, p = storage.filesystem(output)
        found = [(rel, int(info["size"])) for rel, info in storage.data_files(fs, p)]
    if found != want:
        raise InputError(
            f"{output}: its partition files differ from the manifest (changed or deleted "
            f"behind its back); {fix}"
        )


def _ingest(
    engine: Engine,
    plan: Plan,
    previous: dict[str, Any],
    agents: Path | str,
    agents_data: pa.Table,
    output: Path,
    manifest: Path,
    rejects: Path,
    *,
    partition_by: str | None,
    progress: bool,
    chunk_bytes: int,
) -> EtlResult:
    """Stage each new file, build the touched partitions and commit them in one record."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    lap = lap_timer(timings)
    fresh = not previous
    kept = [] if fresh else plan.kept
    dropped = frozenset(int(e["seq"]) for e in plan.dropped) if not fresh else frozenset()
    for target in (output, rejects, manifest):
        target.parent.mkdir(parents=True, exist_ok=True)
    ids_dir = id_index_path(output)
    workdir = new_work_dir(output)
    try:
        out_dir, ids_work = ensure_dir(workdir / "out"), ensure_dir(workdir / "ids")
        # An update appends its rejects to the file in place (at publish, under the commit
        # record); ``rejects.jsonl`` in the work dir holds only this run's lines.
        staged_rejects = workdir / "rejects.jsonl"
        base = 0 if fresh else kept_rejects_size(previous, rejects, kept, whole=not dropped)
        seen = [ids_dir / id_file_name(e["seq"]) for e in kept]
        entries, touched, seq = stage_new_files(
            engine,
            plan.new,
            agents_data,
            workdir,
            seen,
            int(previous.get("next_file_seq", 0)),
            output=output,
            fresh=fresh,
            partition_by=partition_by,
            progress=progress,
            chunk_bytes=chunk_bytes,
            lap=lap,
            dropped=dropped,
        )
        # Partitions only the dropped files had rows in: rebuilt without them, or gone.
        gone = set()
        emptied = set() if fresh else {p for e in plan.dropped for p in e["partitions"]}
        for name in sorted(emptied - touched):
            if link_kept_parts(output / name, out_dir / name, dropped):
                touched.add(name)
            else:
                (out_dir / name).rmdir()
                gone.add(name)
        staged_rejects.touch()
        for part_file in sorted(out_dir.rglob("*.parquet")) + sorted(ids_work.iterdir()):
            fsync_file(part_file)
        fsync_file(staged_rejects)
        lap("check_and_fsync")
        seconds = time.perf_counter() - started
        payload = folder_manifest(
            engine.name,
            previous,
            kept + entries,
            seq,
            agents,
            output,
            out_dir,
            rejects,
            staged_rejects,
            partition_by,
            seconds,
            timings,
            fresh,
            gone=gone,
            rejects_base=None if fresh else (rejects, base),
        )
        if fresh:
            moves = [(out_dir, output), (ids_work, ids_dir)]
        else:
            ids_dir.mkdir(exist_ok=True)
            moves = [(out_dir / p, output / p) for p in sorted(touched)]
            if dropped:  # the whole index swapped: the dropped files' id files go
                for entry in kept:
                    name = id_file_name(entry["seq"])
                    os.link(ids_dir / name, ids_work / name)
                moves.append((ids_work, ids_dir))
            else:
                moves += [(f, ids_dir / f.name) for f in sorted(ids_work.iterdir())]
        if fresh:
            moves.append((staged_rejects, rejects))
            appends = []
        else:
            appends = [(staged_rejects, rejects, base, payload["rejects"]["mtime_ns"])]
        commit(
            workdir,
            moves,
            manifest,
            payload,
            removes=[output / p for p in sorted(gone)],
            appends=appends,
        )
        return update_result(entries, seconds, payload, plan.detail)
    finally:
        discard_work_dir(workdir)
