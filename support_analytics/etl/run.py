"""The one run shell both engines share: checks, up-to-date, staging, contract, manifest, commit.

An engine (``duckdb_engine``, ``spark_engine``) only reads the calls and writes the staged
Parquet and rejects it is pointed at. Everything a user relies on around that is written
once, here, so a guarantee added for one engine holds for both:

* refusals before any output is touched (a missing or empty calls file, bad agents.csv, an
  unsupported ``--partition-by``, a file with no calls or no JSON object in it);
* the up-to-date shortcut against the manifest;
* the output lock and the recovery of a run killed while it published;
* the row accounting and the output contract, checked on the staged files **before**
  anything is published;
* the manifest payload and the commit record (local outputs), or the upload followed by the
  manifest (s3:// outputs, where S3 has no locks: one writer per output prefix).

The steps themselves (up-to-date, agents, staging, the checks, the payload) are in
``run_steps.py``, which the daily-drops runs share; this module is their order, the lock
and the publish.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from support_analytics import config
from support_analytics.etl.commit import (
    commit,
    discard_work_dir,
    new_work_dir,
    output_lock,
    recover_interrupted_run,
)
from support_analytics.etl.engine import Engine
from support_analytics.etl.incremental import run_incremental
from support_analytics.etl.incremental_files import is_drop_input
from support_analytics.etl.lines import check_calls_path
from support_analytics.etl.run_steps import (
    REMOTE_STAGING_SUFFIX,
    EtlResult,
    check_partition_by,
    etl_result,
    is_up_to_date,
    lap_timer,
    manifest_payload,
    read_agents,
    recorded_partition_by,
    result_from_manifest,
    stage_checked,
    staging_for,
)
from support_analytics.io import storage
from support_analytics.io.files import fsync_file
from support_analytics.io.manifest import read_manifest, write_manifest


def run(
    engine: Engine,
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    manifest: Path | str,
    rejects: Path | str,
    *,
    force: bool = False,
    progress: bool = True,
    lock_wait: float | None = None,
    chunk_bytes: int = config.READ_CHUNK_BYTES,
    partition_by: str | None = None,
    source: dict[str, Any] | None = None,
) -> EtlResult:
    """Clean ``calls`` with ``engine`` into Parquet + rejects + manifest, or do nothing.

    Does nothing (``up_to_date``) when the manifest shows the same inputs and intact outputs,
    unless ``force``. Raises InputError for unusable inputs before any output is touched.
    Local outputs are published under the output lock through a commit record; s3:// outputs
    are uploaded, then the manifest is written. ``source`` is a mapped source's manifest
    entry (its engine checks its own files, which may be a folder).
    """
    check_partition_by(partition_by)
    calls, agents, output, manifest, rejects = (
        storage.as_path(p) for p in (calls, agents, output, manifest, rejects)
    )
    if source is None:
        check_calls_path(calls)
    engine.check_calls(calls)
    agents_data = read_agents(agents)
    args = (engine, calls, agents, agents_data, output, manifest, rejects)
    options = {
        "progress": progress, "chunk_bytes": chunk_bytes, "partition_by": partition_by,
        "source": source,
    }  # fmt: skip
    if any(storage.is_remote(p) for p in (output, manifest, rejects)):
        previous = read_manifest(manifest)
        if not force and is_up_to_date(
            previous, calls, agents, output, rejects, partition_by=partition_by, source=source
        ):
            return result_from_manifest(previous)
        return _run_remote(*args, **options)
    with output_lock(Path(output), lock_wait, quiet=not progress):
        note = recover_interrupted_run(output)
        if note and progress:
            print(note, file=sys.stderr)
        previous = read_manifest(manifest)
        if not force and is_up_to_date(
            previous, calls, agents, output, rejects, partition_by=partition_by, source=source
        ):
            return result_from_manifest(previous)
        return _run_local(*args, **options)


def run_calls(
    engine: Engine,
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    manifest: Path | str,
    rejects: Path | str,
    *,
    force: bool = False,
    rebuild: bool = False,
    progress: bool = True,
    lock_wait: float | None = None,
    chunk_bytes: int = config.READ_CHUNK_BYTES,
    partition_by: str | None = None,
    source: dict[str, Any] | None = None,
) -> EtlResult:
    """The one entry both engines (and the Glue script through them) call: one calls file
    goes to :func:`run`, a folder or glob of daily files to the incremental run.

    ``force`` reruns a single file even when up to date; on a folder it reprocesses a
    changed or vanished file and the files after it. ``rebuild`` reprocesses every file of
    a folder from scratch. A mapped ``source`` reads a folder whole, in one run.
    """
    if source is None and is_drop_input(calls):
        if partition_by is None:  # an update keeps the layout its output was written in
            partition_by = recorded_partition_by(manifest, output)
        return run_incremental(
            engine,
            calls,
            agents,
            output,
            manifest,
            rejects,
            rebuild=rebuild,
            force=force,
            progress=progress,
            lock_wait=lock_wait,
            chunk_bytes=chunk_bytes,
            partition_by=partition_by,
        )
    return run(
        engine,
        calls,
        agents,
        output,
        manifest,
        rejects,
        force=force,
        progress=progress,
        lock_wait=lock_wait,
        chunk_bytes=chunk_bytes,
        partition_by=partition_by,
        source=source,
    )


def _run_local(
    engine: Engine,
    calls: Path | str,
    agents: Path | str,
    agents_data: pa.Table,
    output: Path,
    manifest: Path,
    rejects: Path,
    *,
    progress: bool,
    chunk_bytes: int,
    partition_by: str | None,
    source: dict[str, Any] | None,
) -> EtlResult:
    """Stage into a work dir beside the output, check, then commit (lock held by the caller)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    for target in (output, rejects, manifest):
        target.parent.mkdir(parents=True, exist_ok=True)
    workdir = new_work_dir(output)
    try:
        job = staging_for(
            engine,
            calls,
            agents_data,
            workdir,
            workdir,
            partition_by,
            progress,
            chunk_bytes,
            lap_timer(timings),
        )
        staged = stage_checked(engine, job, calls, output)
        staged_files = (
            sorted(Path(staged.output).rglob("*.parquet"))
            if partition_by
            else [Path(staged.output)]
        )
        for staged_file in staged_files:
            fsync_file(staged_file)
        fsync_file(job.rejects)
        job.lap("check_and_fsync")
        seconds = time.perf_counter() - started
        payload = manifest_payload(
            engine,
            staged,
            calls,
            agents,
            output,
            rejects,
            partition_by,
            seconds,
            timings,
            staged_rejects=job.rejects,
            source=source,
        )
        commit(workdir, [(Path(staged.output), output), (job.rejects, rejects)], manifest, payload)
        return etl_result(staged, seconds, payload)
    finally:
        discard_work_dir(workdir)


