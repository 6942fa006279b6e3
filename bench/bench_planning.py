"""Planning benchmark: what the Planning page adds to `report`, and `staffing` for a week.

    python bench/bench_planning.py --calls 1000000 10000000 --repeats 3

For each size, in a temp folder outside the repo: simulate dirty calls over 365 days and run
the ETL once. Then, each in a fresh process (peak RSS from the kernel), median of
``--repeats``:

- page: the planning notebook executed by papermill exactly as `report` runs it
  (``pages.execute_job``: kernel start, the DuckDB aggregate, every series' backtests and
  forecasts, the staffing grids, the figures), i.e. what the page adds to `report`;
- build: ``planning.planning_page`` alone in a plain interpreter (no kernel), split into the
  DuckDB aggregate (``load_volumes``) and the rest (forecasts and staffing on small frames);
- staffing: ``staffing_plan`` for 168 hours at this size's busiest forecast hours (Erlang C
  for every hour, hundreds of agents at 10M).

Targets (issue 22): the page adds at most 15 s to `report` at 10M calls over a year;
`staffing` for 168 hours at most 1 s.
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

from measure import measure

CLI = [sys.executable, "-m", "support_analytics"]
ROOT = Path(__file__).resolve().parent.parent

PAGE = """
import sys
from pathlib import Path
from support_analytics.etl.step import EtlStep
from support_analytics.report import pages
data = Path(sys.argv[1])
step = EtlStep(None, data / "sample_calls.json", data / "agents.csv", data / "c.parquet",
               data / "m.json", data / "r.jsonl")  # plan_jobs reads only the paths
[job] = [j for j in pages.plan_jobs(step) if j.name == pages.PLANNING_NAME]
pages.execute_job(job, Path(sys.argv[2]))
"""

BUILD = """
import json, sys, time
t0 = time.perf_counter()
from support_analytics.report import planning
t1 = time.perf_counter()
data = planning.load_volumes(sys.argv[1])
t2 = time.perf_counter()
page = planning.planning_page(sys.argv[1])
t3 = time.perf_counter()
grid = page.series[planning.ALL_CALLS].staffing
calls = sorted(grid["calls"])[-1] if grid is not None else 0
print(json.dumps({"imports": t1 - t0, "aggregate": t2 - t1, "page": t3 - t2,
                  "forecasts_and_staffing": (t3 - t2) - (t2 - t1), "peak_calls": calls,
                  "rows_aggregated": len(data.hourly)}))
"""

STAFFING = """
import json, sys, time
import numpy as np, pandas as pd
from support_analytics.report.planning import ServiceTarget, staffing_plan
peak = float(sys.argv[1])
shape = np.clip(np.sin(np.pi * ((np.arange(168) % 24) - 6) / 14), 0.05, None)
frame = pd.DataFrame({"calls": peak * shape, "aht_seconds": 420.0})
t0 = time.perf_counter()
out = staffing_plan(frame, 60, ServiceTarget())
print(json.dumps({"seconds": time.perf_counter() - t0, "max_agents": int(out["agents"].max())}))
"""


def _run_json(code: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(calls: int, repeats: int, keep: Path | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-planning-"))
    try:
        data = work / "data"
        subprocess.run(
            [*CLI, "simulate", "--calls", str(calls), "--days", "365", "--out-dir", str(data),
             "-q"], check=True)  # fmt: skip
        etl = [*CLI, "etl", "--calls", str(data / "sample_calls.json"), "--agents",
               str(data / "agents.csv"), "--output", str(data / "c.parquet"), "--manifest",
               str(data / "m.json"), "--rejects", str(data / "r.jsonl"), "-q"]  # fmt: skip
        subprocess.run(etl, check=True)
        pages = [
            measure([sys.executable, "-c", PAGE, str(data), str(work / "reports")], cwd=ROOT)
            for _ in range(repeats)
        ]
        builds = [_run_json(BUILD, str(data / "c.parquet")) for _ in range(repeats)]
        peak = builds[0]["peak_calls"]
        staffing = [_run_json(STAFFING, str(peak)) for _ in range(repeats)]

        def med(values: list[float]) -> float:
            return statistics.median(values)

        print(f"\n## {calls:,} calls over 365 days (load average {os.getloadavg()[0]:.1f})")
        print("| measure | median | runs |")
        print("| --- | --- | --- |")
        page_s = [m.seconds for m in pages]
        mib = med([m.peak_mib for m in pages])
        cpu = med([m.cpu_seconds for m in pages])
        print(
            f"| planning notebook via papermill (what `report` adds) | {med(page_s):.1f} s, "
            f"{mib:.0f} MiB, CPU {cpu:.1f} s | {', '.join(f'{s:.1f}' for s in page_s)} |"
        )
        for key in ("imports", "aggregate", "forecasts_and_staffing", "page"):
            vals = [b[key] for b in builds]
            print(f"| build: {key} | {med(vals):.2f} s | {', '.join(f'{v:.2f}' for v in vals)} |")
        vals = [s["seconds"] for s in staffing]
        print(
            f"| staffing_plan, 168 hours (peak {peak:,.0f} calls/h, up to "
            f"{staffing[0]['max_agents']} agents) | {med(vals) * 1000:.0f} ms "
            f"| {', '.join(f'{v * 1000:.0f}' for v in vals)} |"
        )
        print(
            f"| hourly aggregate rows (region x day x hour) | {builds[0]['rows_aggregated']:,} | |"
        )
        if keep is not None:
            shutil.copytree(work / "reports", keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="copy the executed page here")
    args = parser.parse_args()
    for calls in args.calls:
        bench(calls, args.repeats, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
