"""Wiring only: ETL (when inputs changed) -> papermill notebooks -> site metadata -> Quarto.

Each executed notebook is keyed by the manifest hash, the template's content hash and its
parameters; an unchanged key skips the notebook. A notebook executes into a temp file that
replaces the previous report only on success, so a failure leaves the last good page in place.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from support_analytics import __version__, config, storage
from support_analytics.errors import SupportAnalyticsError
from support_analytics.etl import EtlResult, run_etl
from support_analytics.files import atomic_write_bytes
from support_analytics.manifest import manifest_hash

OVERVIEW_NAME = "overview"
QUALITY_NAME = "data-quality"
REGION_PREFIX = "region-"
FAILED_DIR = "failed"


class NotebookError(SupportAnalyticsError):
    """A report notebook failed; the message names the notebook, the cell and the error."""


class QuartoMissingError(SupportAnalyticsError):
    """The notebooks are done but the site cannot be rendered without Quarto."""


# --------------------------------------------------------------------------------------------
# ETL step (also used by the data-quality notebook)
# --------------------------------------------------------------------------------------------
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
) -> EtlStep:
    """Run the ETL with None meaning the configured default path; a no-op when up to date.

    Any path may be an s3:// URL; it is kept as text (``Path`` would turn ``s3://`` into
    ``s3:/``)."""

    def pick(value: Path | str | None, default: Path) -> Path | str:
        return storage.as_path(value) if value is not None else default

    calls = pick(calls_path, config.DEFAULT_CALLS)
    agents = pick(agents_path, config.DEFAULT_AGENTS)
    parquet = pick(parquet_path, config.DEFAULT_OUTPUT)
    manifest = pick(manifest_path, config.DEFAULT_MANIFEST)
    rejects = pick(rejects_path, config.DEFAULT_REJECTS)
    result = run_etl(calls, agents, parquet, manifest, rejects, force=force, progress=progress)
    return EtlStep(result, calls, agents, parquet, manifest, rejects)


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotebookJob:
    """One page: a template executed with parameters into reports/<name>.ipynb."""

    name: str
    template: Path
    parameters: dict[str, Any]
    nav_text: str

    def output(self, reports_dir: Path) -> Path:
        return reports_dir / f"{self.name}.ipynb"


def region_slug(region: str, taken: set[str] | None = None) -> str:
    """A stable, file-safe page name for a region ('North America' -> 'north-america'); names
    that clean to nothing or collide get a short hash of the original."""
    slug = re.sub(r"[^a-z0-9]+", "-", region.lower()).strip("-")[:40].strip("-")
    if not slug or (taken is not None and slug in taken):
        digest = hashlib.sha256(region.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug}-{digest}" if slug else digest
    return slug


def plan_jobs(
    step: EtlStep,
    regions: Sequence[str],
    notebooks_dir: Path = config.NOTEBOOKS_DIR,
    start_date: str | None = None,
    end_date: str | None = None,
) -> list[NotebookJob]:
    """Data quality once, the dashboard for all regions, then one dashboard per region."""
    dashboard = notebooks_dir / config.DASHBOARD_TEMPLATE_NAME
    common = {
        "parquet_path": str(step.parquet_path),
        "start_date": start_date,
        "end_date": end_date,
    }
    jobs = [
        NotebookJob(
            QUALITY_NAME,
            notebooks_dir / config.ETL_TEMPLATE_NAME,
            {
                "calls_path": str(step.calls_path),
                "agents_path": str(step.agents_path),
                "parquet_path": str(step.parquet_path),
                "manifest_path": str(step.manifest_path),
                "rejects_path": str(step.rejects_path),
                "title": "Data quality",
            },
            "Data quality",
        ),
        NotebookJob(
            OVERVIEW_NAME,
            dashboard,
            {**common, "region": None, "title": "All regions"},
            "Overview",
        ),
    ]
    taken: set[str] = set()
    for region in regions:
        slug = region_slug(region, taken)
        taken.add(slug)
        jobs.append(
            NotebookJob(
                REGION_PREFIX + slug,
                dashboard,
                {**common, "region": region, "title": f"Region: {region}"},
                region,
            )
        )
    return jobs


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def job_key(job: NotebookJob, data_hash: str) -> str:
    """What a page depends on: data (manifest hash), template content, parameters, tool."""
    payload = {
        "data": data_hash,
        "template": _file_hash(job.template),
        "parameters": job.parameters,
        "tool": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def absolute_path(path: Path | str) -> Path | str:
    """A local path made absolute; an s3:// URL unchanged (it is absolute already)."""
    path = storage.as_path(path)
    return path.absolute() if isinstance(path, Path) else path


