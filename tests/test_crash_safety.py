"""Crash safety: SIGKILL the real CLI at random moments and at every commit step.

A *set* is the Parquet, the rejects file and the manifest of one run. After any kill, what a
reader gets through the tool (any next ``etl``, ``verify`` or ``report``, which first replay
an interrupted commit) is the previous complete set or the new one, and the run after
recovers with no manual step. Also: outputs changed behind the manifest's back are caught.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from cli_runner import run_cli, start_cli

from support_analytics.etl import run_etl
from support_analytics.io.files import file_sha256
from support_analytics.simulate import simulate

RANDOM_KILLS = 24
SEED = 20261126


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two small inputs, A and B, and the rows a complete set of each must hold."""
    root = tmp_path_factory.mktemp("crash_data")
    data: dict[str, Any] = {}
    for gen, seed in (("A", 1), ("B", 2)):
        summary = simulate(root / gen, calls=1000, dirty_rate=0.05, seed=seed, progress=False)
        data[gen] = {"calls": summary.calls_path}
    data["agents"] = root / "A" / "agents.csv"
    for gen in ("A", "B"):
        ref = root / f"ref_{gen}"
        result = run_etl(
            data[gen]["calls"], data["agents"], ref / "c.parquet", ref / "m.json",
            ref / "r.jsonl", progress=False,
        )  # fmt: skip
        data[gen]["calls_sha"] = result.manifest["inputs"]["calls"]["sha256"]
        data[gen]["rows"] = result.manifest["rows"]
    return data


def etl_argv(data: dict[str, Any], gen: str, out: Path, *extra: str) -> list[str]:
    return [
        "etl", "--quiet", "--calls", str(data[gen]["calls"]), "--agents", str(data["agents"]),
        "--output", str(out / "c.parquet"), "--manifest", str(out / "m.json"),
        "--rejects", str(out / "r.jsonl"), *extra,
    ]  # fmt: skip


def verify_argv(out: Path) -> list[str]:
    return [
        "verify", "--output", str(out / "c.parquet"), "--manifest", str(out / "m.json"),
        "--rejects", str(out / "r.jsonl"),
    ]  # fmt: skip


