"""Daily drops: a folder (or glob) of call files ingested incrementally into a partitioned output.

A telephony export lands one file a day; rebuilding a year to add a day makes an update cost
the history. Here the manifest records every input file, a rerun stages **only new files**
(each with the engine, one at a time, in name order), and only the ``call_date`` partitions
that receive rows are rewritten. ``call_id`` stays unique across files through an id index
beside the output (one small Parquet of kept ids per file), so an update never rescans the
history's rows. Everything is published under the output lock through the same commit record
as a single-file run: a kill leaves the previous complete set or the new one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from support_analytics import config, storage
from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl.commit import (
    commit,
    discard_work_dir,
    new_work_dir,
    output_lock,
    recover_interrupted_run,
)
from support_analytics.etl.engine import Engine, Staged
from support_analytics.etl.rules import connect, sql_str
from support_analytics.etl.run import (
    EtlResult,
    lap_timer,
    read_agents,
    result_from_manifest,
    run_options,
    stage_checked,
    staging_for,
)
from support_analytics.files import fsync_file, stream_sha256
from support_analytics.fingerprint import combined_sha256, fingerprint, matches
from support_analytics.manifest import INCREMENTAL_MODE, cleaned_calls_manifest, read_manifest

#: Names of files still being written (or hidden): never read, counted as skipped.
SKIP_PREFIXES = (".", "_")
SKIP_SUFFIXES = (".tmp", ".part")
#: What a folder's call files are named; other files there (agents.csv, a README) are not
#: read, and counted apart. A glob takes what it names.
CALL_SUFFIXES = tuple(e + z for e in (".json", ".jsonl", ".ndjson") for z in ("", ".gz"))
#: The id index lives beside the output: ``<output>.ids/ids-<seq>.parquet``.
ID_INDEX_SUFFIX = ".ids"
MODE = INCREMENTAL_MODE
_GLOB_CHARS = set("*?[")
#: How a folder run names its part files: ``part-<seq of the input file>-<i>.parquet``.
_PART_NAME = re.compile(r"part-(\d+)-\d+\.parquet")


@dataclass
class CallFiles:
    """The files a folder or glob names, in name order; those skipped as hidden or still
    being written; and (a folder) the other files beside them, which are not call files.
    Local files are Paths, objects on S3 ``s3://`` URLs."""

    files: list[Path | str]
    skipped: list[Path | str]
    others: list[Path | str]


@dataclass
class Plan:
    """What an update does: the ingested files it keeps (manifest entries), the files it
    stages (new ones; with ``--force`` also a changed file and every file after it, since
    their duplicate decisions depend on it), the ingested entries it drops, and the
    summary's detail."""

    kept: list[dict[str, Any]]
    new: list[tuple[Path | str, str]]
    dropped: list[dict[str, Any]]
    detail: str


def is_drop_input(calls: Path | str) -> bool:
    """True when ``--calls`` names a folder or a glob rather than one file."""
    text = str(calls)
    if storage.is_remote(text):
        return text.endswith("/") or bool(_GLOB_CHARS & set(text)) or storage.is_dir(text)
    path = Path(text)
    return path.is_dir() or (not path.exists() and bool(_GLOB_CHARS & set(text)))


def list_call_files(calls: Path | str) -> CallFiles:
    """The call files of a folder (not recursive) or glob, local or s3://, in name order."""
    fs, p = storage.filesystem(calls)
    folder = fs.isdir(p)
    if folder:
        found = {info["name"]: info for info in fs.ls(p, detail=True)}
    else:
        found = fs.glob(p, detail=True)
    remote = storage.is_remote(calls)
    files, skipped, others = [], [], []
    for key in sorted(found, key=lambda k: (k.rsplit("/", 1)[-1], k)):
        if found[key].get("type") != "file":
            continue
        name = key.rsplit("/", 1)[-1]
        path: Path | str = f"s3://{key}" if remote else Path(key)
        if name.startswith(SKIP_PREFIXES) or name.endswith(SKIP_SUFFIXES):
            skipped.append(path)
        elif folder and not name.lower().endswith(CALL_SUFFIXES):
            others.append(path)
        else:
            files.append(path)
    if not files:
        what = "folder" if folder else "glob"
        raise InputError(
            f"{calls}: the {what} holds no call files"
            + (f" ({len(skipped)} skipped as hidden or still being written)" if skipped else "")
            + f"; call files are named *{', *'.join(CALL_SUFFIXES)}; run "
            "`support-analytics simulate --split daily` for an example"
        )
    return CallFiles(files, skipped, others)


