"""The steps every run takes, whichever shell runs it: the single-file shell (``run.py``) and
the daily-drops runs (``incremental*.py``) both build on them.

What a run returns and when it is up to date; agents.csv read and checked; where an engine
stages; the refusals and the row and contract checks on what it staged, before anything is
published; the manifest payload.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from support_analytics import schema as s
from support_analytics.errors import ContractError, InputError
from support_analytics.etl.agents import agents_table, load_agents
from support_analytics.etl.engine import Engine, Staged, Staging
from support_analytics.etl.lines import GZIP_MAGIC, NOT_THE_CALLS_FIX
from support_analytics.io import storage
from support_analytics.io.fingerprint import fingerprint, matches
from support_analytics.io.manifest import cleaned_calls_manifest, read_manifest

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


def run_options(
    partition_by: str | None = None, source: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The options a manifest records; a run with other options is not up to date.

    ``source`` describes a mapped source (``etl/sources``); the default format records none.
    """
    options: dict[str, Any] = {"schema_version": s.SCHEMA_VERSION, "partition_by": partition_by}
    if source is not None:
        options["source"] = source
    return options


def is_up_to_date(
    manifest: dict[str, Any],
    calls: Path | str,
    agents: Path | str,
    output: Path | str,
    rejects: Path | str,
    *,
    partition_by: str | None = None,
    source: dict[str, Any] | None = None,
) -> bool:
    """True when inputs, outputs and options all match what the manifest recorded.

    Paths may be local or s3://, files or (partitioned output) folders.
    """
    inputs = manifest.get("inputs") or {}
    return (
        manifest.get("options") == run_options(partition_by, source)
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


def names_output(recorded: str, output: Path | str) -> bool:
    """Whether an output path a manifest recorded names ``output``. A relative recorded path
    was relative to the folder of that run (the CLI's, not a notebook's), so it names
    ``output`` when it is the end of ``output``'s absolute path."""
    if storage.is_remote(recorded) or storage.is_remote(output):
        return str(recorded).rstrip("/") == str(output).rstrip("/")
    here, path = Path(output).absolute().parts, Path(recorded)
    if path.is_absolute():
        return path.parts == here
    return len(path.parts) <= len(here) and here[-len(path.parts) :] == path.parts


def recorded_partition_by(manifest: Path | str, output: Path | str) -> str | None:
    """The ``--partition-by`` the manifest records for ``output`` (None when it records none,
    or describes another output): how an update of a folder run lays its output out."""
    previous = read_manifest(manifest, warn=False)
    described = (previous.get("output") or {}).get("path")
    options = previous.get("options")
    if not described or not isinstance(options, dict) or not names_output(described, output):
        return None
    recorded = options.get("partition_by")
    return recorded if recorded in PARTITION_COLUMNS else None


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


def lap_timer(timings: dict[str, float]) -> Callable[[str], None]:
    """Record seconds per phase into ``timings`` (kept in the manifest to show where time went)."""
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - last[0], 3)
        last[0] = now

    return lap


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
        raise InputError(f"{calls}: holds no calls (only blank lines); {NOT_THE_CALLS_FIX}")
    if staged.objects == 0:
        raise InputError(
            f"{calls}: is not NDJSON: none of its {staged.rows_in:,} lines is a JSON object; "
            + _not_ndjson_fix(calls)
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


def _not_ndjson_fix(calls: Path | str) -> str:
    """The fix for a file with no JSON object line; lines ended by a bare CR (classic Mac
    text) read as one line, and say so."""
    head = b""
    if not storage.is_remote(calls):
        with open(calls, "rb") as fh:
            head = fh.read(1 << 16)
    bare_cr = b"\r" in head and b"\r\n" not in head and head.count(b"\n") <= 1
    if bare_cr and not head.startswith(GZIP_MAGIC):
        return (
            f"its lines end in a bare CR; convert them with: tr '\\r' '\\n' < {calls} > calls.json"
        )
    return f'each line must be one JSON object ({{"{s.CALL_ID}": ...}}); {NOT_THE_CALLS_FIX}'


def manifest_payload(
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
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest: fingerprints of the staged files under their final names (local runs),
    or of the published objects (s3://)."""
    rows: dict[str, Any] = {
        "input": staged.rows_in,
        "output": staged.rows_out,
        "rejected": {r: int(staged.rejected.get(r, 0)) for r in s.REJECT_REASONS},
        "blank_lines": staged.lines - staged.rows_in,
    }
    if staged.files:
        rows["files"] = staged.files
    return cleaned_calls_manifest(
        output,
        staged_output=staged.output if staged_rejects is not None else None,
        engine=engine.name,
        seconds=round(seconds, 3),
        timings=timings,
        options=run_options(partition_by, source),
        inputs={
            "calls": fingerprint(calls, sha256=staged.calls_sha256),
            "agents": fingerprint(agents),
        },
        rejects=fingerprint(
            staged_rejects if staged_rejects is not None else rejects, recorded_as=rejects
        ),
        rows=rows,
        warnings=staged.warnings,
    )


def etl_result(staged: Staged, seconds: float, payload: dict[str, Any]) -> EtlResult:
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
