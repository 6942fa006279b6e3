"""The site is published whole, by one report at a time (``report/render.py``).

Quick tests drive the recovery and the lock directly. The slow ones run the real console
script on a fixture project: two reports at once, and reports interrupted with SIGINT and with
SIGKILL at seeded moments of the render; after each, the project root holds none of Quarto's
files, ``_site`` is a complete site that the next run judges correctly, and Chromium finds
its pages clean (the checks of ``report/browser.py``).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runner import run_cli
from conftest import REPO, report_inputs
from filelock import FileLock

from support_analytics import config
from support_analytics.report import browser as sb
from support_analytics.report import render
from support_analytics.report.site import plan_render

SCRIPT = Path(sys.executable).with_name("support-analytics")
#: What Quarto leaves beside the sources when it renders in the project itself.
QUARTO_LEFTOVERS = ("index.html", "about.html", "search.json", "site_libs", "*_files")
PAGES = ("index.html", "about.html", "reports/overview.html", "reports/data-quality.html")
#: How long the first full render took on this machine: the interruptions fall inside it.
RENDER_SECONDS: list[float] = []


def _site(root: Path, text: str) -> Path:
    site = root / text
    (site / "reports").mkdir(parents=True)
    (site / "index.html").write_text(text)
    return site


# --- recovery, swap and lock, without Quarto --------------------------------------------------
def test_a_kill_between_the_two_renames_gets_the_previous_site_back(tmp_path: Path) -> None:
    _site(tmp_path, config.SITE_PREVIOUS_NAME)
    said = render.recover_site(tmp_path)
    assert (tmp_path / "_site" / "index.html").read_text() == config.SITE_PREVIOUS_NAME
    assert not (tmp_path / config.SITE_PREVIOUS_NAME).exists()
    assert said is not None and "put back the previous" in said


def test_a_kill_after_the_swap_drops_the_old_copy_and_stale_staging(tmp_path: Path) -> None:
    _site(tmp_path, "_site")
    _site(tmp_path, config.SITE_PREVIOUS_NAME)
    _site(tmp_path, config.SITE_STAGING_PREFIX + "abc123")
    assert render.recover_site(tmp_path) is None
    assert (tmp_path / "_site" / "index.html").read_text() == "_site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


def test_a_failed_swap_keeps_the_previous_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _site(tmp_path, "_site")
    staged = _site(tmp_path, "staged")
    real_rename, calls = os.rename, []

    def rename(src: Path, dst: Path) -> None:
        calls.append(src)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(render.os, "rename", rename)
    progress = render.RenderProgress()
    with pytest.raises(OSError):
        render.swap_in(staged, tmp_path, progress)
    assert (tmp_path / "_site" / "index.html").read_text() == "_site"
    assert not progress.published


def test_staging_takes_the_site_files_and_pages_but_not_failed_copies(tmp_path: Path) -> None:
    root, staging = tmp_path / "root", tmp_path / "staging"
    for name in ("_quarto.yml", "reports/overview.ipynb", "reports/overview.slices.js",
                 "reports/.report-state.json", "reports/failed/overview.ipynb",
                 "data/cleaned_calls.parquet", "_site/index.html"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    staging.mkdir()
    render.stage_project(root, staging, with_site=False)
    found = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    assert found == ["_quarto.yml", "reports/overview.ipynb", "reports/overview.slices.js"]


def _args(root: Path, *extra: str) -> list[str]:
    paths = [a for k, v in report_inputs(root).items() for a in (f"--{k}", str(v))]
    return ["report", "--root", str(root), *paths, *extra]


def test_a_second_report_refuses_in_one_line_with_lock_wait_0(project: Path) -> None:
    with FileLock(str(project / config.REPORT_LOCK_NAME)):
        proc = run_cli(_args(project, "--lock-wait", "0"), project.parent / "log")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "another report is running" in proc.stderr
    assert not (project / "data").exists()  # no work done


def test_a_second_report_waits_then_gives_up_after_lock_wait(project: Path) -> None:
    with FileLock(str(project / config.REPORT_LOCK_NAME)):
        started = time.monotonic()
        proc = run_cli(_args(project, "--lock-wait", "1.5"), project.parent / "log")
        waited = time.monotonic() - started
    assert proc.returncode == 2 and waited >= 1.5
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("waiting for another report in ")
    assert lines[1].startswith("error: ") and "still running after 1.5s" in lines[1]
    assert len(lines) == 2 and not (project / "data").exists()


# --- the real thing -----------------------------------------------------------------------
needs_quarto = pytest.mark.skipif(
    shutil.which("quarto") is None, reason="quarto is not on PATH (see tests/conftest.py)"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with its data, notebooks and site built once by the real console script."""
    root = tmp_path_factory.mktemp("render") / "project"
    root.mkdir()
    for name in config.SITE_FILES:
        shutil.copy(REPO / name, root / name)
    proc = _start(root)
    assert proc.wait(timeout=300) == 0, _err(proc)
    found = re.search(r"site: rendered the whole site into .* in ([0-9.]+)s", _err(proc))
    assert found, _err(proc)
    RENDER_SECONDS.append(float(found.group(1)))
    return root


