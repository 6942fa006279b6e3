"""Timing a command the way every benchmark here does: wall seconds and the kernel's peak RSS.

One process per measurement (``os.wait4`` reports the peak RSS of the child and of the
processes it waited for), so contenders never share a warm interpreter or memory.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one command; exits with its stderr when it fails."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty child cannot block
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.read().decode()}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB
