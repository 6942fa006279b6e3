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
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from support_analytics import config, storage
from support_analytics import schema as s
from support_analytics.errors import ContractError, InputError
from support_analytics.etl.commit import (
    commit,
    discard_work_dir,
    new_work_dir,
    output_lock,
    recover_interrupted_run,
)
from support_analytics.etl.engine import Engine, Staged, Staging
from support_analytics.etl.lines import check_calls_path
from support_analytics.etl.rules import agents_table, load_agents
from support_analytics.files import fsync_file
from support_analytics.fingerprint import fingerprint, matches
from support_analytics.manifest import cleaned_calls_manifest, read_manifest, write_manifest

PARTITION_COLUMNS: tuple[str, ...] = (s.CALL_DATE,)
# Beside an s3:// output, where an engine that writes S3 itself stages before the move.
REMOTE_STAGING_SUFFIX = ".staging"


@dataclass
class EtlResult:
    """What a run did; ``up_to_date`` means it found nothing to do."""

    rows_in: int
    rows_out: int
    rejected: dict[str, int]
    warnings: dict[str, int]
    blank_lines: int
    seconds: float
    up_to_date: bool
    manifest: dict[str, Any] = field(default_factory=dict)
    #: What an incremental run adds to its summary (files read, skipped, refused copies).
    detail: str = ""

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        tail = f"; {self.detail}" if self.detail else ""
        if self.up_to_date:
            return f"up to date: {self.rows_out:,} rows (nothing changed since the last run){tail}"
        warn = ", ".join(f"{k} {v:,}" for k, v in self.warnings.items() if v) or "none"
        return (
            f"{self.rows_in:,} rows in, {self.rows_out:,} kept, {self.rows_rejected:,} rejected, "
            f"warnings: {warn} ({self.seconds:.1f}s){tail}"
        )


def run_options(partition_by: str | None = None) -> dict[str, Any]:
    """The options a manifest records; a run with other options is not up to date."""
    return {"schema_version": s.SCHEMA_VERSION, "partition_by": partition_by}


def is_up_to_date(
    manifest: dict[str, Any],
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    rejects: Path | str,
    *,
    partition_by: str | None = None,
) -> bool:
    """True when inputs, outputs and options all match what the manifest recorded.

    Paths may be local or s3://, files or (partitioned output) folders.
    """
    inputs = manifest.get("inputs") or {}
    return (
        manifest.get("options") == run_options(partition_by)
        and (inputs.get("calls") or {}).get("path") == str(calls)
        and (inputs.get("agents") or {}).get("path") == str(agents)
        and matches(inputs.get("calls"), calls)
        and matches(inputs.get("agents"), agents)
        and matches(manifest.get("output"), output)
        and matches(manifest.get("rejects"), rejects)
    )


def check_partition_by(partition_by: str | None) -> None:
    """Only call_date is a supported partition column (the layout Glue/Athena expect)."""
    if partition_by is not None and partition_by not in PARTITION_COLUMNS:
        raise InputError(
            f"--partition-by {partition_by}: not supported; use --partition-by {s.CALL_DATE}"
        )


def result_from_manifest(manifest: dict[str, Any]) -> EtlResult:
    """The result of the run a manifest records (an up-to-date run did nothing new)."""
    rows = manifest.get("rows") or {}
    return EtlResult(
        rows_in=int(rows.get("input", 0)),
        rows_out=int(rows.get("output", 0)),
        rejected=dict(rows.get("rejected") or {}),
        warnings=dict(manifest.get("warnings") or {}),
        blank_lines=int(rows.get("blank_lines", 0)),
        seconds=0.0,
        up_to_date=True,
        manifest=manifest,
    )


def read_agents(agents: Path | str) -> pa.Table:
    """agents.csv, local or s3:// (small: read on this machine), validated."""
    if not storage.is_remote(agents):
        return agents_table(load_agents(agents))
    with tempfile.TemporaryDirectory(prefix="support-analytics-agents.") as tmp:
        return agents_table(load_agents(storage.download(agents, Path(tmp) / "agents.csv")))


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
) -> EtlResult:
    """Clean ``calls`` with ``engine`` into Parquet + rejects + manifest, or do nothing.

    Does nothing (``up_to_date``) when the manifest shows the same inputs and intact outputs,
    unless ``force``. Raises InputError for unusable inputs before any output is touched.
    Local outputs are published under the output lock through a commit record; s3:// outputs
    are uploaded, then the manifest is written.
    """
    check_partition_by(partition_by)
    calls, agents, output, manifest, rejects = (
        storage.as_path(p) for p in (calls, agents, output, manifest, rejects)
    )
    check_calls_path(calls)
    engine.check_calls(calls)
    agents_data = read_agents(agents)
    args = (engine, calls, agents, agents_data, output, manifest, rejects)
    options = {"progress": progress, "chunk_bytes": chunk_bytes, "partition_by": partition_by}
    if any(storage.is_remote(p) for p in (output, manifest, rejects)):
        previous = read_manifest(manifest)
        if not force and is_up_to_date(
            previous, calls, agents, output, rejects, partition_by=partition_by
        ):
            return result_from_manifest(previous)
        return _run_remote(*args, **options)
    with output_lock(Path(output), lock_wait, quiet=not progress):
        note = recover_interrupted_run(output)
        if note and progress:
            print(note, file=sys.stderr)
        previous = read_manifest(manifest)
        if not force and is_up_to_date(
            previous, calls, agents, output, rejects, partition_by=partition_by
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
) -> EtlResult:
    """The one entry both engines (and the Glue script through them) call: one calls file
    goes to :func:`run`, a folder or glob of daily files to the incremental run.

    ``force`` reruns a single file even when up to date; on a folder it reprocesses a
    changed or vanished file and the files after it. ``rebuild`` reprocesses every file of
    a folder from scratch.
    """
    # the incremental modules build on this one, so they are imported here, not at the top
    from support_analytics.etl.incremental import run_incremental
    from support_analytics.etl.incremental_files import is_drop_input

    if is_drop_input(calls):
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
    )


