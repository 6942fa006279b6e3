"""Wiring only: ETL (when inputs changed) -> papermill notebooks -> site metadata -> Quarto.

Each executed notebook is keyed by the manifest hash, the template's content hash and its
parameters; an unchanged key skips the notebook (``report.pages``). The site is rendered only
when a page or a site file changed (``report.site``), in a staging copy swapped in whole, one
report at a time per project folder (``report.render``). Parameters are checked before any
of it (``report.params``).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TextIO

from support_analytics import config
from support_analytics.errors import Interrupted
from support_analytics.etl import EtlResult
from support_analytics.etl.step import run_etl_step
from support_analytics.io import storage
from support_analytics.io.files import atomic_write_bytes
from support_analytics.io.manifest import manifest_hash
from support_analytics.report.pages import (
    FAILED_DIR,
    NotebookError,
    NotebookJob,
    RunningKernels,
    execute_job,
    job_key,
    plan_jobs,
    write_slice_data,
)
from support_analytics.report.params import check_against_data, check_period, check_root
from support_analytics.report.render import (
    RenderProgress,
    recover_site,
    render_site,
    report_lock,
)
from support_analytics.report.site import plan_render, read_json, write_site_meta


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
    execute: Callable[[NotebookJob, Path], float] | None = None,
    lock_wait: float | None = None,
    source: str | Path | None = None,
) -> ReportResult:
    """ETL if inputs changed, every notebook whose key changed, site metadata, then Quarto.

    The dates and ``root`` are checked first (InputError), then the project folder's report
    lock is taken (``lock_wait`` as ``etl --lock-wait``). Raises NotebookError after the other
    notebooks finished when one fails, QuartoMissingError (after the notebooks) when Quarto is
    not installed, and Interrupted (saying what is kept) on Ctrl-C. ``source`` is the calls'
    format (``etl --source``).
    """
    stream = out if out is not None else sys.stderr

    def say(line: str) -> None:
        if progress:
            print(line, file=stream, flush=True)

    root = Path(root)
    period = check_period(start_date, end_date)
    check_root(root, render)
    stage = _Stage(root)
    try:
        with report_lock(root, lock_wait, say):
            stage.name = "etl"
            recovered = recover_site(root)
            if recovered:
                say(recovered)
            return _build(
                stage,
                say,
                [absolute_path(p) for p in (calls, agents, output, manifest, rejects)],
                period,
                notebooks_dir=notebooks_dir,
                start_date=start_date,
                end_date=end_date,
                force=force,
                render=render,
                jobs=jobs,
                progress=progress,
                execute=execute,
                source=source,
            )
    except KeyboardInterrupt:
        raise Interrupted(stage.kept()) from None


class _Stage:
    """Where a report run is, so a Ctrl-C can say in one line what it kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = "lock"
        self.render = RenderProgress()

    def kept(self) -> str:
        site = self.root / config.SITE_DIR.name
        reports = self.root / config.REPORTS_DIR.name
        if self.name == "lock":
            return "nothing was changed (this run was waiting for another report)"
        if self.name == "etl":
            return (
                "stopped in the ETL: its outputs are the previous run's (or this run's, once the "
                f"next run finishes a commit under way); {reports} and {site} are as they were"
            )
        if self.name == "notebooks":
            return (
                f"notebook kernels stopped: pages that finished are in {reports}, the others "
                f"keep their previous version; {site} is the previous complete site"
            )
        if self.render.published:
            return f"the new site was already in place: {site} is complete and up to date"
        if not site.exists():
            return "stopped during the first render: there is no site yet; run report again"
        return (
            f"stopped during the render: {site} is the previous complete site; the next "
            "report renders it again"
        )


