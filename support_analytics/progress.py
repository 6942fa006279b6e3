"""Progress for long work: a redrawn bar on a terminal, plain timestamped lines in logs/CI."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _human(n: float) -> str:
    for unit in ("", "k", "M", "G"):
        if abs(n) < 1000:
            return f"{n:,.0f}{unit}" if unit == "" else f"{n:.1f}{unit}"
        n /= 1000
    return f"{n:.1f}T"


class Progress:
    """Counts rows (and optionally bytes against a known total) and reports the rate.

    On a TTY it redraws one line at most 10 times a second; elsewhere it prints a plain line
    every ``log_every`` seconds so that CI logs stay short but still show the job is alive.
    """

    def __init__(
        self,
        label: str,
        total_bytes: int | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        log_every: float = 5.0,
    ) -> None:
        self.label = label
        self.total_bytes = total_bytes
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.1 if self.tty else log_every
        self.rows = 0
        self.bytes = 0
        self.started = time.perf_counter()
        self._last = self.started

    def update(self, rows: int = 0, nbytes: int = 0) -> None:
        self.rows += rows
        self.bytes += nbytes
        now = time.perf_counter()
        if self.enabled and now - self._last >= self.interval:
            self._last = now
            self._draw(now)

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        parts = [f"{self.label}: {_human(self.rows)} rows", f"{_human(self.rows / elapsed)} rows/s"]
        if self.total_bytes:
            share = min(self.bytes / self.total_bytes, 1.0)
            if self.tty:
                filled = int(share * 24)
                parts.insert(0, f"[{'#' * filled}{'.' * (24 - filled)}] {share:6.1%}")
            else:
                parts.insert(0, f"{share:6.1%}")
        parts.append(f"{elapsed:.1f}s")
        return "  ".join(parts)

    def _draw(self, now: float) -> None:
        line = self._line(now)
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> float:
        """Finish the bar (a TTY gets its newline) and return the elapsed seconds."""
        now = time.perf_counter()
        if self.enabled and self.tty and now - self.started >= self.interval:
            self._draw(now)
            self.stream.write("\n")
            self.stream.flush()
        return now - self.started
