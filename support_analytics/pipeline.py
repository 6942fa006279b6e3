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
from urllib.parse import quote

from support_analytics import __version__, config, storage
from support_analytics import schema as s
from support_analytics.errors import SupportAnalyticsError
from support_analytics.etl import EtlResult, is_drop_input, run_etl
from support_analytics.files import atomic_write_bytes
from support_analytics.manifest import manifest_hash

OVERVIEW_NAME = "overview"
QUALITY_NAME = "data-quality"
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
    # A folder of daily files is ingested incrementally, which needs the partitioned layout.
    partition_by = s.CALL_DATE if is_drop_input(calls) else None
    result = run_etl(
        calls, agents, parquet, manifest, rejects, force=force, progress=progress,
        partition_by=partition_by,
    )  # fmt: skip
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


def plan_jobs(
    step: EtlStep,
    notebooks_dir: Path = config.NOTEBOOKS_DIR,
    start_date: str | None = None,
    end_date: str | None = None,
) -> list[NotebookJob]:
    """Data quality, and the overview dashboard. Regions are a selection on the overview (its
    filters, linked from the navbar's Regions menu), not pages of their own: a region page
    showed less than the overview filtered to that region."""
    dashboard = notebooks_dir / config.DASHBOARD_TEMPLATE_NAME
    return [
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
            {
                "parquet_path": str(step.parquet_path),
                "region": None,
                "start_date": start_date,
                "end_date": end_date,
                "title": "All regions",
            },
            "Overview",
        ),
    ]


def fragment_value(name: str) -> str:
    """A name as the overview's URL fragment writes it (web/slicer.js ``encodePart``):
    encodeURIComponent with '~' escaped too, and '~' alone for the blank name."""
    return quote(name, safe="-_.!*'()").replace("~", "%7E") if name else "~"


def write_slice_data(step: EtlStep, reports_dir: Path, data_hash: str, force: bool) -> bool:
    """The overview filters' data (slices.py) as a script beside the page, rebuilt only when
    the data changed. Returns True when it was (re)written."""
    from support_analytics import slices, website

    target = reports_dir / config.SLICES_FILE_NAME
    marker = f"/* data {data_hash} tool {__version__} */\n"
    if not force and target.exists():
        with open(target, encoding="utf-8") as fh:
            if fh.readline() == marker:
                return False
    payload = slices.slice_json(slices.build_slice_data(step.parquet_path))
    text = f"{marker}window[{json.dumps(config.SLICES_GLOBAL)}] = {payload};\n"
    website.write_readable(target, text.encode("utf-8"))
    return True


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
    return {str(k): str(v) for k, v in _read_json(path).items()}


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
def write_site_meta(path: Path, regions: Sequence[str], reports_dir: Path) -> None:
    """The generated part of the navbar: a Regions menu whose entries open the overview with
    that region selected (merged by _quarto.yml's metadata-files; Quarto concatenates lists,
    so the menu follows the static Overview entry)."""
    import yaml

    rel = os.path.relpath(reports_dir, path.parent)
    entries = [
        {
            "text": html.escape(region, quote=False),
            "href": f"{rel}/{OVERVIEW_NAME}.ipynb#region={fragment_value(region)}",
        }
        for region in regions
    ]
    # One menu, not an entry per region: five regions already wrapped the navbar onto two
    # lines at 1024 px.
    left = [{"text": "Regions", "menu": entries}] if entries else []
    body = yaml.safe_dump(
        {"website": {"navbar": {"left": left}}}, sort_keys=False, allow_unicode=True
    )
    header = "# Generated by `support-analytics report`: the Regions menu. Do not edit.\n"
    atomic_write_bytes(path, (header + body).encode("utf-8"))


def find_quarto() -> str | None:
    """``quarto`` on PATH, else the one the ``site`` extra (quarto-cli) puts beside this
    environment's Python (``make report`` runs ``.venv/bin/support-analytics`` without
    activating the environment, so that folder is not on PATH)."""
    found = shutil.which("quarto")
    if found is None:
        beside = Path(sys.executable).parent / "quarto"
        found = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None
    return found


