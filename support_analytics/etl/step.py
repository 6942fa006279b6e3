"""The ETL run with the configured defaults, plus the paths it used: the step the report and the
data-quality notebook share, so both read the same files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support_analytics import config
from support_analytics import schema as s
from support_analytics.etl.duckdb_engine import run_etl
from support_analytics.etl.incremental_files import is_drop_input
from support_analytics.etl.run_steps import EtlResult
from support_analytics.etl.sources.mapping import recorded_source
from support_analytics.io import storage


@dataclass
class EtlStep:
    """The ETL's result plus the paths it used, so later steps read the same files (local
    paths as Path, s3:// URLs as str)."""

    result: EtlResult
    calls_path: Path | str
    agents_path: Path | str
    parquet_path: Path | str
    manifest_path: Path | str
    rejects_path: Path | str

    @property
    def manifest(self) -> dict[str, Any]:
        return self.result.manifest


def run_etl_step(
    calls_path: Path | str | None = None,
    agents_path: Path | str | None = None,
    parquet_path: Path | str | None = None,
    manifest_path: Path | str | None = None,
    rejects_path: Path | str | None = None,
    *,
    force: bool = False,
    progress: bool = False,
    source: str | Path | None = None,
) -> EtlStep:
    """Run the ETL with None meaning the configured default path; a no-op when up to date.

    Any path may be an s3:// URL; it is kept as text (``Path`` would turn ``s3://`` into
    ``s3:/``). ``source`` None means the one the manifest recorded for these calls (the
    data-quality notebook's check must not rerun a mapped export as NDJSON)."""

    def pick(value: Path | str | None, default: Path) -> Path | str:
        return storage.as_path(value) if value is not None else default

    calls = pick(calls_path, config.DEFAULT_CALLS)
    agents = pick(agents_path, config.DEFAULT_AGENTS)
    parquet = pick(parquet_path, config.DEFAULT_OUTPUT)
    manifest = pick(manifest_path, config.DEFAULT_MANIFEST)
    rejects = pick(rejects_path, config.DEFAULT_REJECTS)
    # A folder of daily files is ingested incrementally, which needs the partitioned layout.
    partition_by = s.CALL_DATE if is_drop_input(calls) else None
    if source is None:  # the notebook's check runs with the source the report ran with
        source = recorded_source(manifest, calls)
    result = run_etl(
        calls, agents, parquet, manifest, rejects, force=force, progress=progress,
        partition_by=partition_by, source=source,
    )  # fmt: skip
    return EtlStep(result, calls, agents, parquet, manifest, rejects)
