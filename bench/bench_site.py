"""Site benchmark: what the rendered site weighs, and how long a build and a no-op re-run take.

    python bench/bench_site.py --calls 10000 10000000

For each size, in a temp folder outside the repo: simulate dirty calls, copy the site files
(_quarto.yml, pages, theme, post-render hook) into a fresh project root, then time
`support-analytics report` (ETL, every notebook, the real Quarto render) and an unchanged
re-run (nothing executed, nothing rendered). Weight: every page's own HTML, the shared
libraries in site_libs/support-analytics/, the overview's filter data and the whole _site/
folder. Then, in headless Chromium, 20 control changes on the overview: milliseconds from the
change to the repainted page. Targets: a page <= 500 KB and the whole site <= 8 MB at 10M
calls, a no-op re-run <= 2 s (issue 11); filter data <= 3 MB and a redraw <= 150 ms median
(issue 12).

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

from bench_report import CLI
from measure import run_measured

from support_analytics import config
from support_analytics.report import website


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


#: Each round picks a period, regions or issue types in the page's own controls and waits for
#: the redraw event, then for the next frame (the browser has painted the result).
_REDRAW_JS = """async (round) => {
  const root = document.querySelector('.sa-slicer');
  const preset = root.querySelector('.sa-preset');
  const options = [...preset.options].map(o => o.value).filter(v => v !== 'custom');
  const boxes = [...root.querySelectorAll('.sa-pick input[type=checkbox]')];
  const done = new Promise(r => root.addEventListener('sa-redrawn', r, {once: true}));
  const t0 = performance.now();
  if (round % 2 === 0) {
    preset.value = options[round % options.length];
    preset.dispatchEvent(new Event('change', {bubbles: true}));
  } else {
    const box = boxes[round % boxes.length];
    box.checked = !box.checked;
    box.dispatchEvent(new Event('change', {bubbles: true}));
  }
  await done;
  await new Promise(r => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


def redraw_ms(site: Path, rounds: int = 20) -> list[float]:
    """Milliseconds from a control change to the redrawn page, in headless Chromium."""
    from support_analytics.report import browser

    with browser.browser() as b:
        page = browser.open_page(b, (site / "reports" / "overview.html").as_uri(), "desktop")
        page.wait_for_selector(".sa-slicer[data-sa-ready]", timeout=60_000)
        times = [page.evaluate(_REDRAW_JS, i) for i in range(rounds)]
        page.context.close()
    return times


def bench_size(n: int, repeats: int, workdir: Path, days: int = 365) -> dict[str, float]:
    root = workdir / f"site-{n}"
    data = root / "data"
    run_measured(
        [*CLI, "simulate", "--quiet", "--calls", str(n), "--days", str(days),
         "--dirty-rate", "0.02", "--out-dir", str(data)],
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
    slices_file = site / "reports" / config.SLICES_FILE_NAME
    redraws = redraw_ms(site)
    result = {
        "build_s": build_s,
        "build_rss_mib": build_rss,
        "noop_s": statistics.median(again),
        "page_max_kb": sizes[largest] / 1000,
        "libs_mb": libs / 1e6,
        "site_mb": total / 1e6,
        "pages": len(pages),
        "slices_mb": slices_file.stat().st_size / 1e6,
        "redraw_ms": statistics.median(redraws),
    }
    print(
        f"{n:>11,} calls: report with render {build_s:6.1f} s (peak RSS {build_rss:5.0f} MiB), "
        f"no-op re-run {result['noop_s']:4.2f} s (median of {repeats}); {len(pages)} pages, "
        f"largest {largest} {result['page_max_kb']:.0f} KB; shared libraries "
        f"{result['libs_mb']:.2f} MB; whole _site {result['site_mb']:.2f} MB; overview filter "
        f"data {result['slices_mb']:.2f} MB; redraw after a control change "
        f"{result['redraw_ms']:.0f} ms median of {len(redraws)} (max {max(redraws):.0f} ms)"
        f"; {days} days of calls"
    )
    for name, size in sizes.items():
        print(f"    {name:<42} {size / 1000:8.1f} KB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, nargs="+", default=[10_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=int, default=365, help="days the simulated calls cover")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    args = parser.parse_args()
    if shutil.which("quarto") is None:
        raise SystemExit("bench_site: quarto is not on PATH")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="sa-bench-", dir=args.workdir) as tmp:
        for n in args.calls:
            bench_size(n, args.repeats, Path(tmp), args.days)


if __name__ == "__main__":
    main()