def _read_state(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------
_TITLE_LINE = re.compile(r"^title:.*$", re.MULTILINE)


def _yaml_title(title: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid ones) with HTML escaped, because
    Quarto reads the title as Markdown and would pass raw HTML through."""
    return json.dumps(html.escape(title, quote=False), ensure_ascii=False)


def set_front_matter_title(notebook_path: Path, title: str) -> None:
    """Write the page title into the raw front-matter cell (papermill cannot parameterise it)."""
    import nbformat

    nb = nbformat.read(notebook_path, as_version=4)
    if nb.cells and nb.cells[0].cell_type == "raw" and _TITLE_LINE.search(nb.cells[0].source):
        new_line = "title: " + _yaml_title(title)
        nb.cells[0].source = _TITLE_LINE.sub(lambda _m: new_line, nb.cells[0].source, count=1)
        nbformat.write(nb, notebook_path)


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


def execute_job(
    job: NotebookJob,
    reports_dir: Path,
    kernel_name: str = config.REPORT_KERNEL,
    timeout: int = config.REPORT_CELL_TIMEOUT,
) -> float:
    """Execute one notebook into a temp file, then replace the report (atomic on success)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    reports_dir.mkdir(parents=True, exist_ok=True)
    final = job.output(reports_dir)
    tmp = reports_dir / f".{job.name}.running.ipynb"
    started = time.perf_counter()
    try:
        pm.execute_notebook(
            str(job.template),
            str(tmp),
            parameters=job.parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
            cwd=str(job.template.parent),
            # ipykernel warns on every start that its loopback TCP is unencrypted; the
            # kernel is local and short-lived, so keep the report's output to what matters.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as exc:
        failed = reports_dir / FAILED_DIR / final.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            os.replace(tmp, failed)
        kept = "previous report kept" if final.exists() else "no previous report"
        raise NotebookError(
            f"{job.template.name} ({job.name}): cell {exc.exec_count} "
            f"[{_first_line(exc.source)}] failed: {exc.ename}: {exc.evalue} ({kept}; "
            f"executed copy with the traceback: {failed})"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    set_front_matter_title(tmp, str(job.parameters.get("title") or job.nav_text))
    os.replace(tmp, final)
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# Site metadata and Quarto
# --------------------------------------------------------------------------------------------
def write_site_meta(path: Path, jobs: Sequence[NotebookJob], reports_dir: Path) -> None:
    """The generated part of the navbar: one entry per region page (merged by _quarto.yml's
    metadata-files; Quarto concatenates lists, so these follow the static Overview entry)."""
    import yaml

    rel = os.path.relpath(reports_dir, path.parent)
    entries = [
        {"text": html.escape(job.nav_text, quote=False), "href": f"{rel}/{job.name}.ipynb"}
        for job in jobs
        if job.name.startswith(REGION_PREFIX)
    ]
    body = yaml.safe_dump(
        {"website": {"navbar": {"left": entries}}}, sort_keys=False, allow_unicode=True
    )
    header = (
        "# Generated by `support-analytics report`: one navbar entry per region. Do not edit.\n"
    )
    atomic_write_bytes(path, (header + body).encode("utf-8"))


def render_site(root: Path, out: TextIO) -> float:
    """``quarto render`` in the project root; QuartoMissingError when it is not installed."""
    quarto = shutil.which("quarto")
    if quarto is None:
        raise QuartoMissingError(
            f"notebooks are in {root / config.REPORTS_DIR.name}, but the site was not rendered: "
            f"quarto is not on PATH; install it with {config.QUARTO_INSTALL_HINT} and rerun"
        )
    started = time.perf_counter()
    proc = subprocess.run([quarto, "render"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise SupportAnalyticsError(f"quarto render failed (exit {proc.returncode}):\n{tail}")
    return time.perf_counter() - started


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
) -> ReportResult:
    """ETL if inputs changed, every notebook whose key changed, site metadata, then Quarto.

    Raises NotebookError after the other notebooks finished when one fails, and
    QuartoMissingError (after the notebooks) when Quarto is not installed.
    """
    from support_analytics.metrics import regions as data_regions

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
    step = run_etl_step(*paths, force=force, progress=progress)
    say(f"etl: {step.result.summary()}")

    result = ReportResult(etl=step.result)
    result.jobs = plan_jobs(
        step, data_regions(step.parquet_path), notebooks_dir, start_date, end_date
    )
    data_hash = manifest_hash(step.manifest)
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

    # Pages of regions no longer in the data would linger in the site: drop them.
    current = {job.output(reports_dir).name for job in result.jobs}
    for stale in reports_dir.glob(f"{REGION_PREFIX}*.ipynb"):
        if stale.name not in current:
            stale.unlink()
            state.pop(stale.stem, None)
    atomic_write_bytes(state_path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8"))
    write_site_meta(root / config.SITE_META_NAME, result.jobs, reports_dir)

    if failures:
        raise NotebookError("; ".join(str(f) for f in failures))
    if not todo:
        say("report: nothing changed; every notebook is up to date")
    if render:
        seconds = render_site(root, stream)
        result.site_rendered = True
        say(f"site: rendered {root / config.SITE_DIR.name} in {seconds:.1f}s")
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
