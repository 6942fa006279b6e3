"""Insights benchmark: what `insights` costs, and how well it finds what was planted.

    python bench/bench_insights.py --calls 1000000 --days 365 --repeats 3 --seeds 41 42

For each seed, in a temp folder outside the repo: ``simulate --plant`` (spikes and drops of
40%, a one-region spike, a volume and an AHT level shift, a mix change, an agent escalating
3x), the ETL once, the repeat-flag cache once (as ``report`` builds it before its notebooks).
Then, each in a fresh process, the step's own seconds (imports excluded), median of
``--repeats``, and once more as a whole process for its wall time and peak RSS (kernel):

- changes: ``kpi_changes`` (one aggregate query, the shift-share and the tests);
- unusual: ``unusual`` over the whole history (all calls and each region, calls and AHT);
- drivers: ``drivers`` (one aggregate query per dimension);
- all: ``insights`` + ``as_json`` (what the command does after its imports).

And once per seed, detection against ``planted.json`` on all calls, over the simulated days:
recall of the every-region +-40% spikes, false alarms per 90 days, each planted level shift's
dating error in days, whether the planted agent tops the escalation drivers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import run_measured

CLI = [sys.executable, "-m", "support_analytics"]
STEPS = {
    "changes": "insights.kpi_changes(seg)",
    "unusual": "insights.find_unusual(seg)",
    "drivers": "insights.drivers(seg)",
    "all": "insights.as_json(insights.insights(seg))",
}


def _step(parquet: Path, code: str) -> list[str]:
    """A fresh process that runs ``code`` once and prints its own seconds (imports excluded)."""
    return [
        sys.executable,
        "-c",
        "import time\nfrom support_analytics.report import insights, metrics\n"
        f"seg = metrics.segment({str(parquet)!r})\nt = time.perf_counter()\n{code}\n"
        "print(time.perf_counter() - t)\n",
    ]


def _seconds(cmd: list[str]) -> float:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def _detection(parquet: Path, truth: dict) -> dict:
    from support_analytics.report import insights, metrics

    first = dt.date.fromisoformat(truth["start"])
    last = first + dt.timedelta(days=truth["days"] - 1)
    seg = metrics.segment(parquet)
    days, shifts = insights.find_unusual(seg, (first.isoformat(), last.isoformat()))
    flagged = {d.date for d in days if d.series == "all" and d.metric == "calls"}
    spikes = [s["date"] for s in truth["spikes"] if s["region"] is None]
    planted = {s["date"] for s in truth["spikes"]}
    errors = []
    for s in [*truth["level_shifts"], {"metric": "aht", "date": truth["mix_change"]["date"]}]:
        found = [
            abs((dt.date.fromisoformat(x.date) - dt.date.fromisoformat(s["date"])).days)
            for x in shifts
            if x.series == "all" and x.metric == s["metric"]
        ]
        errors.append(min(found) if found else None)
    drivers, tests = insights.drivers(seg)
    esc = [d for d in drivers if d.outcome == "escalation" and d.dimension == "agent"]
    planted_agent = truth["escalation_agent"]["agent_id"]
    return {
        "spikes": len(spikes),
        "recall": sum(d in flagged for d in spikes) / len(spikes),
        "false_per_90_days": len(flagged - planted) * 90 / truth["days"],
        "shift_dating_errors_days": errors,
        "shifts_found": len([x for x in shifts if x.series == "all"]),
        "agent_found": bool(esc) and esc[0].name.split()[0] == planted_agent,
        "driver_tests": tests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[41])
    args = parser.parse_args()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="bench-insights-") as tmp:
            root = Path(tmp)
            subprocess.run(
                [*CLI, "simulate", "--plant", "--quiet", "--calls", str(args.calls),
                 "--days", str(args.days), "--seed", str(seed), "--out-dir", str(root)],
                check=True,
            )  # fmt: skip
            parquet = root / "c.parquet"
            subprocess.run(
                [*CLI, "etl", "--quiet", "--calls", str(root / "sample_calls.json"),
                 "--agents", str(root / "agents.csv"), "--output", str(parquet),
                 "--manifest", str(root / "m.json"), "--rejects", str(root / "r.jsonl")],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            prep = _seconds(_step(parquet, "metrics.prepare(seg.path)"))
            print(f"calls {args.calls:,}, {args.days} days, seed {seed}")
            print(f"  repeat-flag cache (built once by report anyway): {prep:.2f} s")
            for name, code in STEPS.items():
                secs = statistics.median(
                    _seconds(_step(parquet, code)) for _ in range(args.repeats)
                )
                wall, rss = run_measured(_step(parquet, code))
                print(
                    f"  {name:<8} {secs:.2f} s (process with imports {wall:.2f} s), "
                    f"peak {rss:.0f} MiB"
                )
            truth = json.loads((root / "planted.json").read_text(encoding="utf-8"))
            print("  detection:", json.dumps(_detection(parquet, truth)))


if __name__ == "__main__":
    main()
