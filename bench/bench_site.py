"""Site benchmark: what the rendered site weighs, and how long a build and a no-op re-run take.

    python bench/bench_site.py --calls 10000 10000000

For each size, in a temp folder outside the repo: simulate dirty calls, copy the site files
(_quarto.yml, pages, theme, post-render hook) into a fresh project root, then time
`support-analytics report` (ETL, every notebook, the real Quarto render) and an unchanged
re-run (nothing executed, nothing rendered). Weight: every page's own HTML, the shared
libraries in site_libs/support-analytics/, and the whole _site/ folder. Targets (issue 11): a
page <= 500 KB and the whole site <= 8 MB at 10M calls; a no-op re-run <= 2 s.

Needs quarto on PATH (on these machines: export PATH="$(../shared/tools/quarto/install):$PATH").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench_report import CLI, run_measured

from support_analytics import config, website


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench_size(n: int, repeats: int, workdir: Path) -> dict[str, float]:
    root = workdir / f"site-{n}"
    data = root / "data"
    run_measured(
        [*CLI, "simulate", "--quiet", "--calls", str(n), "--dirty-rate", "0.02",
         "--out-dir", str(data)],
        workdir,
    )  # fmt: skip
    for name in config.SITE_FILES:
        shutil.copy(config.PROJECT_ROOT / name, root / name)
    paths = [
        "--calls", str(data / "sample_calls.json"), "--agents", str(data / "agents.csv"),
        "--output", str(data / "cleaned_calls.parquet"), "--manifest", str(data / "manifest.json"),
        "--rejects", str(data / "rejected_calls.jsonl"),
    ]  # fmt: skip
    report = [*CLI, "report", "--quiet", "--root", str(root), *paths]
    build_s, build_rss = run_measured(report, root)
    again = [run_measured(report, root)[0] for _ in range(repeats)]
    site = root / config.SITE_DIR.name
    pages = sorted(site.rglob("*.html"))
    sizes = {p.relative_to(site).as_posix(): p.stat().st_size for p in pages}
    libs = folder_bytes(site / "site_libs" / website.LIBS_DIR_NAME)
    total = folder_bytes(site)
    largest = max(sizes, key=sizes.__getitem__)
    result = {
        "build_s": build_s,
        "build_rss_mib": build_rss,
        "noop_s": statistics.median(again),
        "page_max_kb": sizes[largest] / 1000,
        "libs_mb": libs / 1e6,
        "site_mb": total / 1e6,
        "pages": len(pages),
    }
    print(
        f"{n:>11,} calls: report with render {build_s:6.1f} s (peak RSS {build_rss:5.0f} MiB), "
        f"no-op re-run {result['noop_s']:4.2f} s (median of {repeats}); {len(pages)} pages, "
        f"largest {largest} {result['page_max_kb']:.0f} KB; shared libraries "
        f"{result['libs_mb']:.2f} MB; whole _site {result['site_mb']:.2f} MB"
    )
    for name, size in sizes.items():
        print(f"    {name:<42} {size / 1000:8.1f} KB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    args = parser.parse_args()
    if shutil.which("quarto") is None:
        raise SystemExit("bench_site: quarto is not on PATH")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="sa-bench-", dir=args.workdir) as tmp:
        for n in args.calls:
            bench_size(n, args.repeats, Path(tmp))


if __name__ == "__main__":
    main()