def lap_timer(timings: dict[str, float]) -> Callable[[str], None]:
    """Record seconds per phase into ``timings`` (kept in the manifest to show where time went)."""
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - last[0], 3)
        last[0] = now

    return lap


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
        payload = _payload(
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
        )
        commit(workdir, [(Path(staged.output), output), (job.rejects, rejects)], manifest, payload)
        return _result(staged, seconds, payload)
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
        payload = _payload(
            engine, staged, calls, agents, output, rejects, partition_by, seconds, timings
        )
        write_manifest(manifest, payload)
        return _result(staged, seconds, payload)


def staging_for(
    engine: Engine,
    calls: Path | str,
    agents_data: pa.Table,
    workdir: Path,
    staging_root: Path | str,
    partition_by: str | None,
    progress: bool,
    chunk_bytes: int,
    lap: Callable[[str], None],
) -> Staging:
    """Where this run stages; remote calls are downloaded unless the engine reads S3 itself."""
    source = calls
    if storage.is_remote(calls) and not engine.reads_remote:
        name = str(calls).rstrip("/").rsplit("/", 1)[-1]
        source = storage.download(calls, workdir / "in" / name)
    name = "cleaned" if partition_by else "cleaned.parquet"
    if isinstance(staging_root, Path):
        output: Path | str = staging_root / name
    else:
        output = f"{staging_root}/{name}"
    return Staging(
        source,
        agents_data,
        output,
        workdir / "rejects.jsonl",
        workdir,
        partition_by,
        progress,
        chunk_bytes,
        lap,
    )


def stage_checked(engine: Engine, job: Staging, calls: Path | str, output: Path | str) -> Staged:
    """Let the engine stage, then refuse unusable input and check counts and the contract."""
    staged = engine.stage(job)
    if staged.rows_in == 0:
        raise InputError(f"{calls}: holds no calls (only blank lines)")
    if staged.objects == 0:
        raise InputError(
            f"{calls}: is not NDJSON: none of its {staged.rows_in:,} lines is a JSON object"
        )
    rejected = sum(staged.rejected.values())
    if staged.rows_out + rejected != staged.rows_in:  # pragma: no cover - invariant
        raise ContractError(
            f"row counts do not reconcile: {staged.rows_in} in != {staged.rows_out} kept + "
            f"{rejected} rejected"
        )
    problems = s.contract_mismatches(storage.read_cleaned_schema(staged.output))
    if problems:
        raise ContractError(f"{output}: output breaks the contract: {'; '.join(problems)}")
    return staged


def _payload(
    engine: Engine,
    staged: Staged,
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    rejects: Path | str,
    partition_by: str | None,
    seconds: float,
    timings: dict[str, float],
    *,
    staged_rejects: Path | None = None,
) -> dict[str, Any]:
    """The manifest: fingerprints of the staged files under their final names (local runs),
    or of the published objects (s3://)."""
    return cleaned_calls_manifest(
        output,
        staged_output=staged.output if staged_rejects is not None else None,
        engine=engine.name,
        seconds=round(seconds, 3),
        timings=timings,
        options=run_options(partition_by),
        inputs={
            "calls": fingerprint(calls, sha256=staged.calls_sha256),
            "agents": fingerprint(agents),
        },
        rejects=fingerprint(
            staged_rejects if staged_rejects is not None else rejects, recorded_as=rejects
        ),
        rows={
            "input": staged.rows_in,
            "output": staged.rows_out,
            "rejected": {r: int(staged.rejected.get(r, 0)) for r in s.REJECT_REASONS},
            "blank_lines": staged.lines - staged.rows_in,
        },
        warnings=staged.warnings,
    )


def _result(staged: Staged, seconds: float, payload: dict[str, Any]) -> EtlResult:
    rejected = {r: int(staged.rejected.get(r, 0)) for r in s.REJECT_REASONS}
    return EtlResult(
        staged.rows_in,
        staged.rows_out,
        rejected,
        staged.warnings,
        staged.lines - staged.rows_in,
        seconds,
        False,
        payload,
    )
