"""Slice-data benchmark: what the overview's in-browser selection costs at 10k, 1M, 10M calls.

    python bench/bench_slices.py --calls 10000 1000000 10000000 --repeats 3

For each size, in a temp folder outside the repo: simulate dirty calls over 365 days and run
the ETL once. Then, each in a fresh process (peak RSS from the kernel):

- reference: one overview's numbers computed by ``metrics`` in DuckDB for the default
  selection (every query a page runs today), median of ``--repeats``;
- build: ``slices.build_slice_data`` (the repeat-flag cache is built once before, as
  ``report`` does), median of ``--repeats``, and its ratio to the reference;
- payload: the serialised JSON the page embeds, and its gzip+base64 blob;
- node: ``slicer.js`` decode (median of 5 fresh decodes), the first compute after it, and the
  median / max compute over 20 seeded random selections (regions, issues, presets, custom
  ranges, empty ones) on a warm model. Chromium's numbers are the lead's browser benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

CLI = [sys.executable, "-m", "support_analytics"]
HERE = Path(__file__).resolve().parent
TIMING_JS = HERE / "slicer_timing.js"

REFERENCE = """
import sys
from support_analytics import metrics
seg = metrics.segment(sys.argv[1])
metrics.kpi_comparison(seg); metrics.daily_volume(seg); metrics.hour_weekday(seg)
metrics.duration_histogram(seg); metrics.issue_breakdown(seg); metrics.region_comparison(seg)
metrics.agent_leaderboard(seg)
"""
BUILD = """
import sys
from support_analytics import slices
slices.write_slice_data(sys.argv[1], sys.argv[2])
"""


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of a command."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    return seconds, usage.ru_maxrss / 1024


def selections(payload: dict, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    first = date.fromisoformat(payload["first_day"])
    last = date.fromisoformat(payload["last_day"])
    span = (last - first).days

    def pick(pool: list[str]) -> list[str] | None:
        roll = rng.random()
        if roll < 0.3:
            return None
        return [] if roll < 0.4 else rng.sample(pool, rng.randint(1, len(pool)))

    out = []
    for i in range(n):
        if i % 4 == 0:
            days = rng.choice([7, 28, 90, span + 1])
            start, end = last - timedelta(days=days - 1), last
        else:
            start = first + timedelta(days=rng.randint(0, span))
            end = start + timedelta(days=rng.randint(0, span - (start - first).days))
        out.append(
            {
                "regions": pick(payload["regions"]),
                "issues": pick(payload["issues"]),
                "from": start.isoformat(),
                "to": end.isoformat(),
            }
        )
    return out


def bench_size(n: int, repeats: int, workdir: Path, node: str | None) -> None:
    data = workdir / f"slices-{n}"
    subprocess.run(
        [*CLI, "simulate", "--quiet", "--calls", str(n), "--days", "365", "--dirty-rate",
         "0.02", "--out-dir", str(data)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    parquet = data / "cleaned_calls.parquet"
    subprocess.run(
        [*CLI, "etl", "--quiet", "--calls", str(data / "sample_calls.json"), "--agents",
         str(data / "agents.csv"), "--output", str(parquet), "--manifest",
         str(data / "manifest.json"), "--rejects", str(data / "rejected_calls.jsonl")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    (data / "sample_calls.json").unlink()
    py = [sys.executable, "-c"]
    subprocess.run(
        [
            *py,
            "from support_analytics import metrics; import sys; metrics.prepare(sys.argv[1])",
            str(parquet),
        ],
        check=True,
    )  # the cache
    out = data / "slices.json"
    ref = [run_measured([*py, REFERENCE, str(parquet)]) for _ in range(repeats)]
    build = [run_measured([*py, BUILD, str(parquet), str(out)]) for _ in range(repeats)]
    payload = json.loads(out.read_text(encoding="utf-8"))
    ref_s = statistics.median(r[0] for r in ref)
    build_s = statistics.median(b[0] for b in build)
    line = (
        f"{n:>11,} calls | payload {out.stat().st_size / 2**20:5.2f} MiB "
        f"(blob {len(payload['blob']) / 2**20:4.2f} MiB, {len(payload['agents']['id'])} agents) "
        f"| build {build_s:5.2f} s, {max(b[1] for b in build):4.0f} MiB "
        f"| reference: one overview in DuckDB {ref_s:5.2f} s, {max(r[1] for r in ref):4.0f} MiB "
        f"| build/reference {build_s / ref_s:4.2f}x"
    )
    if node:
        sel_path = data / "selections.json"
        sel_path.write_text(json.dumps(selections(payload, 20, seed=n)))
        proc = subprocess.run(
            [node, str(TIMING_JS), str(out), str(sel_path), "5"],
            check=True,
            capture_output=True,
            text=True,
        )
        t = json.loads(proc.stdout)
        line += (
            f" | node decode {statistics.median(t['decode_ms']):5.1f} ms, first compute "
            f"{t['first_compute_ms']:5.1f} ms, compute median "
            f"{statistics.median(t['compute_ms']):5.1f} ms (max {max(t['compute_ms']):5.1f})"
        )
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    args = parser.parse_args()
    node = shutil.which("node")
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"node {node or 'missing: no decode/compute timings'}"
    )
    with tempfile.TemporaryDirectory(prefix="sa-bench-", dir=args.workdir) as tmp:
        for n in args.calls:
            bench_size(n, args.repeats, Path(tmp), node)


if __name__ == "__main__":
    main()