def _build(
    stage: _Stage,
    say: Callable[[str], None],
    paths: list[Path | str],
    period: tuple[date | None, date | None],
    *,
    notebooks_dir: Path,
    start_date: str | None,
    end_date: str | None,
    force: bool,
    render: bool,
    jobs: int,
    progress: bool,
    execute: Callable[[NotebookJob, Path], float] | None,
    source: str | Path | None,
) -> ReportResult:
    """:func:`build_report`'s work, under the report lock."""
    from support_analytics.report.metrics import DEFAULT_PERIOD_DAYS, data_range
    from support_analytics.report.metrics import regions as data_regions

    root = stage.root
    reports_dir = root / config.REPORTS_DIR.name
    reports_dir.mkdir(parents=True, exist_ok=True)
    # Absolute paths (the caller's): the notebooks run in another folder, and the notebook's
    # own ETL call must see the same paths the manifest recorded (or it would rerun the ETL).
    # s3:// URLs pass through unchanged: they are absolute already.
    step = run_etl_step(*paths, force=force, progress=progress, source=source)
    say(f"etl: {step.result.summary()}")
    if period != (None, None):  # a chosen period must hold some of the data
        data_first, data_last, _ = data_range(step.parquet_path)
        note = check_against_data(*period, data_first, data_last, DEFAULT_PERIOD_DAYS)
        if note:
            say(f"report: {note}")

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
    kernels = RunningKernels()

    def run_one(job: NotebookJob) -> None:
        try:
            if execute is None:
                seconds = execute_job(job, reports_dir, kernels=kernels)
            else:
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

    stage.name = "notebooks"
    _run_all(run_one, todo, jobs, kernels)

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
    failed_dir = reports_dir / FAILED_DIR
    if failed_dir.is_dir():  # every page is good now: the failed copies describe the past
        shutil.rmtree(failed_dir)
        say(f"report: every page ran; removed the failed copies in {failed_dir}")
    if not todo:
        say("report: nothing changed; every notebook is up to date")
    if render:
        stage.name = "render"
        site = root / config.SITE_DIR.name
        pages = plan_render(root, force)
        if pages == []:
            say(f"site: {site} is up to date (no page or site file changed), not rendered")
        else:
            seconds = render_site(root, pages, stage.render)
            result.site_rendered = True
            what = "the whole site" if pages is None else f"page(s) {', '.join(pages)}"
            say(f"site: rendered {what} into {site} in {seconds:.1f}s")
    return result


def _run_all(
    run_one: Callable[[NotebookJob], None],
    todo: list[NotebookJob],
    jobs: int,
    kernels: RunningKernels,
) -> None:
    """Run the notebooks ``jobs`` at a time; on Ctrl-C (or an unexpected error) the queued
    ones are dropped and the running ones' kernels killed until their threads have ended, so
    the process exits promptly instead of finishing every notebook first."""
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    futures = [pool.submit(run_one, job) for job in todo]
    try:
        for future in futures:
            future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        while not all(f.done() for f in futures):
            kernels.kill_all()  # again: a kernel may have been starting at the first call
            wait(futures, timeout=0.2)
        raise
    pool.shutdown()


def generated_paths(root: Path) -> list[Path]:
    """What ``etl`` and ``report`` generate under a project root and ``clean`` removes.

    The committed sample inputs and the folders' ``.gitkeep`` are not in it.
    """
    from support_analytics.report.metrics.source import cache_files

    reports = root / config.REPORTS_DIR.name
    data = [
        root / path.relative_to(config.PROJECT_ROOT)
        for path in (config.DEFAULT_OUTPUT, config.DEFAULT_MANIFEST, config.DEFAULT_REJECTS)
    ]
    output = data[0]
    return [
        root / config.SITE_DIR.name,
        root / config.SITE_PREVIOUS_NAME,
        *sorted(root.glob(config.SITE_STAGING_PREFIX + "*")),
        root / config.QUARTO_CACHE_NAME,
        root / config.SITE_META_NAME,
        root / config.REPORT_LOCK_NAME,
        reports / FAILED_DIR,
        reports / config.REPORT_STATE_NAME,
        reports / config.SLICES_FILE_NAME,
        *data,
        # the ETL's output lock and a killed run's work dirs, the report's repeat-flag cache
        *(path.with_name(path.name + ".lock") for path in data),
        *sorted(output.parent.glob(f".{output.name}.*.work")),
        *cache_files(output),
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
