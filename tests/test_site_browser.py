"""The rendered site in a real browser: every page of ``_site/`` (real Quarto) opened from disk
in headless Chromium at 1400, 1024 and 390 px, checked for what a user would notice.

Each check is first shown to fail on a canary page built to break it, so none passes
vacuously. The site is built from tests/fixtures/report/site_* (an agent named
``<img src=x onerror=alert(1)>`` and a region named ``<script>alert(1)</script>``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notebooks import XSS_AGENT, XSS_REGION

from support_analytics import browser as sb
from support_analytics import website

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sb.CHROMIUM is None,
        reason="needs Debian's `chromium` on PATH (apt-get install chromium; .ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def chromium():
    pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")
    with sb.browser() as b:
        yield b


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "canary" not in p.name)


CANARY = """<!DOCTYPE html><html><head>
<script src="../site_libs/support-analytics/plotly.min.js"></script>
<link rel="stylesheet" href="../site_libs/support-analytics/datatables.css">
<script src="../site_libs/support-analytics/datatables.js"></script>
</head><body style="width:360px">
<div id="undrawn" class="sa-plot" style="height:200px"></div>
<div class="sa-valuebox" style="width:90px;overflow:hidden;white-space:nowrap">
  <p class="sa-kpi-value">1,234,567,890 calls</p></div>
<div id="legend" class="sa-plot" style="height:300px"></div>
<div id="legend2" class="sa-plot" style="height:300px"></div>
<div id="ticks" class="sa-plot" style="height:300px"></div>
<div class="card-body"><div style="height:100px"></div>
  <div id="t" class="sa-table-wrap"><table></table></div></div>
<img src="http://example.invalid/pixel.png">
<script>
Plotly.newPlot("legend", [
  {y: [1, 2], name: "a long legend entry"}, {y: [2, 1], name: "another long entry"}],
  {title: {text: "A title"}, margin: {t: 40},
   legend: {orientation: "h", entrywidth: 10, font: {size: 40}, x: 0, y: 1.05}});
Plotly.newPlot("legend2", [{y: [1, 2], name: "wide legend entry"}, {y: [2, 1], name: "b"}],
  {title: {text: "A title"}, showlegend: true, margin: {t: 60},
   legend: {orientation: "h", font: {size: 30}, x: 0, y: 1.3, yanchor: "top"}},
  {displayModeBar: true});
var cats = []; for (var i = 0; i < 30; i++) cats.push("category number " + i);
Plotly.newPlot("ticks", [{x: cats, y: cats.map(function (_, i) { return i; }), type: "bar"}],
  {xaxis: {tickangle: 0}});
var DT = window.SupportTables["default"];
new DT(document.querySelector("#t table"), {data: [["x"]], columns: [{title: "c"}],
  pageLength: 10, lengthMenu: [15, 50, 100]});
console.error("canary error");
alert("canary");
</script></body></html>"""


def test_every_check_fails_on_a_canary_page(site: Path, chromium) -> None:
    page = site / "reports" / "canary.html"
    page.write_text(CANARY, encoding="utf-8")
    try:
        report = sb.inspect(chromium, page, "desktop")
    finally:
        page.unlink()
    problems = "\n".join(report.problems)
    assert "canary error" in " ".join(report.console_errors)
    assert report.remote_requests == ["http://example.invalid/pixel.png"]
    assert "chart not drawn: #undrawn" in problems
    assert "clipped or overflowing: p.sa-kpi-value" in problems
    assert "legend entries overlap in #legend" in problems
    assert "legend overlaps the mode bar in #legend2" in problems
    assert "legend overlaps a title in #legend2" in problems
    assert "legend overlaps the plot area in #legend" in problems
    assert "tick labels overlap in #ticks" in problems
    assert re.search(r"gap of 1\d\d px above a table", problems)
    assert "a DataTables length menu is blank" in problems
    assert "alert/confirm/prompt was called" in problems


@pytest.mark.parametrize("size", list(sb.SIZES))
def test_every_page_is_clean_at_every_size(site: Path, chromium, size: str) -> None:
    pages = _pages(site)
    assert len(pages) >= 8  # index, about, data quality, overview, four regions
    problems = []
    for path in pages:
        report = sb.inspect(chromium, path, size)
        problems += [f"{path.relative_to(site)}: {p}" for p in report.all_problems()]
    assert problems == []


def test_dashboards_draw_their_charts_and_tables(site: Path, chromium) -> None:
    page = sb.open_page(chromium, (site / "reports" / "overview.html").as_uri(), "desktop")
    try:
        counts = page.evaluate(
            """() => ({
              plots: document.querySelectorAll('.sa-plot svg.main-svg').length,
              boxes: document.querySelectorAll('.sa-valuebox').length,
              rows: document.querySelectorAll('.dataTable tbody tr').length,
              quarto: typeof window.quartoToggleHeadroom,
            })"""
        )
    finally:
        page.context.close()
    assert counts["plots"] >= 5 and counts["boxes"] == 6 and counts["rows"] >= 5
    assert counts["quarto"] == "function"  # Quarto's own script ran from file://


def test_hostile_names_show_as_text_and_inject_nothing(site: Path, chromium) -> None:
    """Escaped once, not twice: the names read literally where the data puts them, and no
    element or handler from the data exists in the live page."""
    found = {}
    for name in ("overview", "region-asia-pacific", "region-script-alert-1-script"):
        page = sb.open_page(chromium, (site / "reports" / f"{name}.html").as_uri(), "desktop")
        try:
            found[name] = page.evaluate(
                """() => ({
                  cells: [...document.querySelectorAll('.dataTable tbody td')]
                    .map(td => td.textContent),
                  labels: [...document.querySelectorAll('.sa-plot svg text')]
                    .map(t => t.textContent),
                  title: document.title,
                  injected: [...document.querySelectorAll('img[src="x"], [onerror], [onload]')]
                    .length,
                  doubled: document.body.innerText.includes('&lt;'),
                  dialog: document.documentElement.hasAttribute('DIALOG'),
                })""".replace("DIALOG", sb.DIALOG_ATTR)
            )
        finally:
            page.context.close()
    for name, seen in found.items():
        assert seen["injected"] == 0 and not seen["dialog"] and not seen["doubled"], name
    assert XSS_AGENT in found["overview"]["cells"]
    assert XSS_REGION in found["overview"]["cells"]
    assert any(XSS_REGION in label for label in found["overview"]["labels"])
    assert XSS_AGENT in found["region-asia-pacific"]["cells"]
    assert XSS_REGION in found["region-script-alert-1-script"]["title"]


def test_libraries_are_shipped_once_per_site(site: Path) -> None:
    libs = site / "site_libs" / website.LIBS_DIR_NAME
    assert (libs / "plotly.min.js").stat().st_size > 1_000_000
    assert (libs / "datatables.js").exists()
    for path in _pages(site):
        html = path.read_text(encoding="utf-8")
        assert len(html) < 500_000, path
        assert html.count("plotly.min.js") <= 1, path
        assert 'type="module"' not in html, path
    assert website.remote_references(site) == []
    assert not list(site.rglob("pdfmake.min.js"))


def test_site_files_are_readable_by_everyone(site: Path) -> None:
    # atomic writes go through 0600 temp files; a published site must stay world-readable
    for path in site.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o044 == 0o044, path


def test_no_rendered_file_holds_a_customer_id(site: Path) -> None:
    for path in site.rglob("*"):
        if path.suffix in (".html", ".json"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"cust\d{3}|secret-cust", text), path
