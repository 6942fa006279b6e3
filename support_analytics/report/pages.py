"""The report's pages: which notebooks run with which parameters, their keys (skip an unchanged
page), the overview's filter data, and papermill execution into a temp file that replaces the
page only on success (a failure keeps the last good page and the failed copy to look at)."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from support_analytics import __version__, config
from support_analytics.errors import SupportAnalyticsError
from support_analytics.etl.step import EtlStep

OVERVIEW_NAME = "overview"
QUALITY_NAME = "data-quality"
PLANNING_NAME = "planning"
FAILED_DIR = "failed"


class NotebookError(SupportAnalyticsError):
    """A report notebook failed; the message names the notebook, the cell and the error."""


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
    """Data quality, the overview dashboard and the planning page. Regions are a selection on
    the overview (its filters, linked from the navbar's Regions menu), not pages of their
    own: a region page showed less than the overview filtered to that region."""
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
        NotebookJob(
            PLANNING_NAME,
            notebooks_dir / config.PLANNING_TEMPLATE_NAME,
            {
                "parquet_path": str(step.parquet_path),
                "days": config.PLAN_DAYS,
                "hours": config.PLAN_HOURS,
                "target": config.PLAN_TARGET,
                "answer_within": config.PLAN_ANSWER_WITHIN,
                "max_occupancy": config.PLAN_MAX_OCCUPANCY,
                "shrinkage": config.PLAN_SHRINKAGE,
                "title": "Planning",
            },
            "Planning",
        ),
    ]


def fragment_value(name: str) -> str:
    """A name as the overview's URL fragment writes it (web/slicer.js ``encodePart``):
    encodeURIComponent with '~' escaped too, and '~' alone for the blank name."""
    return quote(name, safe="-_.!*'()").replace("~", "%7E") if name else "~"


def write_slice_data(step: EtlStep, reports_dir: Path, data_hash: str, force: bool) -> bool:
    """The overview filters' data (slices.py) as a script beside the page, rebuilt only when
    the data changed. Returns True when it was (re)written."""
    from support_analytics.report import slices, website

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


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def job_key(job: NotebookJob, data_hash: str) -> str:
    """What a page depends on: data (manifest hash), template content, parameters, tool."""
    payload = {
        "data": data_hash,
        "template": file_hash(job.template),
        "parameters": job.parameters,
        "tool": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()[:16]


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


class RunningKernels:
    """The kernels of the notebooks being executed, so that Ctrl-C can stop them: Jupyter
    starts each kernel in a session of its own, out of reach of the terminal's Ctrl-C, and
    papermill would otherwise run every notebook to its end before the report could exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._managers: list[Any] = []

    def manager(self, kernel_name: str) -> Any:
        """A kernel manager for one notebook, remembered until :meth:`kill_all`."""
        # the asynchronous manager, as nbclient's default: with a blocking one its client
        # waits on the dead kernel's output forever instead of noticing the death
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=kernel_name)
        with self._lock:
            self._managers.append(km)
        return km

    def kill_all(self) -> int:
        """SIGKILL every kernel started so far (papermill then fails its notebook at once);
        returns how many were running."""
        # the deaths are ours: papermill's logger need not report each as an error
        logging.getLogger("papermill").disabled = True
        killed = 0
        with self._lock:
            managers = list(self._managers)
        for km in managers:
            process = getattr(getattr(km, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                process.kill()
                killed += 1
        return killed


def execute_job(
    job: NotebookJob,
    reports_dir: Path,
    kernel_name: str = config.REPORT_KERNEL,
    timeout: int = config.REPORT_CELL_TIMEOUT,
    kernels: RunningKernels | None = None,
) -> float:
    """Execute one notebook into a temp file, then replace the report (atomic on success).
    ``kernels`` collects its kernel so the caller can stop it."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    engine = {} if kernels is None else {"km": kernels.manager(kernel_name)}
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
            **engine,
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
