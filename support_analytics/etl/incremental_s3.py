"""Daily drops into an s3:// output: the incremental run of ``incremental.py`` without a
commit record.

S3 has no atomic multi-object commit and no lock, so an update only ever *adds* objects and
publishes in an order where the manifest, written last with one PUT, decides what the output
is: first the new ``part-<seq>-<i>.parquet`` objects of the touched partitions (names no
earlier run used), then the new id files, then the rejects object (append-only: it starts
with the bytes the previous manifest fingerprinted), then the manifest. A run that dies
before the manifest leaves the previous manifest describing a consistent set: objects it does
not list are deleted by the next run, and the rejects object is cut back to the recorded
length. One writer per output prefix is the caller's job, as for a single-file s3:// run.

An engine that writes S3 itself (Spark on Glue) stages on S3 instead of this machine
(``incremental_s3_staging``); its staged objects are copied into place in the same order.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from support_analytics import config
from support_analytics.errors import InputError
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
    ID_INDEX_SUFFIX,
    ensure_dir,
    id_file_name,
    stage_new_files,
)
from support_analytics.etl.incremental_s3_staging import stage_new_files_on_s3, staging_url
from support_analytics.etl.run_steps import (
    EtlResult,
    lap_timer,
    read_agents,
)
from support_analytics.io import storage
from support_analytics.io.files import replace_local
from support_analytics.io.fingerprint import combined_sha256
from support_analytics.io.manifest import read_manifest, write_manifest


def id_index_url(output: str) -> str:
    """The prefix of kept call_ids beside an s3:// output."""
    return output + ID_INDEX_SUFFIX


def run_remote(
    engine: Engine,
    calls: Path | str,
    agents: Path | str,
    output: str,
    manifest: Path | str,
    rejects: Path | str,
    *,
    rebuild: bool = False,
    force: bool = False,
    progress: bool = True,
    chunk_bytes: int = config.READ_CHUNK_BYTES,
    partition_by: str | None = None,
) -> EtlResult:
    """Ingest the new files of a folder or glob into an s3:// output (see the module doc).

    Raises InputError, before anything is published, for the same refusals as a local
    folder run (changed or vanished ingested files, changed agents.csv or options, partition
    objects changed behind the manifest's back). ``force`` cannot take a changed file here:
    replacing rows is not an add-only update, so it is refused with the fix (``--rebuild``).
    """
    listing = list_call_files(calls)
    agents_data = read_agents(agents)
    previous = {} if rebuild else read_manifest(manifest)
    rejects_head = b""
    if previous:
        _check_previous(previous, agents, output, partition_by, manifest)
        rejects_head = _recorded_rejects(previous, rejects)
    plan = plan_files(listing, previous, force=force, can_force=False)
    if plan.dropped:
        raise InputError(
            f"{plan.dropped[0]['path']}: changed or disappeared since it was ingested; "
            f"--force cannot replace its rows in the s3:// output {output} (updates there only "
            "add objects): rerun with --rebuild to reprocess every file"
        )
    storage.remove(staging_url(output))  # an interrupted run's staging on S3, if any
    if previous:
        removed = _remove_unlisted(previous, output)
        if removed and progress:
            print(
                f"note: removed {removed} object(s) an interrupted run left under {output} "
                "that the manifest does not list",
                file=sys.stderr,
            )
    if not plan.new and previous:
        if not storage.exists(rejects) or storage.read_bytes(rejects) != rejects_head:
            _put_bytes(rejects, rejects_head)  # an interrupted run's tail
        return up_to_date_result(previous, plan.detail)
    if not previous:  # a first run or --rebuild: nothing of an older output survives
        storage.remove(output)
        storage.remove(id_index_url(output))
    return _ingest(
        engine,
        plan,
        previous,
        rejects_head,
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
    output: str,
    partition_by: str | None,
    manifest: Path | str,
) -> None:
    """Refuse to add to an output made another way, with other agents, or whose listed
    objects changed (objects the manifest does not list are an interrupted run's: removed)."""
    fix = "rerun with --rebuild to reprocess every file"
    described = str((previous.get("output") or {}).get("path") or "").rstrip("/")
    same = not described or described == output
    refuse_another_run(previous, agents, output, partition_by, manifest, same_output=same)
    fs, p = storage.filesystem(output)
    found = (
        dict((rel, int(info["size"])) for rel, info in storage.data_files(fs, p))
        if fs.isdir(p)
        else {}
    )
    for entry in (previous.get("output") or {}).get("files") or []:
        if found.get(entry["name"]) != entry["size"]:
            raise InputError(
                f"{output}/{entry['name']}: differs from the manifest (changed or deleted "
                f"behind its back); {fix}"
            )


def _recorded_rejects(previous: dict[str, Any], rejects: Path | str) -> bytes:
    """The rejects the manifest describes: the object, cut to the recorded length when an
    interrupted run already appended to it. Refuses a rejects object that does not start
    with the recorded bytes."""
    recorded = previous.get("rejects") or {}
    size = int(recorded.get("file_size", -1))
    data = storage.read_bytes(rejects) if storage.exists(rejects) else b""
    head = data[:size] if size >= 0 else b""
    if size < 0 or len(head) != size or hashlib.sha256(head).hexdigest() != recorded.get("sha256"):
        raise InputError(
            f"{rejects}: does not hold the rejects the manifest records (changed or deleted "
            "behind its back); rerun with --rebuild to reprocess every file"
        )
    return head


