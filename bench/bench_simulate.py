"""Benchmark ``support_analytics.simulate``: wall time, rows/s and peak RSS per run.

Each repeat runs in a fresh subprocess so that its peak RSS is its own (read with ``os.wait4``),
not the maximum over everything this process has ever started. CPU time is reported too: on a
shared machine wall time is noisy, CPU time much less so.

    python bench/bench_simulate.py --calls 10000000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
from support_analytics.simulate import simulate
args = json.loads(sys.argv[1])
began = time.perf_counter()
summary = simulate(args["out"], calls=args["calls"], seed=args["seed"], progress=False)
print(json.dumps({
    "seconds": time.perf_counter() - began,
    "bytes": summary.calls_path.stat().st_size,
    "dirty": summary.dirty_lines,
}))
"""


def run_once(calls: int, out: Path, seed: int) -> dict[str, float]:
    """One simulate() in a child process: its wall seconds, CPU seconds and peak RSS."""
    payload = json.dumps({"calls": calls, "out": str(out), "seed": seed})
    child = subprocess.Popen([sys.executable, "-c", CHILD, payload], stdout=subprocess.PIPE)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"simulate child failed with exit code {child.returncode}")
    result = json.loads(output)
    result["cpu"] = usage.ru_utime + usage.ru_stime
    result["rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out", type=Path, default=None, help="output dir (default: a temp dir, removed after)"
    )
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    try:
        runs = []
        for i in range(args.repeats):
            r = run_once(args.calls, out, args.seed)
            runs.append(r)
            print(
                f"run {i + 1}/{args.repeats}: {r['seconds']:.2f} s wall, {r['cpu']:.2f} s cpu, "
                f"{args.calls / r['seconds']:,.0f} rows/s, peak RSS {r['rss_mib']:.0f} MiB, "
                f"{r['bytes'] / 2**20:,.0f} MiB written",
                flush=True,
            )
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    seconds = statistics.median(r["seconds"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    rss = max(r["rss_mib"] for r in runs)
    print(
        f"simulate calls={args.calls:,} repeats={args.repeats}: median {seconds:.2f} s "
        f"({args.calls / seconds:,.0f} rows/s), median cpu {cpu:.2f} s, "
        f"peak RSS {rss:.0f} MiB (max over runs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
