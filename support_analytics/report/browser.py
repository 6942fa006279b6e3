"""Headless Chromium over the rendered site: the browser tests, ``make screenshots`` and the
page benchmarks look at the site through this module, the way a user opens it.

Debian's ``chromium`` driven by Playwright (a development dependency; its own browser download
does not work everywhere, so ``executable_path`` points at the system one). Every page is
opened from ``file://`` as a user opens ``_site/index.html``; :func:`inspect` loads one page at
one window size and returns what a user would notice: console errors, requests that leave the
machine, undrawn charts, clipped or overflowing text, overlapping legends and tick labels, gaps
above tables, blank table length menus.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The window sizes the site must work at: desktop, small laptop / tablet, phone.
SIZES = {"desktop": (1400, 900), "laptop": (1024, 768), "phone": (390, 844)}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Marks <html> when the page calls alert/confirm/prompt (an injected script would).
DIALOG_ATTR = "data-dialog-called"
_INIT = f"""
(() => {{
  const mark = () => document.documentElement.setAttribute('{DIALOG_ATTR}', '1');
  window.alert = mark; window.confirm = mark; window.prompt = mark;
}})();
"""

#: Runs in the page once it has settled; returns a list of problems (empty when fine).
CHECKS_JS = r"""
() => {
  const problems = [];
  const rect = (el) => el.getBoundingClientRect();
  const overlap = (a, b, pad = 1) =>
    a.width > 0 && a.height > 0 && b.width > 0 && b.height > 0 &&
    a.left < b.right - pad && b.left < a.right - pad &&
    a.top < b.bottom - pad && b.top < a.bottom - pad;
  const label = (el) => {
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} "${text}"`;
  };
  // A tick label's own box, turned as the label is (plotly rotates crowded labels): their
  // upright bounding rectangles overlap even when the turned text does not.
  const corners = (el) => {
    const b = el.getBBox(), m = el.getScreenCTM();
    const right = b.x + b.width, bottom = b.y + b.height;
    return [[b.x, b.y], [right, b.y], [right, bottom], [b.x, bottom]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
  };
  const polygonsOverlap = (p, q, pad = 0.5) => {
    for (const poly of [p, q]) {
      for (let k = 0; k < poly.length; k++) {
        const [x1, y1] = poly[k], [x2, y2] = poly[(k + 1) % poly.length];
        const nx = y1 - y2, ny = x2 - x1;
        const project = (pts) => pts.map(([x, y]) => x * nx + y * ny);
        const a = project(p), b = project(q);
        const len = Math.hypot(nx, ny) || 1;
        const gap = pad * len;
        if (Math.max(...a) - gap <= Math.min(...b) || Math.max(...b) - gap <= Math.min(...a)) {
          return false;  // a separating axis: no overlap
        }
      }
    }
    return true;
  };
  const visible = (el) => {
    const r = rect(el), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };

  // 1. Charts drawn (a chart another series' select hides is drawn once it is shown).
  for (const plot of document.querySelectorAll(".sa-plot")) {
    if (plot.offsetParent === null && plot.closest("[data-sa-plan]")) continue;
    if (!plot.querySelector("svg.main-svg")) problems.push(`chart not drawn: #${plot.id}`);
  }

  // 2. Text that is clipped or spills out of its box.
  const boxes = document.querySelectorAll(
    ".sa-valuebox, .sa-valuebox p, .card-header, .card-title, .sa-dt th, .sa-dt td, " +
    ".navbar-title, .navbar-brand, .nav-link"
  );
  for (const el of boxes) {
    if (!visible(el)) continue;
    const s = getComputedStyle(el);
    const scrolls = /(auto|scroll)/.test(s.overflowX + s.overflowY);
    if (scrolls) continue;
    const wide = el.scrollWidth > el.clientWidth + 1;
    const tall = el.scrollHeight > el.clientHeight + 1;
    if (wide || tall) problems.push(`clipped or overflowing: ${label(el)}`);
  }

  // 3. Legends, mode bar, titles and tick labels of every chart.
  for (const plot of document.querySelectorAll(".sa-plot")) {
    const name = `#${plot.id}`;
    const entries = [...plot.querySelectorAll(".legend .traces")].filter(visible);
    for (let i = 0; i < entries.length; i++) {
      for (let j = i + 1; j < entries.length; j++) {
        if (overlap(rect(entries[i]), rect(entries[j]))) {
          const pair = `${label(entries[i])} / ${label(entries[j])}`;
          problems.push(`legend entries overlap in ${name}: ${pair}`);
        }
      }
    }
    const legend = plot.querySelector(".legend .bg");
    if (legend && entries.length) {
      const l = rect(legend);
      const modebar = plot.querySelector(".modebar");
      if (modebar && overlap(l, rect(modebar))) {
        problems.push(`legend overlaps the mode bar in ${name}`);
      }
      for (const t of plot.querySelectorAll(".gtitle, .annotation-text-g .annotation")) {
        if (overlap(l, rect(t))) problems.push(`legend overlaps a title in ${name}`);
      }
      for (const area of plot.querySelectorAll(".nsewdrag")) {
        if (overlap(l, rect(area))) problems.push(`legend overlaps the plot area in ${name}`);
      }
    }
    for (const axis of plot.querySelectorAll(".xaxislayer-above, .yaxislayer-above")) {
      const ticks = [...axis.querySelectorAll(".xtick text, .ytick text")].filter(visible);
      const boxes = ticks.map(corners);
      for (let i = 0; i + 1 < ticks.length; i++) {
        for (let j = i + 1; j < ticks.length; j++) {
          if (polygonsOverlap(boxes[i], boxes[j])) {
            const pair = `${label(ticks[i])} / ${label(ticks[j])}`;
            problems.push(`tick labels overlap in ${name}: ${pair}`);
          }
        }
      }
    }
  }

  // 3b. Axis text inside its chart: a figure taller than its card lost its x tick labels and
  // axis title below the card's edge (the data-quality page at 1,400 px).
  for (const plot of document.querySelectorAll(".sa-plot")) {
    if (!plot.querySelector("svg.main-svg")) continue;
    const box = rect(plot);
    const axisText = ".xtick text, .ytick text, .g-xtitle text, .g-ytitle text";
    const texts = [...plot.querySelectorAll(axisText)].filter(visible);
    if (texts.some((t) => rect(t).bottom > box.bottom + 1 || rect(t).top < box.top - 1)) {
      problems.push(`axis text cut off in #${plot.id}`);
    }
  }

  // 4. Tables: no tall gap above them in their card; every length menu shows its choice.
  for (const wrap of document.querySelectorAll(".sa-table-wrap")) {
    const body = wrap.closest(".card-body") || wrap.parentElement;
    const first = wrap.firstElementChild || wrap;
    const gap = rect(first).top - rect(body).top;
    if (gap > 40) problems.push(`gap of ${Math.round(gap)} px above a table`);
  }
  for (const select of document.querySelectorAll(".sa-dt-length select")) {
    const option = select.options[select.selectedIndex];
    if (!option || !option.textContent.trim()) problems.push("a table length menu is blank");
  }
  // Wider than the screen: the reader scrolls sideways (the filters did, on a phone).
  const wide = document.documentElement.scrollWidth;
  if (wide > window.innerWidth + 1) {
    problems.push(`page is wider than the screen: ${wide} px at ${window.innerWidth} px`);
  }
  if (document.documentElement.hasAttribute("DIALOG_ATTR")) {
    problems.push("alert/confirm/prompt was called");
  }
  return problems;
}
""".replace("DIALOG_ATTR", DIALOG_ATTR)

#: Resolves once every chart has drawn and every table is built (or after the timeout).
SETTLED_JS = """
() => [...document.querySelectorAll('.sa-plot')].every(p => p.querySelector('svg.main-svg')
     || (p.offsetParent === null && p.closest('[data-sa-plan]')))
   && [...document.querySelectorAll('.sa-table-wrap')].every(w => w.querySelector('table.sa-dt'))