def render_site(root: Path, out: TextIO, pages: Sequence[str] | None = None) -> float:
    """``quarto render`` in the project root (only ``pages``, reports/<name>.ipynb, when given),
    then the site's offline fixes; QuartoMissingError when Quarto is not installed."""
    from support_analytics import website

    quarto = find_quarto()
    if quarto is None:
        raise QuartoMissingError(
            f"notebooks are in {root / config.REPORTS_DIR.name}, but the site was not rendered: "
            f"quarto is not on PATH; install it with {config.QUARTO_INSTALL_HINT} and rerun"
        )
    started = time.perf_counter()
    # Quarto runs the site's post-render hook with its Python: this environment's, which has
    # support_analytics, unless the user chose another.
    env = {**os.environ, "QUARTO_PYTHON": os.environ.get("QUARTO_PYTHON", sys.executable)}
    targets = [[]] if pages is None else [[f"{config.REPORTS_DIR.name}/{p}.ipynb"] for p in pages]
    for target in targets:
        proc = subprocess.run(
            [quarto, "render", *target], cwd=root, capture_output=True, text=True, env=env
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise SupportAnalyticsError(f"quarto render failed (exit {proc.returncode}):\n{tail}")
    # Quarto runs the hook on full renders; a page rendered alone is fixed here (idempotent).
    website.post_render(root / config.SITE_DIR.name)
    return time.perf_counter() - started


def site_fingerprint(root: Path) -> dict[str, Any]:
    """What the rendered site depends on: the site's own files (config, pages, theme, the
    generated navbar) and each executed notebook, by content."""
    site_files = hashlib.sha256()
    # the page scripts the post-render step ships (web/*.js) belong to the site as well
    shipped = sorted((Path(__file__).parent / "web").glob("*.js"))
    for path in [*(root / n for n in (*config.SITE_FILES, config.SITE_META_NAME)), *shipped]:
        site_files.update(path.name.encode("utf-8") + b"\0")
        site_files.update(path.read_bytes() if path.is_file() else b"<missing>")
        site_files.update(b"\0")
    reports = root / config.REPORTS_DIR.name
    pages = {}
    for nb in sorted(reports.glob("*.ipynb")):
        # a page's companion files (overview.slices.js) are copied into the site with it
        parts = [nb, *sorted(reports.glob(f"{nb.stem}.*.js"))]
        pages[nb.stem] = hashlib.sha256("".join(_file_hash(p) for p in parts).encode()).hexdigest()[
            :16
        ]
    return {"site_files": site_files.hexdigest()[:16], "pages": pages, "tool": __version__}


def plan_render(root: Path, force: bool = False) -> list[str] | None:
    """Which pages to render: [] when the site is up to date, a list of page names when only
    those notebooks changed, None for the whole site (first render, a site file or the navbar
    changed, pages came or went, an output is missing, or ``force``)."""
    site = root / config.SITE_DIR.name
    now = site_fingerprint(root)
    before = _read_json(site / config.RENDER_STATE_NAME)
    outputs = [site / "index.html"] + [
        site / config.REPORTS_DIR.name / f"{name}.html" for name in now["pages"]
    ]
    if force or not all(p.exists() for p in outputs):
        return None
    if before.get("site_files") != now["site_files"] or before.get("tool") != now["tool"]:
        return None
    old_pages = before.get("pages")
    if not isinstance(old_pages, dict) or set(old_pages) != set(now["pages"]):
        return None
    changed = [name for name, key in now["pages"].items() if old_pages[name] != key]
    # rendering pages one by one costs Quarto's start-up each time: past half, render all
    return None if 2 * len(changed) > len(now["pages"]) else changed


def record_render(root: Path) -> None:
    """Remember what the site was rendered from, for :func:`plan_render`."""
    state = json.dumps(site_fingerprint(root), indent=2, sort_keys=True).encode("utf-8")
    atomic_write_bytes(root / config.SITE_DIR.name / config.RENDER_STATE_NAME, state)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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