def _run_remote(
    engine: Engine,
    calls: Path | str,
    agents: Path | str,
    agents_data: pa.Table,
    output: Path | str,
    manifest: Path | str,
    rejects: Path | str,
    *,
    progress: bool,
    chunk_bytes: int,
    partition_by: str | None,
    source: dict[str, Any] | None,
) -> EtlResult:
    """The run with s3:// outputs: stage (locally, or on S3 for an engine that writes it),
    check, upload or move into place, then write the manifest with the objects' ETags.

    There is no lock across machines on S3: one writer per output prefix is the caller's job.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="support-analytics-s3.") as tmp:
        work = Path(tmp)
        staging_root: Path | str = work
        if engine.reads_remote and storage.is_remote(output):
            staging_root = str(output).rstrip("/") + REMOTE_STAGING_SUFFIX
            storage.remove(staging_root)  # a previous run's leftovers
        job = staging_for(
            engine,
            calls,
            agents_data,
            work,
            staging_root,
            partition_by,
            progress,
            chunk_bytes,
            lap_timer(timings),
        )
        try:
            staged = stage_checked(engine, job, calls, output)
            storage.publish(staged.output, output)
            storage.upload(job.rejects, rejects)
        finally:
            if storage.is_remote(staging_root):
                storage.remove(staging_root)
        job.lap("check_and_publish")
        seconds = time.perf_counter() - started
        payload = manifest_payload(
            engine, staged, calls, agents, output, rejects, partition_by, seconds, timings,
            source=source,
        )  # fmt: skip
        write_manifest(manifest, payload)
        return etl_result(staged, seconds, payload)
