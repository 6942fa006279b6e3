"""Run the real console script many times without paying for its imports each time.

``support-analytics`` (the script next to sys.executable) is executed with runpy in a process
forked from a multiprocessing *forkserver* that has already imported the package. Exit code,
stdout and stderr are those of the script itself; only the ~1 s of imports is shared. This
keeps a 70-case CLI corpus and a crash loop of real, killable processes inside the time budget
on a 2-core machine. Not a test module (no ``test_`` prefix); the tests import it.
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("support-analytics")
_PRELOAD = ["support_analytics.cli", "support_analytics.etl", "pyarrow.parquet"]
_context: ForkServerContext | None = None
_STATUS_LOST = 255  # popen_forkserver's returncode when the status could not be read


def _ctx() -> ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_PRELOAD)
    return _context


def _stop_before_step(step: int, resume_when: str | None) -> None:
    """Child only: stop just before this process's ``step``-th file commit operation.

    Commit operations are the renames that publish files (``os.replace``, counted from 1) and,
    as the last step, the removal of the run's work dir (``shutil.rmtree``). Enumerating
    ``step`` = 1, 2, ... reaches every boundary of the commit sequence. Without
    ``resume_when`` the process SIGKILLs itself there; with it, it waits (holding the output
    lock) until that file exists, so a test can start a second run at a known moment.
    """
    import shutil
    import signal
    import time

    calls = {"n": 0}
    real_replace, real_rmtree = os.replace, shutil.rmtree

    def tick() -> None:
        calls["n"] += 1
        if calls["n"] != step:
            return
        if resume_when is None:
            os.kill(os.getpid(), signal.SIGKILL)
        Path(resume_when + ".paused").touch()
        while not os.path.exists(resume_when):
            time.sleep(0.02)

    def replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
        tick()
        real_replace(src, dst, *args, **kwargs)

    def rmtree(path: object, *args: object, **kwargs: object) -> None:
        if str(path).endswith(".work"):
            tick()
        real_rmtree(path, *args, **kwargs)

    os.replace = replace  # type: ignore[assignment]
    shutil.rmtree = rmtree  # type: ignore[assignment]


def _console_script(
    argv: list[str],
    out_path: str,
    err_path: str,
    stop_at_step: int | None = None,
    resume_when: str | None = None,
) -> None:
    """Child: point fds 1 and 2 at files, then run the console script as __main__."""
    if stop_at_step is not None:
        _stop_before_step(stop_at_step, resume_when)
    for fd, path in ((1, out_path), (2, err_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = [str(SCRIPT), *argv]
    if SCRIPT.exists():
        runpy.run_path(str(SCRIPT), run_name="__main__")
    else:  # an install without the script: the same main()
        runpy.run_module("support_analytics", run_name="__main__", alter_sys=True)


def start_cli(
    argv: list[str],
    log_dir: Path,
    stop_at_step: int | None = None,
    resume_when: Path | None = None,
) -> tuple[BaseProcess, Path, Path]:
    """Start the console script with ``argv``; returns the process and its stdout/stderr.

    ``stop_at_step``: SIGKILL (or, with ``resume_when``, pause) before that commit step;
    a paused run touches ``<resume_when>.paused`` and goes on once ``resume_when`` exists.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    fd, out = tempfile.mkstemp(prefix="stdout.", dir=log_dir)
    os.close(fd)
    fd, err = tempfile.mkstemp(prefix="stderr.", dir=log_dir)
    os.close(fd)
    proc = _ctx().Process(
        target=_console_script,
        args=(argv, out, err, stop_at_step, None if resume_when is None else str(resume_when)),
        daemon=True,
    )
    proc.start()
    return proc, Path(out), Path(err)


def run_cli(
    argv: list[str], log_dir: Path, timeout: float = 120, kill_at_step: int | None = None
) -> subprocess.CompletedProcess:
    """Run the console script to the end, like ``subprocess.run(capture_output=True)``."""
    proc, out, err = start_cli(argv, log_dir, kill_at_step)
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        raise subprocess.TimeoutExpired([str(SCRIPT), *argv], timeout)
    if proc.exitcode == _STATUS_LOST and kill_at_step is None:
        # The forkserver could not hand back the child's status (multiprocessing reports
        # 255 then); seen once under CI load. Run the same command as a plain process.
        exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "support_analytics"]
        return subprocess.run(
            [*exe, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )
    return subprocess.CompletedProcess(
        [str(SCRIPT), *argv],
        proc.exitcode,
        out.read_text(encoding="utf-8", errors="replace"),
        err.read_text(encoding="utf-8", errors="replace"),
    )
