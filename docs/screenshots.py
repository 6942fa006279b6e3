"""`make screenshots`: PNGs of the rendered overview, data-quality and planning pages for the
README.

Run after `make report`. Opens the pages from disk in headless Chromium (Debian's `chromium`),
at 1400 and 1024 px, once every chart and table has drawn, and writes docs/<page>-<width>.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from support_analytics import config
from support_analytics.report import browser

PAGES = ("overview", "data-quality", "planning")
SIZES = ("desktop", "laptop")


def main() -> int:
    site = config.SITE_DIR
    missing = [p for p in PAGES if not (site / config.REPORTS_DIR.name / f"{p}.html").exists()]
    if missing:
        print(f"screenshots: {site} has no {', '.join(missing)} page; run `make report` first")
        return 2
    if browser.CHROMIUM is None:
        print("screenshots: needs Debian's chromium on PATH (apt-get install chromium)")
        return 2
    out_dir = Path(__file__).resolve().parent
    with browser.browser() as b:
        for page in PAGES:
            for size in SIZES:
                width = browser.SIZES[size][0]
                out = out_dir / f"{page}-{width}.png"
                browser.screenshot(b, site / config.REPORTS_DIR.name / f"{page}.html", size, out)
                print(f"screenshots: wrote {out.relative_to(out_dir.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
