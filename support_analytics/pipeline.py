"""Wiring only: ETL (when inputs changed) -> papermill notebooks -> site metadata -> Quarto.

Each executed notebook is keyed by the manifest hash, the template's content hash and its
parameters; an unchanged key skips the notebook (``report.pages``). The site is rendered only
when a page or a site file changed (``report.site``).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from support_analytics import config
from support_analytics.etl import EtlResult
from support_analytics.etl.step import run_etl_step
from support_analytics.io import storage
from support_analytics.io.files import atomic_write_bytes
from support_analytics.io.manifest import manifest_hash
from support_analytics.report.pages import (
    FAILED_DIR,
    NotebookError,
    NotebookJob,
    execute_job,
    job_key,
    plan_jobs,
    write_slice_data,
)
from support_analytics.report.site import (
    plan_render,
    read_json,
    record_render,
    render_site,
    write_site_meta,
)


def absolute_path(path: Path | str) -> Path | str:
    """A local path made absolute; an s3:// URL unchanged (it is absolute already)."""
    path = storage.as_path(path)
    return path.absolute() if isinstance(path, Path) else path


def _read_state(path: Path) -> dict[str, str]:
    return {str(k): str(v) for k, v in read_json(path).items()}


# --------------------------------------------------------------------------------------------
# The whole report
# --------------------------------------------------------------------------------------------
@dataclass
class ReportResult:
    """What a report run did, for the CLI's summary line and for tests."""

    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    jobs: list[NotebookJob] = field(default_factory=list)
    etl: EtlResult | None = None
    site_rendered: bool = False


def build_report(
    root: Path = config.PROJECT_ROOT,
    calls: Path | str = config.DEFAULT_CALLS,
    agents: Path | str = config.DEFAULT_AGENTS,
    output: Path | str = config.DEFAULT_OUTPUT,
    manifest: Path | str = config.DEFAULT_MANIFEST,
    rejects: Path | str = config.DEFAULT_REJECTS,
    *,
    notebooks_dir: Path = config.NOTEBOOKS_DIR,
    start_date: str | None = None,
    end_date: str | None = None,
    force: bool = False,
    render: bool = True,
    jobs: int = config.REPORT_JOBS,
    progress: bool = True,
    out: TextIO | None = None,
    execute: Callable[[NotebookJob, Path], float] = execute_job,
    source: str | Path | None = None,
) -> ReportResult:
    """ETL if inputs changed, every notebook whose key changed, site metadata, then Quarto.

    Raises NotebookError after the other notebooks finished when one fails, and
    QuartoMissingError (after the notebooks) when Quarto is not installed. ``source`` is
    the calls' format (``etl --source``).
    """
    from support_analytics.report.metrics import regions as data_regions

    stream = out if out is not None else sys.stderr

    def say(line: str) -> None:
        if progress:
            print(line, file=stream, flush=True)

    root = Path(root)
    reports_dir = root / config.REPORTS_DIR.name
    reports_dir.mkdir(parents=True, exist_ok=True)
    # Absolute paths: the notebooks run in another folder, and the notebook's own ETL call must
    # see the same paths the manifest recorded (or it would rerun the ETL).
    # s3:// URLs pass through unchanged: they are absolute already.
    paths = [absolute_path(p) for p in (calls, agents, output, manifest, rejects)]
    step = run_etl_step(*paths, force=force, progress=progress, source=source)
    say(f"etl: {step.result.summary()}")

    result = ReportResult(etl=step.result)
    result.jobs = plan_jobs(step, notebooks_dir, start_date, end_date)
    data_hash = manifest_hash(step.manifest)
    if write_slice_data(step, reports_dir, data_hash, force):
        say(f"report: filter data for the overview written ({config.SLICES_FILE_NAME})")
    state_path = reports_dir / config.REPORT_STATE_NAME
    state = _read_state(state_path)
    keys = {job.name: job_key(job, data_hash) for job in result.jobs}

    todo = []
    for job in result.jobs:
        if not force and state.get(job.name) == keys[job.name] and job.output(reports_dir).exists():
            result.skipped.append(job.name)
            say(f"report: {job.name}: unchanged (data, template and parameters), skipped")
        else:
            todo.append(job)

    failures: list[NotebookError] = []

    def run_one(job: NotebookJob) -> None:
        try:
            seconds = execute(job, reports_dir)
        except NotebookError as exc:
            failures.append(exc)
            state.pop(job.name, None)
            say(f"report: {job.name}: FAILED")
            return
        result.executed.append(job.name)
        result.seconds[job.name] = seconds
        state[job.name] = keys[job.name]
        say(f"report: {job.name}: executed {job.template.name} in {seconds:.1f}s")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(run_one, todo))

    # Pages no longer planned (the per-region pages of earlier versions) would linger in the
    # site: drop them.
    current = {job.output(reports_dir).name for job in result.jobs}
    for stale in reports_dir.glob("*.ipynb"):
        if stale.name not in current:
            stale.unlink()
            state.pop(stale.stem, None)
    atomic_write_bytes(state_path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8"))
    write_site_meta(root / config.SITE_META_NAME, data_regions(step.parquet_path), reports_dir)

    if failures:
        raise NotebookError("; ".join(str(f) for f in failures))
    if not todo:
        say("report: nothing changed; every notebook is up to date")
    if render:
        site = root / config.SITE_DIR.name
        pages = plan_render(root, force)
        if pages == []:
            say(f"site: {site} is up to date (no page or site file changed), not rendered")
        else:
            seconds = render_site(root, stream, pages)
            record_render(root)
            result.site_rendered = True
            what = "the whole site" if pages is None else f"page(s) {', '.join(pages)}"
            say(f"site: rendered {what} into {site} in {seconds:.1f}s")
    return result


def generated_paths(root: Path) -> list[Path]:
    """What ``etl`` and ``report`` generate under a project root and ``clean`` removes.

    The committed sample inputs and the folders' ``.gitkeep`` are not in it.
    """
    reports = root / config.REPORTS_DIR.name
    data = (config.DEFAULT_OUTPUT, config.DEFAULT_MANIFEST, config.DEFAULT_REJECTS)
    return [
        root / config.SITE_DIR.name,
        root / config.QUARTO_CACHE_NAME,
        root / config.SITE_META_NAME,
        reports / FAILED_DIR,
        reports / config.REPORT_STATE_NAME,
        reports / config.SLICES_FILE_NAME,
        *(root / path.relative_to(config.PROJECT_ROOT) for path in data),
        *sorted(reports.rglob("*.ipynb")),
    ]


def clean(root: Path = config.PROJECT_ROOT) -> list[Path]:
    """Delete :func:`generated_paths` that exist; returns what was removed."""
    removed = []
    for path in generated_paths(Path(root)):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed
