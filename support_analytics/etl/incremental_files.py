"""Daily drops: which call files a folder run reads, and what its manifest records of them.

An update must read only the files not yet ingested and stop (or, with ``--force``, cut)
at an ingested file that changed, since later files' duplicate decisions depend on it. So
the listing, the plan (kept, new, dropped), the per-file manifest entries and the totals
over them live together, shared by local (``incremental``) and s3:// (``incremental_s3``)
outputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.etl.engine import Staged
from support_analytics.etl.run_steps import EtlResult, result_from_manifest, run_options
from support_analytics.io import storage
from support_analytics.io.files import stream_sha256
from support_analytics.io.fingerprint import combined_sha256, fingerprint, matches
from support_analytics.io.manifest import INCREMENTAL_MODE, cleaned_calls_manifest

#: Names of files still being written (or hidden): never read, counted as skipped.
SKIP_PREFIXES = (".", "_")
SKIP_SUFFIXES = (".tmp", ".part")

#: What a folder's call files are named; other files there (agents.csv, a README) are not
#: read, and counted apart. A glob takes what it names.
CALL_SUFFIXES = tuple(e + z for e in (".json", ".jsonl", ".ndjson") for z in ("", ".gz"))

MODE = INCREMENTAL_MODE
_GLOB_CHARS = set("*?[")


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
    detail = _detail(listing, new, copies, dropped, kept)
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
    kept: list[dict[str, Any]],
) -> str:
    ingested = {e["path"] for e in kept}
    already = sum(1 for path in listing.files if _key(path) in ingested)
    parts = [f"{len(new)} new file(s) read"]
    if dropped:
        again = {e["path"] for e in dropped} & {_key(p) for p, _ in new}
        parts = [
            f"{len(new)} file(s) read ({len(again)} again: --force from "
            f"{_name(dropped[0]['path'])} on; {len(dropped) - len(again)} gone)"
        ]
    parts.append(f"{already:,} already ingested")
    parts.append(f"{len(listing.skipped)} skipped as hidden or still being written")
    if listing.others:
        parts.append(f"{len(listing.others)} not call files (by name)")
    if copies:
        parts.append(f"{len(copies)} skipped as copies of ingested files")
    return ", ".join(parts)


def file_entry(
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


def up_to_date_result(previous: dict[str, Any], detail: str) -> EtlResult:
    """The result of a run with no new file: the manifest's totals, and what was skipped."""
    return dataclasses.replace(result_from_manifest(previous), detail=detail)


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


def refuse_another_run(
    previous: dict[str, Any],
    agents: Path | str,
    output: Path | str,
    partition_by: str | None,
    manifest: Path | str,
    *,
    same_output: bool,
) -> None:
    """The refusals every update starts with, local or s3://: the manifest describes another
    output (``same_output`` False), a single-file run, other options, or changed agents."""
    fix = "rerun with --rebuild to reprocess every file"
    described = (previous.get("output") or {}).get("path")
    if described and not same_output:
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