def _remove_unlisted(previous: dict[str, Any], output: str) -> int:
    """Delete partition and id objects the manifest does not list (an interrupted run's)."""
    listed = {f["name"] for f in (previous.get("output") or {}).get("files") or []}
    ids = {id_file_name(e["seq"]) for e in previous["inputs"].get("files") or []}
    doomed = []
    for root, keep in ((output, listed), (id_index_url(output), ids)):
        fs, p = storage.filesystem(root)
        if fs.isdir(p):
            doomed += [info["name"] for rel, info in storage.data_files(fs, p) if rel not in keep]
    if doomed:
        fs, _ = storage.filesystem(output)
        fs.rm(doomed)
        fs.invalidate_cache()
    return len(doomed)


def _ingest(
    engine: Engine,
    plan: Plan,
    previous: dict[str, Any],
    rejects_head: bytes,
    agents: Path | str,
    agents_data: Any,
    output: str,
    manifest: Path | str,
    rejects: Path | str,
    *,
    partition_by: str | None,
    progress: bool,
    chunk_bytes: int,
) -> EtlResult:
    """Stage each new file (only its new part files: on this machine, or on S3 for an engine
    that writes S3 itself), then publish in order."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    lap = lap_timer(timings)
    ids_url = id_index_url(output)
    staging = staging_url(output)
    on_s3 = engine.reads_remote
    with tempfile.TemporaryDirectory(prefix="support-analytics-s3-drops.") as tmp:
        workdir = Path(tmp)
        out_dir, ids_work, seen_dir = (ensure_dir(workdir / n) for n in ("out", "ids", "seen"))
        staged_rejects = workdir / "rejects.jsonl"
        staged_rejects.write_bytes(rejects_head)
        options = {
            "partition_by": partition_by,
            "progress": progress,
            "chunk_bytes": chunk_bytes,
            "lap": lap,
        }
        try:
            if on_s3:  # the engine reads the id index where it is, and stages on S3
                seen_urls = [f"{ids_url}/{id_file_name(e['seq'])}" for e in plan.kept]
                entries, touched, seq = stage_new_files_on_s3(
                    engine,
                    plan.new,
                    agents_data,
                    workdir,
                    staging,
                    seen_urls,
                    int(previous.get("next_file_seq", 0)),
                    output=output,
                    **options,
                )
            else:
                seen = []
                for entry in plan.kept:
                    name = id_file_name(entry["seq"])
                    seen.append(storage.download(f"{ids_url}/{name}", seen_dir / name))
                # fresh=True: only the files' new part files are staged, the old objects stay
                entries, touched, seq = stage_new_files(
                    engine,
                    plan.new,
                    agents_data,
                    workdir,
                    seen,
                    int(previous.get("next_file_seq", 0)),
                    output=output,
                    fresh=True,
                    **options,
                )
            staged_out: Path | str = out_dir
            staged_ids: Path | str = ids_work
            if on_s3:
                staged_ids = f"{staging}/ids"
                if storage.is_dir(f"{staging}/out"):  # else no file kept a row: nothing new
                    staged_out = f"{staging}/out"
            lap("stage_and_check")
            seconds = time.perf_counter() - started
            payload = folder_manifest(
                engine.name,
                previous,
                plan.kept + entries,
                seq,
                agents,
                output,  # type: ignore[arg-type]
                staged_out,  # type: ignore[arg-type]
                rejects,  # type: ignore[arg-type]
                staged_rejects,
                partition_by,
                seconds,
                timings,
                True,
            )
            new_files = payload["output"]["files"]
            if previous:  # the new objects join the listed ones (their names are new)
                merged = sorted(
                    ((previous.get("output") or {}).get("files") or []) + new_files,
                    key=lambda f: f["name"],
                )
                payload["output"].update(
                    files=merged,
                    file_size=sum(f["size"] for f in merged),
                    sha256=combined_sha256(merged),
                )
            payload["output"]["path"] = output
            for source, rel in _staged_files(staged_out):
                _put(source, f"{output}/{rel}")
            for source, rel in _staged_files(staged_ids):
                _put(source, f"{ids_url}/{rel}")
            _put(staged_rejects, rejects)
            if on_s3:  # a copy may carry another ETag than its staged source (multipart)
                _record_etags(new_files, output)
            lap("publish")
            payload["timings"] = timings
            write_manifest(manifest, payload)
        finally:
            if on_s3:
                storage.remove(staging)
        return update_result(entries, seconds, payload, plan.detail)


def _staged_files(root: Path | str) -> list[tuple[Path | str, str]]:
    """(staged file or s3:// object, name relative to ``root``), in name order."""
    if isinstance(root, Path):
        return [(f, f.relative_to(root).as_posix()) for f in sorted(root.rglob("*.parquet"))]
    fs, p = storage.filesystem(root)
    if not fs.isdir(p):
        return []
    return [(f"s3://{info['name']}", rel) for rel, info in storage.data_files(fs, p)]


def _record_etags(files: list[dict[str, Any]], output: str) -> None:
    """Set each published object's entry to the ETag it has in place."""
    fs, root = storage.filesystem(output)
    fs.invalidate_cache()
    for entry in files:
        tag = storage.etag(fs.info(f"{root}/{entry['name']}"))
        if tag:
            entry["etag"] = tag


def _put(source: Path | str, dest: Path | str) -> None:
    """One object (one PUT, or a copy within the store from an s3:// staged object: atomic
    per object), or a local file by os.replace."""
    if storage.is_remote(source):
        fs, src = storage.filesystem(source)
        fs.copy(src, storage.filesystem(dest)[1])
    elif storage.is_remote(dest):
        fs, p = storage.filesystem(dest)
        fs.put_file(str(source), p)
    else:
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        replace_local(Path(source), Path(dest))


def _put_bytes(dest: Path | str, data: bytes) -> None:
    storage.write_bytes(dest, data)