def _start(root: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "QUARTO_PYTHON": sys.executable}
    err = open(root.parent / f"stderr.{time.monotonic_ns()}", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(SCRIPT), *_args(root, *extra)], stdout=subprocess.DEVNULL, stderr=err, env=env
    )
    proc.err_file = err  # type: ignore[attr-defined]
    return proc


def _err(proc: subprocess.Popen) -> str:
    proc.err_file.seek(0)  # type: ignore[attr-defined]
    return proc.err_file.read()  # type: ignore[attr-defined]


def _mark(root: Path, n: int) -> str:
    """Change a site file (the About page), so the next report renders the whole site."""
    text = f"Build marker {n}."
    with open(root / "about.qmd", "a", encoding="utf-8") as fh:
        fh.write(f"\n\n{text}\n")
    return text


def _wait_for_render(root: Path, proc: subprocess.Popen) -> None:
    """Until the run's staging copy exists: it holds the lock and Quarto is starting."""
    deadline = time.monotonic() + 120
    while not list(root.glob(config.SITE_STAGING_PREFIX + "*")):
        assert proc.poll() is None, _err(proc)
        assert time.monotonic() < deadline, "the render never started"
        time.sleep(0.05)


def _assert_no_leftovers(root: Path) -> None:
    found = [p.name for pattern in QUARTO_LEFTOVERS for p in root.glob(pattern)]
    assert found == [], f"Quarto's files in the project root: {found}"


def _assert_complete(root: Path) -> None:
    site = root / config.SITE_DIR.name
    missing = [p for p in PAGES if not (site / p).is_file()]
    assert missing == [], missing
    assert (site / config.RENDER_STATE_NAME).is_file()
    assert (site / "site_libs" / "support-analytics" / "plotly.min.js").is_file()


def _assert_overview_works(chromium, root: Path) -> None:
    """Plotly loaded, the filters ready, no console error: the post-render step ran."""
    overview = root / config.SITE_DIR.name / "reports" / "overview.html"
    report = sb.PageReport(overview.as_uri(), "desktop")
    page = sb.open_page(chromium, overview.as_uri(), "desktop", report)
    try:
        page.wait_for_selector(".sa-slicer[data-sa-ready]", timeout=20_000)
        assert page.evaluate("() => typeof Plotly") == "object"
        assert page.evaluate("() => document.querySelectorAll('.sa-pick').length") >= 2
    finally:
        page.context.close()
    assert report.all_problems() == []


@pytest.mark.slow
@needs_quarto
def test_two_reports_at_once_one_waits_and_the_site_is_whole(built: Path, chromium) -> None:
    marker = _mark(built, 1)
    first = _start(built)
    _wait_for_render(built, first)
    second = _start(built)
    refused = _start(built, "--lock-wait", "0")
    assert refused.wait(timeout=60) == 2
    assert _err(refused).strip().count("\n") == 0  # one line
    assert "another report is running" in _err(refused)
    assert first.wait(timeout=180) == 0, _err(first)
    assert second.wait(timeout=60) == 0, _err(second)
    assert "waiting for another report in " in _err(second)
    assert "is up to date" in _err(second)  # it saw the first one's site, complete
    _assert_no_leftovers(built)
    _assert_complete(built)
    assert marker in (built / "_site" / "about.html").read_text(encoding="utf-8")
    assert plan_render(built) == []
    _assert_overview_works(chromium, built)