def _name(path: str) -> str:
    """A file's name, what name order sorts by (local path or s3:// URL alike)."""
    return path.rsplit("/", 1)[-1]


def _key(path: Path | str) -> str:
    """How the manifest names an input file: an absolute path, or the s3:// URL."""
    return str(path) if storage.is_remote(path) else str(Path(path).resolve())


def id_index_path(output: Path) -> Path:
    """The folder of kept call_ids beside ``output``."""
    return output.with_name(output.name + ID_INDEX_SUFFIX)


def id_file_name(seq: int) -> str:
    """The id file of the input file with sequence number ``seq`` in the id index."""
    return f"ids-{int(seq):06d}.parquet"


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
        if engine.reads_remote:
            raise InputError(
                f"--calls {calls}: a folder run with s3:// outputs stages each file on this "
                "machine; Spark writing s3:// itself (direct_io, Glue) is not supported for "
                "folders yet: run it without direct_io, or with --engine duckdb"
            )
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


def plan_files(
    listing: CallFiles, previous: dict[str, Any], *, force: bool = False, can_force: bool = True
) -> Plan:
    """Which files an update keeps, stages and drops; warns about copies and late files.

    Without ``force``, a changed or vanished ingested file raises InputError naming it and
    the fixes (``can_force``: whether ``--force`` is one, as it is for local outputs).
    """
    recorded = list((previous.get("inputs") or {}).get("files") or [])
    cut = _first_changed(recorded, force, can_force)
    kept, dropped = recorded[:cut], recorded[cut:]
    new, copies = _new_files(listing.files, kept)
    detail = _detail(listing, new, copies, dropped)
    for path, original in copies:
        print(
            f"warning: {path} has the same content (sha256) as {original}, already "
            "ingested; skipped",
            file=sys.stderr,
        )
    last = max((_name(e["path"]) for e in kept), default="")
    for path, _ in new:
        if _name(str(path)) < last:
            print(
                f"warning: {path} sorts before files already ingested; it is ingested "
                "after them (its repeats of their call_ids are the rejects); --rebuild "
                "takes every file in name order",
                file=sys.stderr,
            )
    return Plan(kept, new, dropped, detail)


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
    if described is not None and not _same_path(Path(str(described)), output):
        # a manifest describes one output: a second output must not take it over (the
        # quickstart's data/manifest.json describes data/cleaned_calls.parquet)
        raise InputError(
            f"{manifest}: describes the output {described}, not {output}; give this output "
            "its own --manifest and --rejects, or rerun with --rebuild to replace that output's "
            "record"
        )
    if previous.get("mode") != MODE:
        raise InputError(
            f"{output}: was written from a single calls file, not a folder of files; {fix}"
        )
    if previous.get("options") != run_options(partition_by):
        raise InputError(f"{output}: was written with other options or schema version; {fix}")
    if not matches((previous.get("inputs") or {}).get("agents"), agents):
        raise InputError(f"{agents}: changed since the last run (agent names are baked in); {fix}")
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


def _same_path(recorded: Path, output: Path) -> bool:
    """Whether a path the manifest recorded names ``output``. A relative recorded path was
    relative to the folder of that run (the CLI's, not a notebook's), so it names ``output``
    when it is the end of ``output``'s absolute path."""
    here = output.absolute().parts
    if recorded.is_absolute():
        return recorded.parts == here
    return len(recorded.parts) <= len(here) and here[-len(recorded.parts) :] == recorded.parts


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
        _append_rejects(job.rejects, staged_rejects, str(path))
        entries.append(_file_entry(path, sha, seq, staged, partitions))
        seq += 1
    return entries, touched, seq