"""


@dataclass
class PageReport:
    """What one page at one size showed."""

    url: str
    size: str
    console_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def all_problems(self) -> list[str]:
        return (
            [f"console: {e}" for e in self.console_errors]
            + [f"request left the machine: {r}" for r in self.remote_requests]
            + self.problems
        )


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium (Debian's), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(b: Any, url: str, size: str, report: PageReport | None = None) -> Any:
    """Load ``url`` in a fresh context of the given size; console errors and outside requests
    are recorded into ``report``. Outside requests are aborted (no network in tests)."""
    width, height = SIZES[size]
    context = b.new_context(viewport={"width": width, "height": height})
    context.add_init_script(_INIT)
    page = context.new_page()
    if report is not None:
        page.on(
            "console",
            lambda m: report.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: report.console_errors.append(str(e)))

    def route(r: Any) -> None:
        if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
            r.continue_()
        else:
            if report is not None:
                report.remote_requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load", timeout=60_000)
    # an unsettled page is reported by the checks, not here
    with contextlib.suppress(Exception):
        page.wait_for_function(SETTLED_JS, timeout=15_000)
    page.wait_for_timeout(300)  # plotly's resize after the card settles
    return page


def screenshot(b: Any, path: Path, size: str, out: Path) -> None:
    """A full-page PNG of ``path`` at ``size``, once its charts and tables are drawn."""
    page = open_page(b, path.as_uri(), size)
    try:
        page.screenshot(path=str(out), full_page=True)
    finally:
        page.context.close()


def inspect(b: Any, path: Path, size: str) -> PageReport:
    """Open ``path`` from disk at ``size`` and run every check on it."""
    report = PageReport(path.as_uri(), size)
    page = open_page(b, path.as_uri(), size, report)
    try:
        report.problems = page.evaluate(CHECKS_JS)
    finally:
        page.context.close()
    return report