@pytest.mark.slow
@needs_quarto
def test_interrupted_renders_leave_a_whole_site_the_next_run_judges_right(
    built: Path, chromium
) -> None:
    """Three seeded moments of the render (as a share of how long the first render took:
    10-20 s on the shared 2-core machine), two with SIGINT (as `kill -INT`, so only the
    report process gets it) and one with SIGKILL."""
    rng = random.Random(19)
    signals = (signal.SIGINT, signal.SIGKILL, signal.SIGINT)
    moments = [(sig, round(rng.uniform(0.02, 0.6) * RENDER_SECONDS[0], 2)) for sig in signals]
    outcomes = []
    for n, (sig, delay) in enumerate(moments, start=10):
        marker = _mark(built, n)
        proc = _start(built)
        _wait_for_render(built, proc)
        time.sleep(delay)
        proc.send_signal(sig)
        sent = time.monotonic()
        code = proc.wait(timeout=60)
        stopped_in = time.monotonic() - sent
        where = f"{sig.name} after {delay}s"
        outcomes.append(code)
        if sig == signal.SIGINT:
            assert code in (130, 0), (where, _err(proc))
            if code == 130:
                assert stopped_in < 10, where  # promptly
                last = _err(proc).strip().splitlines()[-1]
                assert last.startswith("interrupted; "), (where, last)
                assert "site" in last and "ETL" not in last, (where, last)
        else:
            assert code in (-signal.SIGKILL, 0), (where, _err(proc))
        _assert_no_leftovers(built)
        render.recover_site(built)  # what the next run does first, under the lock
        _assert_complete(built)
        about = (built / "_site" / "about.html").read_text(encoding="utf-8")
        # the next run knows which site it has: up to date exactly when the new one got in
        assert (plan_render(built) == []) == (marker in about), where
        _assert_overview_works(chromium, built)
    # the moments fell inside the render, not after it
    assert 130 in outcomes and -signal.SIGKILL in outcomes, outcomes
    final = _start(built)
    assert final.wait(timeout=180) == 0, _err(final)
    _assert_no_leftovers(built)
    _assert_complete(built)
    assert list(built.glob(config.SITE_STAGING_PREFIX + "*")) == []
    assert not (built / config.SITE_PREVIOUS_NAME).exists()
    assert marker in (built / "_site" / "about.html").read_text(encoding="utf-8")
    problems = []
    for page in PAGES:
        report = sb.inspect(chromium, built / "_site" / page, "desktop")
        problems += [f"{page}: {p}" for p in report.all_problems()]
    assert problems == []


@pytest.mark.slow
@needs_quarto
def test_ctrl_c_stops_the_notebooks_at_once_and_keeps_the_previous_pages(built: Path) -> None:
    """Jupyter starts kernels in a session of their own, so Ctrl-C used to let every notebook
    run to its end before the report exited."""
    reports = built / config.REPORTS_DIR.name
    before = {p.name: p.read_bytes() for p in reports.glob("*.ipynb")}
    site_state = (built / "_site" / config.RENDER_STATE_NAME).read_bytes()
    proc = _start(built, "--force")
    deadline = time.monotonic() + 120
    while not list(reports.glob(".*.running.ipynb")):  # papermill has started a notebook
        assert proc.poll() is None and time.monotonic() < deadline, _err(proc)
        time.sleep(0.05)
    time.sleep(random.Random(7).uniform(0.5, 2.0))
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    assert proc.wait(timeout=60) == 130, _err(proc)
    assert time.monotonic() - sent < 5
    last = _err(proc).strip().splitlines()[-1]
    assert last.startswith("interrupted; notebook kernels stopped"), last
    assert {p.name: p.read_bytes() for p in reports.glob("*.ipynb")} == before
    assert not list(reports.glob(".*.running.ipynb"))
    assert (built / "_site" / config.RENDER_STATE_NAME).read_bytes() == site_state
    _assert_no_leftovers(built)