def _first_changed(recorded: list[dict[str, Any]], force: bool, can_force: bool) -> int:
    """The index of the first ingested file that changed or vanished (size/mtime, else
    sha256), or len(recorded). Without ``force`` such a file stops the run."""
    for i, entry in enumerate(recorded):
        path = entry["path"]
        if not storage.exists(path) or storage.is_dir(path):
            problem = "was ingested on an earlier run and has disappeared"
            fixes = "restore it, or rerun with --rebuild to reprocess the files that are there"
            forced = "--force to drop its rows and reprocess the files after it"
        elif not matches(entry, path):
            problem = "changed since it was ingested"
            fixes = "rerun with --rebuild to reprocess every file"
            forced = "--force to reprocess it and the files after it"
        else:
            continue
        if force:
            return i
        tail = f", or {forced}" if can_force else ""
        raise InputError(f"{path}: {problem}; {fixes}{tail}")
    return len(recorded)


def _new_files(
    files: list[Path | str], recorded: list[dict[str, Any]]
) -> tuple[list[tuple[Path | str, str]], list[tuple[Path | str, str]]]:
    """(new files with their sha256, copies of content already taken with the original)."""
    known_paths = {e["path"] for e in recorded}
    by_sha = {e["sha256"]: e["path"] for e in recorded}
    new, copies = [], []
    for path in files:
        key = _key(path)
        if key in known_paths:
            continue
        fs, p = storage.filesystem(path)
        if fs.size(p) == 0:
            raise InputError(f"{path}: calls file is empty (0 bytes); delete it or fill it")
        with fs.open(p, "rb") as fh:
            sha = stream_sha256(fh)
        if sha in by_sha:
            copies.append((path, by_sha[sha]))
            continue
        by_sha[sha] = key
        new.append((path, sha))
    return new, copies


def _detail(
    listing: CallFiles,
    new: list[tuple[Path | str, str]],
    copies: list[tuple[Path | str, str]],
    dropped: list[dict[str, Any]],
) -> str:
    parts = [f"{len(new)} new file(s) read"]
    if dropped:
        again = {e["path"] for e in dropped} & {_key(p) for p, _ in new}
        parts = [
            f"{len(new)} file(s) read ({len(again)} again: --force from "
            f"{_name(dropped[0]['path'])} on; {len(dropped) - len(again)} gone)"
        ]
    parts.append(f"{len(listing.skipped)} skipped as hidden or still being written")
    if listing.others:
        parts.append(f"{len(listing.others)} not call files (by name)")
    if copies:
        parts.append(f"{len(copies)} skipped as copies of ingested files")
    return ", ".join(parts)


def up_to_date_result(previous: dict[str, Any], detail: str) -> EtlResult:
    """The result of a run with no new file: the manifest's totals, and what was skipped."""
    return dataclasses.replace(result_from_manifest(previous), detail=detail)


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
        base = 0 if fresh else _kept_rejects_size(previous, rejects, kept, whole=not dropped)
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
            if _link_kept(output / name, out_dir / name, dropped):
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


def ensure_dir(path: Path) -> Path:
    """``path``, created if missing (the work dirs a folder run stages into)."""
    path.mkdir(exist_ok=True)
    return path


def _kept_rejects_size(
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
                _link_kept(output / name, target, dropped)
        for i, part in enumerate(sorted((staged / name).glob("*.parquet"))):
            os.replace(part, target / f"part-{seq:06d}-{i}.parquet")
    return partitions


def _link_kept(current: Path, target: Path, dropped: frozenset[int]) -> int:
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


def _append_rejects(source: Path, target: Path, name: str) -> None:
    """Add a file's rejects to the run's, each line naming its file first."""
    prefix = b'{"' + s.REJECT_FILE.encode() + b'":' + json.dumps(name).encode("utf-8") + b","
    with open(source, "rb") as src, open(target, "ab") as dst:
        for line in src:
            if line.startswith(b"{"):
                dst.write(prefix + line[1:])


def _file_entry(
    path: Path | str, sha: str, seq: int, staged: Staged, partitions: list[str]
) -> dict[str, Any]:
    """What the manifest keeps about one input file (enough to spot a later change): size
    and mtime, or the ETag of an object on S3, and the sha256."""
    entry = fingerprint(path, sha256=sha, recorded_as=_key(path))
    entry.update(
        seq=seq,
        rows={
            "input": staged.rows_in,
            "output": staged.rows_out,
            "rejected": {r: int(staged.rejected.get(r, 0)) for r in s.REJECT_REASONS},
            "blank_lines": staged.lines - staged.rows_in,
        },
        warnings={k: int(staged.warnings.get(k, 0)) for k in s.WARNING_KINDS},
        partitions=partitions,
    )
    return entry


def folder_manifest(
    engine: str,
    previous: dict[str, Any],
    files: list[dict[str, Any]],
    next_seq: int,
    agents: Path | str,
    output: Path,
    out_dir: Path,
    rejects: Path,
    staged_rejects: Path,
    partition_by: str | None,
    seconds: float,
    timings: dict[str, float],
    fresh: bool,
    *,
    gone: set[str] | None = None,
    rejects_base: tuple[Path, int] | None = None,
) -> dict[str, Any]:
    """The manifest: totals over every file, and the output's fingerprint updated for the
    touched partitions only (the untouched ones are not re-read); ``gone`` partitions
    (emptied by ``--force``) leave it. ``rejects_base`` (the live rejects file, bytes kept):
    ``staged_rejects`` is only the tail appended to those bytes at publish."""
    totals: dict[str, Any] = {
        "input": sum(f["rows"]["input"] for f in files),
        "output": sum(f["rows"]["output"] for f in files),
        "rejected": {r: sum(f["rows"]["rejected"][r] for f in files) for r in s.REJECT_REASONS},
        "blank_lines": sum(f["rows"]["blank_lines"] for f in files),
    }
    payload = cleaned_calls_manifest(
        output,
        staged_output=out_dir,
        engine=engine,
        mode=MODE,
        seconds=round(seconds, 3),
        timings=timings,
        options=run_options(partition_by),
        inputs={"agents": fingerprint(agents), "files": files},
        next_file_seq=next_seq,
        rejects=(
            fingerprint(staged_rejects, recorded_as=rejects)
            if rejects_base is None
            else _appended_fingerprint(*rejects_base, staged_rejects)
        ),
        rows=totals,
        warnings={k: sum(f["warnings"][k] for f in files) for k in s.WARNING_KINDS},
    )
    if not fresh:
        staged = payload["output"]["files"]
        touched = {f["name"].split("/", 1)[0] for f in staged} | (gone or set())
        kept = [
            f
            for f in (previous.get("output") or {}).get("files") or []
            if f["name"].split("/", 1)[0] not in touched
        ]
        merged = sorted(kept + staged, key=lambda f: f["name"])
        payload["output"].update(
            files=merged,
            file_size=sum(f["size"] for f in merged),
            sha256=combined_sha256(merged),
        )
    return payload


def _appended_fingerprint(rejects: Path, base: int, tail: Path) -> dict[str, Any]:
    """The fingerprint the rejects file will have once ``tail`` is appended after its first
    ``base`` bytes (the publish sets this mtime)."""
    digest = hashlib.sha256()
    with open(rejects, "rb") as fh:
        left = base
        while left:
            block = fh.read(min(left, 1 << 20))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    with open(tail, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    mtime_ns = time.time_ns()
    return {
        "path": str(rejects),
        "file_size": base + tail.stat().st_size,
        "mtime_ns": mtime_ns,
        "file_mtime": datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(),
        "sha256": digest.hexdigest(),
    }


def update_result(
    entries: list[dict[str, Any]], seconds: float, payload: dict[str, Any], detail: str
) -> EtlResult:
    """This run's counts (the new files only); the manifest holds the totals."""
    rejected = {r: sum(e["rows"]["rejected"][r] for e in entries) for r in s.REJECT_REASONS}
    return EtlResult(
        rows_in=sum(e["rows"]["input"] for e in entries),
        rows_out=sum(e["rows"]["output"] for e in entries),
        rejected=rejected,
        warnings={k: sum(e["warnings"][k] for e in entries) for k in s.WARNING_KINDS},
        blank_lines=sum(e["rows"]["blank_lines"] for e in entries),
        seconds=seconds,
        up_to_date=False,
        manifest=payload,
        detail=detail,
    )
