"""Timing a command the way every benchmark here does: wall seconds and the kernel's peak RSS.

One process per measurement (``os.wait4`` reports the peak RSS of the child and of the
processes it waited for), so contenders never share a warm interpreter or memory.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One run: wall seconds, peak RSS (MiB) and CPU seconds (user + system, all threads).

    CPU seconds hold still when the machine is busy with other work, where wall time does
    not: on a shared 2-core machine they are the steadier basis for a ratio.
    """

    seconds: float
    peak_mib: float
    cpu_seconds: float


def measure(cmd: list[str], cwd: Path | None = None) -> Measured:
    """Run one command in its own process; exits with its stderr when it fails."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty child cannot block
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.read().decode()}")
    # Linux reports KiB
    return Measured(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one command."""
    m = measure(cmd, cwd)
    return m.seconds, m.peak_mib
