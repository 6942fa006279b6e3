"""Two ETL runs on one output at once: the lock serializes them, the loser is told why.

The first run is a real CLI process paused inside its commit (holding the lock) at a known
moment; the second is a separate ``support-analytics`` process started meanwhile.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
from cli_runner import SCRIPT, run_cli, start_cli

from support_analytics.simulate import simulate


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("concurrency")
    a = simulate(root / "A", calls=300, dirty_rate=0.05, seed=1, progress=False)
    b = simulate(root / "B", calls=300, dirty_rate=0.05, seed=2, progress=False)
    return {"A": a.calls_path, "B": b.calls_path, "agents": a.agents_path}


def etl_argv(inputs: dict[str, Path], gen: str, out: Path, *extra: str) -> list[str]:
    return [
        "etl", "--calls", str(inputs[gen]), "--agents", str(inputs["agents"]),
        "--output", str(out / "c.parquet"), "--manifest", str(out / "m.json"),
        "--rejects", str(out / "r.jsonl"), *extra,
    ]  # fmt: skip


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.fixture
def holder(inputs: dict[str, Path], tmp_path: Path) -> Iterator[tuple[BaseProcess, Path]]:
    """A run on set A paused before its commit record, holding the output lock."""
    out, release = tmp_path / "out", tmp_path / "release"
    proc, _, err = start_cli(
        etl_argv(inputs, "A", out, "--quiet"), tmp_path / "logs", 1, resume_when=release
    )
    wait_for(Path(f"{release}.paused"))
    yield proc, release
    release.touch()
    proc.join(60)
    assert proc.exitcode == 0, err.read_text()


def second_run(*argv: str) -> subprocess.Popen[str]:
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "support_analytics"]
    return subprocess.Popen(
        [*exe, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_lock_wait_0_makes_the_second_run_fail_with_one_line(
    inputs: dict[str, Path], tmp_path: Path, holder: tuple[BaseProcess, Path]
) -> None:
    proc = second_run(*etl_argv(inputs, "B", tmp_path / "out", "--quiet", "--lock-wait", "0"))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    [line] = stderr.splitlines()
    assert line.startswith("error: ") and "another ETL run is writing it" in line


def test_lock_wait_timeout_names_the_wait(
    inputs: dict[str, Path], tmp_path: Path, holder: tuple[BaseProcess, Path]
) -> None:
    proc = second_run(*etl_argv(inputs, "B", tmp_path / "out", "--quiet", "--lock-wait", "1"))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert stderr.splitlines() == [
        line for line in stderr.splitlines() if "still locked by another ETL run after 1s" in line
    ]


def test_waiting_run_says_so_then_runs_after_the_first(
    inputs: dict[str, Path], tmp_path: Path, holder: tuple[BaseProcess, Path]
) -> None:
    out = tmp_path / "out"
    first, release = holder
    log = tmp_path / "second.err"
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "support_analytics"]
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*exe, *etl_argv(inputs, "B", out)], stdout=subprocess.PIPE, stderr=err, text=True
        )
        deadline = time.monotonic() + 60
        while "waiting for another ETL run" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
        release.touch()
        first.join(60)
        stdout, _ = proc.communicate(timeout=60)
    assert first.exitcode == 0 and proc.returncode == 0, log.read_text()
    assert "rows in" in stdout  # it did its own run after the first one finished
    manifest = json.loads((out / "m.json").read_text())
    assert manifest["inputs"]["calls"]["path"] == str(inputs["B"])
    verified = run_cli(
        ["verify", "--output", str(out / "c.parquet"), "--manifest", str(out / "m.json"),
         "--rejects", str(out / "r.jsonl")],
        tmp_path / "logs",
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr


def test_a_spark_run_takes_the_same_lock(
    inputs: dict[str, Path], tmp_path: Path, holder: tuple[BaseProcess, Path]
) -> None:
    # Refused at the lock, before any Spark session starts: no JVM needed.
    argv = etl_argv(inputs, "B", tmp_path / "out", "--quiet", "--engine", "spark")
    proc = second_run(*argv, "--lock-wait", "0")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2
    [line] = stderr.splitlines()
    assert line.startswith("error: ") and "another ETL run is writing it" in line
