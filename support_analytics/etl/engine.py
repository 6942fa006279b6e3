"""What an engine is given and what it hands back: the seam between the shell and engines.

An engine reads the calls and writes the staged Parquet and rejects where the run shell
(``run.py``) points it, and reports what it counted. It publishes nothing, takes no lock and
writes no manifest, so both engines get those guarantees from the one shell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa


@dataclass
class Staging:
    """One run as an engine sees it: what to read, and where to write the staged outputs.

    ``output`` is a file path, or a folder path when ``partition_by`` is set; it is local
    unless the engine reads and writes S3 itself. ``lap`` records a phase's seconds.
    ``seen_ids`` are Parquet files of call_ids kept by earlier files (the id index of an
    incremental run; s3:// URLs for an engine that reads S3 itself): a line repeating one of
    them is a ``duplicate_call_id`` reject.
    """

    calls: Path | str
    agents: pa.Table
    output: Path | str
    rejects: Path
    workdir: Path
    partition_by: str | None
    progress: bool
    chunk_bytes: int
    lap: Callable[[str], None]
    seen_ids: list[Path | str] = field(default_factory=list)


@dataclass
class Staged:
    """What an engine wrote and counted. ``output`` is where the data really is (an engine
    may put a single file inside ``Staging.output``); ``objects`` counts lines that were JSON
    objects, and ``calls_sha256`` saves hashing the calls file again when the engine did."""

    output: Path | str
    lines: int
    rows_in: int
    objects: int
    rows_out: int
    rejected: dict[str, int]
    warnings: dict[str, int]
    calls_sha256: str | None = None
    #: Per input file of a folder ({"file", "input", "output", "rejected"}), when the
    #: engine counts that way (a mapped source); the manifest keeps it under rows.files.
    files: list[dict[str, int | str]] = field(default_factory=list)


class Engine(Protocol):
    """Reads the calls and writes staged outputs; nothing else (the shell does the rest)."""

    name: str
    #: True when the engine reads s3:// calls and writes s3:// staging itself (Spark on Glue).
    reads_remote: bool

    def check_calls(self, calls: Path | str) -> None:
        """Refuse what this engine cannot read, before any output is touched."""

    def stage(self, job: Staging) -> Staged:
        """Clean ``job.calls`` into ``job.output`` and ``job.rejects``."""
