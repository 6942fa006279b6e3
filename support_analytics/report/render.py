"""Publishing the site: one report at a time per project folder, Quarto in a staging copy of
the project, and a swap that leaves the previous complete site or the new one.

Rendered in place, Quarto first writes each page, its ``*_files/`` and ``site_libs/`` beside
the sources, then moves them into ``_site/`` (emptying it first on a full render). A second
run, a Ctrl-C or a kill in the middle left those files in the project root and a half-made
``_site/`` that the up-to-date check then trusted. Here:

1. ``report_lock``: a second ``report`` on the same folder waits (saying so) or, with
   ``--lock-wait``, gives up in one line. Nothing interleaves.
2. ``render_site``: the site's files (``config.SITE_FILES``, the generated navbar and the
   executed pages) are copied into ``<root>/.site-staging-XXXX/``; Quarto renders there, the
   post-render step runs there, and the render state is written last, inside the staged site.
3. The staged ``_site`` is swapped in by two renames (the old one to ``.site-previous``, the new
   one into place) with SIGINT/SIGTERM held back, then the old one is deleted.
4. ``recover_site`` (the next run, under the lock) finishes what a kill between those renames
   left: no ``_site`` but a ``.site-previous`` means the previous site goes back; both means
   the new one is in and the old copy is garbage. Stale staging copies are deleted.

So ``_site/`` is only ever a complete site, and its render state says what it was made from.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from support_analytics import config
from support_analytics.errors import LockedError, SupportAnalyticsError
from support_analytics.io.files import fsync_dir
from support_analytics.report import website
from support_analytics.report.site import QuartoMissingError, find_quarto, record_render


@dataclass
class RenderProgress:
    """How far a render got, for the message a Ctrl-C prints: ``published`` turns True in the
    same signal-free stretch as the swap."""

    staging: Path | None = None
    published: bool = False


# --------------------------------------------------------------------------------------------
# One report at a time
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def report_lock(root: Path, wait: float | None, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the project folder's report lock: a second run waits (one line said) until the
    first ends, or ``wait`` seconds (0: not at all), then fails with LockedError."""
    path = root / config.REPORT_LOCK_NAME
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait is not None and wait <= 0:
            raise LockedError(
                f"{root}: another report is running in this folder (lock {path}); try again "
                "when it finishes, or drop --lock-wait 0 to wait for it"
            ) from None
        limit = "" if wait is None else f" (up to {wait:g}s)"
        say(f"waiting for another report in {root} to finish{limit}...")
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise LockedError(
                f"{root}: another report is still running after {wait:g}s (lock {path}); "
                "try again later or raise --lock-wait"
            ) from None
    try:
        yield
    finally:
        lock.release()


def recover_site(root: Path) -> str | None:
    """Finish what a killed run left (call with the report lock held); returns what was done,
    for the progress output, or None when there was nothing to do."""
    site = root / config.SITE_DIR.name
    previous = root / config.SITE_PREVIOUS_NAME
    done = None
    if previous.exists():
        if site.exists():  # the swap finished: the old copy was not deleted yet
            shutil.rmtree(previous)
        else:  # killed between the two renames: the previous complete site goes back
            os.rename(previous, site)
            fsync_dir(root)
            done = (
                f"site: a run was stopped while swapping its site in; put back the previous {site}"
            )
    for stale in root.glob(config.SITE_STAGING_PREFIX + "*"):
        # a killed run's copy; its Quarto may still be finishing, hence ignore_errors
        shutil.rmtree(stale, ignore_errors=True)
    return done


# --------------------------------------------------------------------------------------------
# The staged render
# --------------------------------------------------------------------------------------------
def render_site(
    root: Path,
    pages: Sequence[str] | None = None,
    progress: RenderProgress | None = None,
) -> float:
    """Render the site (only ``pages``, reports/<name>.ipynb, when given) in a staging copy
    of the project, apply the post-render step there, record the render state, and swap the
    finished site in. QuartoMissingError when Quarto is not installed."""
    quarto = find_quarto()
    if quarto is None:
        raise QuartoMissingError(
            f"notebooks are in {root / config.REPORTS_DIR.name}, but the site was not rendered: "
            f"quarto is not on PATH; install it with {config.QUARTO_INSTALL_HINT} and rerun"
        )
    progress = progress if progress is not None else RenderProgress()
    started = time.perf_counter()
    root = Path(root)
    staging = Path(tempfile.mkdtemp(prefix=config.SITE_STAGING_PREFIX, dir=root))
    progress.staging = staging
    try:
        stage_project(root, staging, with_site=pages is not None)
        # Quarto runs the site's post-render hook with its Python: this environment's, which
        # has support_analytics, unless the user chose another.
        env = {**os.environ, "QUARTO_PYTHON": os.environ.get("QUARTO_PYTHON", sys.executable)}
        reports = config.REPORTS_DIR.name
        targets = [[]] if pages is None else [[f"{reports}/{p}.ipynb"] for p in pages]
        for target in targets:
            run_quarto([quarto, "render", *target], staging, env)
        staged_site = staging / config.SITE_DIR.name
        # Quarto runs the hook on full renders; a page rendered alone is fixed here (idempotent).
        website.post_render(staged_site)
        record_render(staging)
        swap_in(staged_site, root, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return time.perf_counter() - started


def stage_project(root: Path, staging: Path, with_site: bool) -> None:
    """Copy what the site is made of into ``staging``: the site files, the generated navbar,
    the executed pages and their companion files (not reports/failed/), and, for a render of
    some pages only, the current site that the other pages come from."""
    for name in (*config.SITE_FILES, config.SITE_META_NAME):
        if (root / name).is_file():
            shutil.copy2(root / name, staging / name)
    reports = root / config.REPORTS_DIR.name
    (staging / reports.name).mkdir()
    if reports.is_dir():
        for path in reports.iterdir():
            if path.is_file() and not path.name.startswith("."):
                shutil.copy2(path, staging / reports.name / path.name)
    site = root / config.SITE_DIR.name
    if with_site and site.is_dir():
        shutil.copytree(site, staging / site.name, symlinks=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: Quarto (bash exec'ing deno) is killed when the report process dies, even by
    SIGKILL, instead of rendering on into a staging copy nobody will publish."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_quarto(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run Quarto in a process group of its own, killed as a whole on Ctrl-C or an error (its
    deno, pandoc and Python hook included); a failure raises with the output's tail."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    try:
        stdout, stderr = proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
        raise SupportAnalyticsError(f"quarto render failed (exit {proc.returncode}):\n{tail}")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (they are delivered right after)."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def swap_in(staged_site: Path, root: Path, progress: RenderProgress) -> None:
    """Replace ``root/_site`` by the complete ``staged_site``: two renames, so a kill between
    them leaves ``.site-previous`` for :func:`recover_site` to put back."""
    site = root / config.SITE_DIR.name
    previous = root / config.SITE_PREVIOUS_NAME
    if previous.exists():  # a leftover the lock holder's recovery did not see (render_site alone)
        shutil.rmtree(previous)
    with _signals_held():
        had_site = site.exists()
        if had_site:
            os.rename(site, previous)
        try:
            os.rename(staged_site, site)
        except BaseException:
            if had_site:
                os.rename(previous, site)
            raise
        fsync_dir(root)
        progress.published = True
    shutil.rmtree(previous, ignore_errors=True)