def state(data: dict[str, Any], out: Path) -> str:
    """'A' or 'B' when the three files form that run's complete set, else 'mixed'."""
    try:
        manifest = json.loads((out / "m.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mixed"
    gens = [g for g in ("A", "B") if data[g]["calls_sha"] == manifest["inputs"]["calls"]["sha256"]]
    if len(gens) != 1:
        return "mixed"
    rows = data[gens[0]]["rows"]
    parquet, rejects = out / "c.parquet", out / "r.jsonl"
    complete = (
        manifest["rows"] == rows
        and file_sha256(parquet) == manifest["output"]["sha256"]
        and file_sha256(rejects) == manifest["rejects"]["sha256"]
        and pq.read_metadata(parquet).num_rows == rows["output"]
        and len(rejects.read_bytes().splitlines()) == sum(rows["rejected"].values())
    )
    return gens[0] if complete else "mixed"


def work_dirs(out: Path) -> list[Path]:
    return sorted(out.glob(".c.parquet.*.work"))


def committed_work_dirs(out: Path) -> list[Path]:
    return [d for d in work_dirs(out) if (d / "commit.json").exists()]


def other(gen: str) -> str:
    return "B" if gen == "A" else "A"


# --- random kills ------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_the_previous_or_the_new_set(
    datasets: dict[str, Any], tmp_path: Path
) -> None:
    out, logs = tmp_path / "out", tmp_path / "logs"
    rng = random.Random(SEED)
    assert run_cli(etl_argv(datasets, "A", out), logs).returncode == 0
    started = time.perf_counter()  # a warm, uncut run sets the range of kill times
    assert run_cli(etl_argv(datasets, "B", out, "--force"), logs).returncode == 0
    assert run_cli(etl_argv(datasets, "A", out), logs).returncode == 0
    run_seconds = (time.perf_counter() - started) / 2
    prev, kills, tally = "A", 0, Counter()
    for _ in range(3 * RANDOM_KILLS):
        if kills >= RANDOM_KILLS:
            break
        target = other(prev)
        launched = time.perf_counter()
        proc, _, _ = start_cli(etl_argv(datasets, target, out), logs)
        # Half the kills anywhere in the run, half near its end where the commit happens.
        late = rng.random() < 0.5
        time.sleep(run_seconds * (rng.uniform(0.7, 1.05) if late else rng.uniform(0, 0.9)))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        if proc.exitcode != -signal.SIGKILL:
            # It finished first: not a crash. The kill times came from one timed run; when the
            # machine was busy during that run, every later run finished before its kill and
            # the test ran out of attempts (the flaky failure "only 10 of the runs were
            # killed"). Runs that beat their kill now shorten the estimate.
            run_seconds = min(run_seconds, 0.9 * (time.perf_counter() - launched))
            continue
        kills += 1
        raw = state(datasets, out)
        if raw not in (prev, target):  # only inside a recorded commit, replayed below
            assert committed_work_dirs(out), f"kill {kills}: mixed set and no commit record"
            tally["mid-publish, replayed"] += 1
        verified = run_cli(verify_argv(out), logs)
        assert verified.returncode == 0, verified.stderr
        now = state(datasets, out)
        assert now in (prev, target), f"kill {kills}: {now}"
        tally["previous set kept" if now == prev else "new set committed"] += 1
        assert work_dirs(out) == []
        prev = now
    assert kills >= 20, f"only {kills} of the runs were killed before finishing"
    print(f"\ncrash loop: {kills} SIGKILLs survived: {dict(tally)}")
    final = run_cli(etl_argv(datasets, other(prev), out), logs)
    assert final.returncode == 0, final.stderr
    assert state(datasets, out) == other(prev) and work_dirs(out) == []


# --- a kill at every commit step ---------------------------------------------------------------
# Steps of a run on top of set A: 1 commit record, 2 Parquet, 3 rejects, 4 manifest, 5 cleanup.
RAW_AFTER_KILL = {1: "A", 2: "A", 3: "mixed", 4: "mixed", 5: "B"}
# Whether a commit record is left for the next run to replay (removed once published).
RECORD_AFTER_KILL = {1: False, 2: True, 3: True, 4: True, 5: False}


@pytest.mark.slow
@pytest.mark.parametrize("step", sorted(RAW_AFTER_KILL))
def test_sigkill_at_each_commit_step_is_recovered_by_the_next_run(
    datasets: dict[str, Any], tmp_path: Path, step: int
) -> None:
    out, logs = tmp_path / "out", tmp_path / "logs"
    assert run_cli(etl_argv(datasets, "A", out), logs).returncode == 0
    killed = run_cli(etl_argv(datasets, "B", out), logs, kill_at_step=step)
    assert killed.returncode == -signal.SIGKILL
    assert state(datasets, out) == RAW_AFTER_KILL[step]
    assert bool(committed_work_dirs(out)) == RECORD_AFTER_KILL[step]
    rerun = run_cli(etl_argv(datasets, "B", out), logs)
    assert rerun.returncode == 0, rerun.stderr
    assert state(datasets, out) == "B" and work_dirs(out) == []
    # From step 2 on the commit was recorded: the rerun replays it instead of recomputing.
    assert ("up to date" in rerun.stdout) == (step > 1)


@pytest.mark.slow
def test_sigkill_during_the_replay_is_replayed_again(
    datasets: dict[str, Any], tmp_path: Path
) -> None:
    out, logs = tmp_path / "out", tmp_path / "logs"
    assert run_cli(etl_argv(datasets, "A", out), logs).returncode == 0
    assert run_cli(etl_argv(datasets, "B", out), logs, kill_at_step=3).returncode == -9
    # The next run's first rename is the replay moving the rejects file: kill it there.
    assert run_cli(etl_argv(datasets, "B", out), logs, kill_at_step=1).returncode == -9
    assert state(datasets, out) == "mixed" and committed_work_dirs(out)
    verified = run_cli(verify_argv(out), logs)
    assert verified.returncode == 0, verified.stderr
    assert state(datasets, out) == "B" and work_dirs(out) == []


def test_error_while_publishing_is_finished_by_the_next_run(
    datasets: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    paths = (out / "c.parquet", out / "m.json", out / "r.jsonl")

    def run(gen: str) -> Any:
        return run_etl(
            datasets[gen]["calls"], datasets["agents"], paths[0], paths[1], paths[2],
            progress=False,
        )  # fmt: skip

    run("A")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("support_analytics.etl.commit.write_manifest", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run("B")
    assert state(datasets, out) == "mixed" and committed_work_dirs(out)
    monkeypatch.undo()
    assert run("B").up_to_date  # replayed, not recomputed
    assert state(datasets, out) == "B" and work_dirs(out) == []


def test_stale_work_dir_of_another_output_is_left_alone(
    datasets: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    foreign = out / ".c.parquet.x.abcdefgh.work"  # belongs to an output named c.parquet.x
    foreign.mkdir(parents=True)
    assert run_cli(etl_argv(datasets, "A", out), tmp_path / "logs").returncode == 0
    assert foreign.is_dir()


# --- outputs changed behind the manifest's back ------------------------------------------------
def _flip_a_byte(path: Path, keep_mtime: bool) -> None:
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.fixture
def fresh_output(datasets: dict[str, Any], tmp_path: Path) -> Path:
    out = tmp_path / "out"
    assert run_cli(etl_argv(datasets, "A", out), tmp_path / "logs").returncode == 0
    return out


def test_verify_passes_on_an_untouched_output(fresh_output: Path, tmp_path: Path) -> None:
    proc = run_cli(verify_argv(fresh_output), tmp_path / "logs")
    assert proc.returncode == 0 and proc.stdout.startswith("ok: ")


def test_verify_reports_a_changed_parquet_with_the_fix(fresh_output: Path, tmp_path: Path) -> None:
    _flip_a_byte(fresh_output / "c.parquet", keep_mtime=True)  # size and mtime unchanged
    proc = run_cli(verify_argv(fresh_output), tmp_path / "logs")
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert "c.parquet changed since the ETL wrote it (sha256" in line and "rerun" in line


def test_verify_reports_a_changed_rejects_file(fresh_output: Path, tmp_path: Path) -> None:
    with (fresh_output / "r.jsonl").open("a") as fh:
        fh.write('{"line_number": 1, "reason": "forged", "raw": ""}\n')
    proc = run_cli(verify_argv(fresh_output), tmp_path / "logs")
    assert proc.returncode == 2 and "r.jsonl changed since the ETL wrote it" in proc.stderr


def test_verify_reports_a_deleted_parquet(fresh_output: Path, tmp_path: Path) -> None:
    (fresh_output / "c.parquet").unlink()
    proc = run_cli(verify_argv(fresh_output), tmp_path / "logs")
    assert proc.returncode == 2 and "is missing; rerun" in proc.stderr


def test_verify_without_a_manifest_says_to_run_etl(tmp_path: Path) -> None:
    proc = run_cli(verify_argv(tmp_path / "nothing"), tmp_path / "logs")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"error: {tmp_path / 'nothing' / 'm.json'}: no manifest; "
                                        "run `support-analytics etl`"]  # fmt: skip


def test_etl_rebuilds_a_tampered_parquet(
    datasets: dict[str, Any], fresh_output: Path, tmp_path: Path
) -> None:
    _flip_a_byte(fresh_output / "c.parquet", keep_mtime=False)
    proc = run_cli(etl_argv(datasets, "A", fresh_output), tmp_path / "logs")
    assert proc.returncode == 0 and "up to date" not in proc.stdout
    assert state(datasets, fresh_output) == "A"


# --- the Spark engine: the same run shell, so the same commit protocol -----------------------
class _Killed(BaseException):
    """SIGKILL's stand-in inside this process, whose JVM the tests share (a fork cannot)."""


def _stop_before_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Raise _Killed before the ``step``-th commit operation, counted as cli_runner does."""
    import shutil

    calls = {"n": 0}
    real_replace, real_rmtree = os.replace, shutil.rmtree

    def tick() -> None:
        calls["n"] += 1
        if calls["n"] == step:
            raise _Killed

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        tick()
        real_replace(src, dst, *args, **kwargs)

    def rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).endswith(".work"):
            tick()
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(shutil, "rmtree", rmtree)


def spark_run(spark: Any, data: dict[str, Any], gen: str, out: Path) -> Any:
    from support_analytics.etl.spark_engine import run_spark_etl

    return run_spark_etl(
        data[gen]["calls"], data["agents"], out / "c.parquet", out / "m.json", out / "r.jsonl",
        spark=spark, progress=False,
    )  # fmt: skip


@pytest.mark.spark
@pytest.mark.parametrize("step", sorted(RAW_AFTER_KILL))
def test_spark_run_stopped_at_each_commit_step_is_recovered_by_the_next_run(
    spark: Any,
    datasets: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    step: int,
) -> None:
    out = tmp_path / "out"
    spark_run(spark, datasets, "A", out)
    _stop_before_step(monkeypatch, step)
    with pytest.raises(_Killed):
        spark_run(spark, datasets, "B", out)
    monkeypatch.undo()
    assert state(datasets, out) == RAW_AFTER_KILL[step]
    assert bool(committed_work_dirs(out)) == RECORD_AFTER_KILL[step]
    rerun = spark_run(spark, datasets, "B", out)
    assert state(datasets, out) == "B" and work_dirs(out) == []
    assert rerun.up_to_date == (step > 1)  # replayed, not recomputed
    assert json.loads((out / "m.json").read_text())["engine"] == "spark"


@pytest.mark.spark
@pytest.mark.slow
def test_sigkill_of_a_spark_run_between_its_renames_is_replayed(
    spark: Any, datasets: dict[str, Any], tmp_path: Path
) -> None:
    out, logs = tmp_path / "out", tmp_path / "logs"
    spark_run(spark, datasets, "A", out)
    spark_argv = etl_argv(datasets, "B", out, "--engine", "spark")
    killed = run_cli(spark_argv, logs, timeout=600, kill_at_step=3)  # Parquet B, rejects A
    assert killed.returncode == -signal.SIGKILL
    assert state(datasets, out) == "mixed" and committed_work_dirs(out)
    rerun = run_cli(spark_argv, logs, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "up to date" in rerun.stdout
    assert state(datasets, out) == "B" and work_dirs(out) == []
