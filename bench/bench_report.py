"""Report benchmark: the whole build at 10k, 1M and 10M calls, and what a page weighs.

    python bench/bench_report.py --calls 10000 1000000 10000000 --repeats 3

For each size, in a temp folder outside the repo: simulate dirty calls, run the ETL once, then
time `support-analytics report --no-render --force` (which reruns the ETL too, then every
notebook for every region: the whole build but the Quarto step) and an unchanged re-run. Peak RSS is
the largest single process among the report and its kernels (the kernel's own accounting).
Page weight is each executed notebook's size, and its size without the plotly.js and
DataTables bundles (the data the page carries), which must not grow with the row count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import run_measured

from support_analytics import config

CLI = [sys.executable, "-m", "support_analytics"]
_BUNDLE_MIN_BYTES = 200_000  # a text/html output this big is a library bundle, not data


def page_weight(notebook: Path) -> tuple[int, int]:
    """(file bytes, bytes of outputs that are data rather than embedded JS libraries)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    data = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            for value in (output.get("data") or {}).values():
                text = value if isinstance(value, str) else json.dumps(value)
                if len(text) < _BUNDLE_MIN_BYTES:
                    data += len(text)
    return notebook.stat().st_size, data


def bench_size(n: int, repeats: int, workdir: Path) -> dict[str, float]:
    root = workdir / f"report-{n}"
    data = root / "data"
    subprocess.run(
        [*CLI, "simulate", "--quiet", "--calls", str(n), "--dirty-rate", "0.02",
         "--out-dir", str(data)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    paths = [
        "--calls", str(data / "sample_calls.json"), "--agents", str(data / "agents.csv"),
        "--output", str(data / "cleaned_calls.parquet"), "--manifest", str(data / "manifest.json"),
        "--rejects", str(data / "rejected_calls.jsonl"),
    ]  # fmt: skip
    subprocess.run([*CLI, "etl", "--quiet", *paths], check=True, stdout=subprocess.DEVNULL)
    report = [*CLI, "report", "--quiet", "--no-render", "--root", str(root), *paths]
    full = [run_measured([*report, "--force"], root) for _ in range(repeats)]
    again = [run_measured(report, root)[0] for _ in range(repeats)]
    pages = sorted((root / config.REPORTS_DIR.name).glob("*.ipynb"))
    weights = [page_weight(p) for p in pages]
    result = {
        "report_s": statistics.median(r[0] for r in full),
        "report_rss_mib": max(r[1] for r in full),
        "unchanged_s": statistics.median(again),
        "pages": len(pages),
        "page_max_mib": max(w[0] for w in weights) / 2**20,
        "page_data_max_kib": max(w[1] for w in weights) / 1024,
    }
    print(
        f"{n:>11,} calls: report {result['report_s']:6.1f} s (median of {repeats}), "
        f"peak RSS {result['report_rss_mib']:6.0f} MiB, unchanged re-run "
        f"{result['unchanged_s']:4.1f} s, {len(pages)} pages, largest "
        f"{result['page_max_mib']:.2f} MiB of which data {result['page_data_max_kib']:.0f} KiB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="sa-bench-", dir=args.workdir) as tmp:
        results = {n: bench_size(n, args.repeats, Path(tmp)) for n in args.calls}
    smallest, largest = min(results), max(results)
    if smallest != largest:
        ratio = results[largest]["page_data_max_kib"] / results[smallest]["page_data_max_kib"]
        print(f"page data at {largest:,} vs {smallest:,} calls: {ratio:.2f}x")


if __name__ == "__main__":
    main()
