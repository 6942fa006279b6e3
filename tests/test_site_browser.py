"""The rendered site in a real browser: every page of ``_site/`` (real Quarto) opened from disk
in headless Chromium at 1400, 1024 and 390 px, checked for what a user would notice.

Each check is first shown to fail on a canary page built to break it, so none passes
vacuously. The site is built from tests/fixtures/report/site_* (an agent named
``<img src=x onerror=alert(1)>`` and a region named ``<script>alert(1)</script>``).
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import NO_CHROMIUM
from test_notebooks import XSS_AGENT, XSS_REGION

from support_analytics.report import browser as sb
from support_analytics.report import charts, labels, metrics, website

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sb.CHROMIUM is None, reason=NO_CHROMIUM)]


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "canary" not in p.name)


CANARY = """<!DOCTYPE html><html><head>
<script src="../site_libs/support-analytics/plotly.min.js"></script>
</head><body style="width:360px">
<div id="undrawn" class="sa-plot" style="height:200px"></div>
<div class="sa-valuebox" style="width:90px;overflow:hidden;white-space:nowrap">
  <p class="sa-kpi-value">1,234,567,890 calls</p></div>
<div id="legend" class="sa-plot" style="height:300px"></div>
<div id="legend2" class="sa-plot" style="height:300px"></div>
<div id="ticks" class="sa-plot" style="height:300px"></div>
<div id="cut" class="sa-plot" style="height:200px;overflow:hidden"></div>
<div class="card-body"><div style="height:100px"></div>
  <div id="t" class="sa-table-wrap"><div class="sa-dt-top"><label class="sa-dt-length">
  <select><option value="15"></option></select></label></div><table class="sa-dt"></table>
  </div></div>
<img src="http://example.invalid/pixel.png">
<div style="width:2000px;height:1px"></div>
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
Plotly.newPlot("cut", [{x: [1, 2], y: [1, 2]}],
  {height: 320, xaxis: {title: {text: "lines"}}, margin: {b: 8}});
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
    assert "axis text cut off in #cut" in problems
    assert re.search(r"gap of 1\d\d px above a table", problems)
    assert "a table length menu is blank" in problems
    assert "alert/confirm/prompt was called" in problems
    assert re.search(r"page is wider than the screen: 20\d\d px at 1400 px", problems)


@pytest.mark.parametrize("size", list(sb.SIZES))
def test_every_page_is_clean_at_every_size(site: Path, chromium, size: str) -> None:
    pages = _pages(site)
    assert len(pages) == 5  # index, about, data quality, overview (regions: a selection), planning
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
              rows: document.querySelectorAll('.sa-dt tbody tr').length,
              quarto: typeof window.quartoToggleHeadroom,
            })"""
        )
    finally:
        page.context.close()
    assert counts["plots"] >= 5 and counts["boxes"] == 6 and counts["rows"] >= 5
    assert counts["quarto"] == "function"  # Quarto's own script ran from file://


_PAGE_STATE = """() => ({
  cells: [...document.querySelectorAll('.sa-dt tbody td')].map(td => td.textContent),
  labels: [...document.querySelectorAll('.sa-plot svg text')].map(t => t.textContent),
  options: [...document.querySelectorAll('.sa-pick-option')].map(o => o.textContent.trim()),
  status: (document.querySelector('.sa-status') || {}).textContent,
  injected: [...document.querySelectorAll('img[src="x"], [onerror], [onload]')].length,
  doubled: document.body.innerText.includes('&lt;'),
  dialog: document.documentElement.hasAttribute('DIALOG'),
})""".replace("DIALOG", sb.DIALOG_ATTR)


def _overview(chromium, site: Path, fragment: str = "", size: str = "desktop"):
    page = sb.open_page(chromium, (site / "reports" / "overview.html").as_uri() + fragment, size)
    page.wait_for_selector(".sa-slicer[data-sa-ready]", timeout=20_000)
    return page


def test_hostile_names_show_as_text_and_inject_nothing(site: Path, chromium) -> None:
    """Escaped once, not twice: the names read literally where the data puts them (table
    cells, chart labels, filter options, the status line), and no element or handler from the
    data exists in the live page, also for a crafted URL fragment."""
    fragments = {
        "all": "",
        "asia": "#region=Asia%20Pacific",
        "script": "#region=" + quote(XSS_REGION, safe=""),
        "crafted": "#region=<img src=x onerror=alert(1)>&issue=<script>alert(1)</script>",
    }
    found = {}
    for name, fragment in fragments.items():
        page = _overview(chromium, site, fragment)
        try:
            found[name] = page.evaluate(_PAGE_STATE)
        finally:
            page.context.close()
    for name, seen in found.items():
        assert seen["injected"] == 0 and not seen["dialog"] and not seen["doubled"], name
    everything = found["all"]
    assert XSS_AGENT in everything["cells"] and XSS_REGION in everything["cells"]
    assert any(XSS_REGION in label for label in everything["labels"])
    assert XSS_REGION in everything["options"]
    assert XSS_AGENT in found["asia"]["cells"]
    assert found["script"]["status"].startswith(XSS_REGION)
    # an unknown name in the fragment is ignored: the default selection
    assert found["crafted"]["status"] == everything["status"]


def test_libraries_are_shipped_once_per_site(site: Path) -> None:
    libs = site / "site_libs" / website.LIBS_DIR_NAME
    assert (libs / "plotly.min.js").stat().st_size > 1_000_000
    assert (libs / "tables.js").exists()
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


# --- the overview's filters against DuckDB ----------------------------------------------------
_READ = """() => {
  const wrap = document.querySelector('.sa-table-wrap[data-sa-table="leaderboard"]');
  wrap._saTable.setPageLength(Infinity);
  const boxes = {};
  document.querySelectorAll('.sa-valuebox[data-kpi]').forEach(b => {
    const change = b.querySelector('.sa-kpi-change');
    boxes[b.dataset.kpi] = [b.querySelector('.sa-kpi-value').textContent,
                            change && !change.hidden ? change.textContent : null];
  });
  const rows = [...wrap.querySelectorAll('table.sa-dt tbody tr')]
    .filter(tr => !tr.querySelector('td.sa-dt-empty'))
    .map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent));
  return {boxes, rows, hash: location.hash,
          ms: Number(document.querySelector('.sa-slicer').dataset.saRedrawMs)};
}"""
_KPIS = ("calls", "aht", "csat", "resolution_rate", "fcr", "escalation_rate")


def _expected(parquet: Path, regions, issues, start: str, end: str) -> dict:
    """What the page must show for a selection, computed by DuckDB (report.metrics)."""
    seg = metrics.segment(parquet, None, start, end, regions=regions, issues=issues)
    comparison = metrics.kpi_comparison(seg)
    boxes = {
        k: [
            labels.fmt_kpi(k, comparison[k].current),
            None
            if comparison[k].current is None
            else labels.fmt_delta(
                k, comparison[k].delta, comparison[k].delta_pct, comparison[k].coverage
            ),
        ]
        for k in _KPIS
    }
    frame = charts.leaderboard_frame(metrics.agent_leaderboard(seg))
    rows = []
    for record in frame.itertuples(index=False):
        row = []
        for column, value in zip(frame.columns, record, strict=True):
            if column in ("Agent", "Region"):
                row.append(str(value))
            elif value != value:  # NaN
                row.append(labels.MISSING)
            else:
                digits = charts.LEADERBOARD_DECIMALS.get(column, 0)
                row.append(f"{value:,.{digits}f}")
        rows.append(row)
    return {"boxes": boxes, "rows": rows, "coverage": comparison["calls"].coverage}


def _random_selection(
    rng: random.Random, regions: list[str], issues: list[str], lo: date, hi: date
):
    def subset(names: list[str]):
        roll = rng.random()
        if roll < 0.3:
            return None
        if roll < 0.4:
            return []
        return sorted(rng.sample(names, rng.randint(1, len(names))))

    roll = rng.random()
    if roll < 0.5:
        start = lo + timedelta(days=rng.randint(-10, (hi - lo).days))
        end = start + timedelta(days=rng.randint(0, 60))
        period = {"from": start.isoformat(), "to": end.isoformat()}
    else:
        preset = rng.choice(
            ["last_7_days", "last_90_days", "quarter_to_date", "year_to_date", "all_data"]
        )
        period = {"period": preset}
    return subset(regions), subset(issues), period


def _fragment(regions, issues, period: dict) -> str:
    parts = []
    for key, names in (("region", regions), ("issue", issues)):
        if names is not None:
            parts.append(f"{key}=" + ",".join(quote(n, safe="") if n else "~" for n in names))
    parts += [f"{k}={v}" for k, v in period.items()]
    return "#" + "&".join(parts)


def test_filters_give_duckdbs_numbers_for_random_selections(site: Path, chromium, built) -> None:
    """24 seeded selections (regions, issues, presets, custom ranges, empty ones), each opened by
    its link: every value box and every leaderboard row read from the page equals what
    support_analytics.report.metrics computes in DuckDB for the same selection."""
    from support_analytics.report import slices

    parquet = built.parquet
    regions = metrics.regions(parquet)
    issues = sorted(
        metrics.issue_breakdown(metrics.segment(parquet, None, "2000-01-01", "2100-01-01"))[
            "issue_type"
        ].unique()
    )
    lo, hi, _ = metrics.data_range(parquet)
    rng = random.Random(12)
    page = _overview(chromium, site)
    mismatches, timings, kinds = [], [], set()
    try:
        for i in range(24):
            sel_regions, sel_issues, period = _random_selection(rng, regions, issues, lo, hi)
            if "period" in period:
                p = slices.preset_period(period["period"], lo, hi)
                start, end = p.start.isoformat(), p.end.isoformat()
            else:
                start, end = period["from"], period["to"]
            fragment = _fragment(sel_regions, sel_issues, period)
            page.evaluate(
                "f => new Promise(done => { document.querySelector('.sa-slicer')"
                ".addEventListener('sa-redrawn', () => done(), {once: true});"
                " location.hash = f; })",
                fragment,
            )
            shown = page.evaluate(_READ)
            timings.append(shown["ms"])
            want = _expected(parquet, sel_regions, sel_issues, start, end)
            kinds.add("empty" if not want["rows"] else "data")
            kinds.add("period" if "period" in period else "custom")
            kinds.add(f"previous {want['coverage']}")  # compared, or a note instead
            if shown["boxes"] != want["boxes"] or shown["rows"] != want["rows"]:
                mismatches.append(
                    (
                        i,
                        fragment,
                        shown["boxes"],
                        want["boxes"],
                        shown["rows"][:3],
                        want["rows"][:3],
                    )
                )
    finally:
        page.context.close()
    assert mismatches == []
    assert len(timings) == 24
    assert kinds == {"empty", "data", "period", "custom"} | {
        f"previous {c}" for c in ("full", "partial", "none")
    }


def test_controls_update_the_link_and_reset_all_restores_the_default(site: Path, chromium) -> None:
    page = _overview(chromium, site)
    try:
        default = page.evaluate(_PAGE_STATE)
        page.click(".sa-pick[data-dim=regions] .sa-pick-button")
        page.click(".sa-pick[data-dim=regions] button[data-set=none]")
        page.check(".sa-pick[data-dim=regions] input[value='Europe']")
        page.select_option(".sa-preset", "last_7_days")
        hash_ = page.evaluate("() => location.hash")
        chosen = page.evaluate(_PAGE_STATE)
        assert hash_ == "#region=Europe&period=last_7_days"
        assert chosen["status"].startswith("Europe · all issue types · ")
        page.click(".sa-reset")
        assert page.evaluate("() => location.hash") == ""
        assert page.evaluate(_PAGE_STATE)["status"] == default["status"]
    finally:
        page.context.close()
    again = _overview(chromium, site, hash_)  # the link restores the selection
    try:
        restored = again.evaluate(_PAGE_STATE)
        assert restored["status"] == chosen["status"] and restored["cells"] == chosen["cells"]
        assert again.evaluate("() => document.querySelector('.sa-preset').value") == "last_7_days"
    finally:
        again.context.close()


def test_controls_are_labelled_and_reachable_by_keyboard(site: Path, chromium) -> None:
    page = _overview(chromium, site)
    try:
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('.sa-slicer input, .sa-slicer select')]
                 .filter(i => !i.closest('label') && !i.getAttribute('aria-label'))
                 .map(i => i.outerHTML)"""
        )
        assert unlabelled == []
        reached = set()
        page.focus(".sa-pick[data-dim=regions] .sa-pick-button")
        for _ in range(60):
            reached.add(page.evaluate("() => document.activeElement.className"))
            page.keyboard.press("Tab")
        assert {
            "form-select form-select-sm sa-preset",
            "btn btn-sm btn-outline-primary sa-reset",
        } <= reached
        page.focus(".sa-preset")
        page.keyboard.press("ArrowDown")  # keyboard alone changes the period
        assert page.evaluate("() => location.hash") != ""
    finally:
        page.context.close()


@pytest.mark.parametrize("size", list(sb.SIZES))
def test_redrawn_overview_is_clean_at_every_size(site: Path, chromium, size: str) -> None:
    """What the filters draw passes the same checks as the page as built: an empty selection,
    the whole history, one region and issue over a week."""
    problems = []
    for fragment in (
        "#region=",
        "#period=all_data",
        "#region=Europe&issue=billing&period=last_7_days",
    ):
        report = sb.PageReport(fragment, size)
        url = (site / "reports" / "overview.html").as_uri() + fragment
        page = sb.open_page(chromium, url, size, report)
        try:
            page.wait_for_selector(".sa-slicer[data-sa-ready]", timeout=20_000)
            page.wait_for_timeout(300)
            found = page.evaluate(sb.CHECKS_JS) + report.all_problems()
        finally:
            page.context.close()
        problems += [f"{fragment}: {p}" for p in found]
    assert problems == []


def test_rejected_lines_get_the_phones_width(site: Path, chromium) -> None:
    """At 390 px the rejects table's raw text had ~50 px before a sideways scroll: the other
    columns now wrap, and the raw column is seen at a readable width without scrolling."""
    page = sb.open_page(chromium, (site / "reports" / "data-quality.html").as_uri(), "phone")
    try:
        seen = page.evaluate(
            """() => {
              const th = [...document.querySelectorAll('table.sa-dt thead th')]
                .find(h => h.textContent.trim().startsWith('raw'));
              const view = th.closest('.sa-dt-scroll').getBoundingClientRect();
              const r = th.getBoundingClientRect();
              return Math.min(r.right, view.right) - Math.max(r.left, view.left);
            }"""
        )
    finally:
        page.context.close()
    assert seen >= 150


def test_planning_select_shows_the_chosen_series_in_every_card(site: Path, chromium) -> None:
    report = sb.PageReport("planning", "desktop")
    page = sb.open_page(chromium, (site / "reports" / "planning.html").as_uri(), "desktop", report)
    try:
        names = page.evaluate(
            "() => [...document.querySelectorAll('.sa-plan-toolbar option')].map(o => o.text)"
        )
        assert names[0] == "All calls" and len(names) >= 3  # all calls, then each region
        # all calls: a daily and an hourly forecast and the staffing grid (the fixture has
        # over two weeks of calls)
        assert page.locator('[data-sa-plan="0"] .sa-plot').count() == 3
        for i in range(len(names)):
            page.select_option(".sa-plan-toolbar select", str(i))
            shown = page.evaluate(
                """() => [...document.querySelectorAll('[data-sa-plan]')]
                    .filter(el => el.offsetParent !== null)
                    .map(el => el.getAttribute('data-sa-plan'))"""
            )
            assert shown and set(shown) == {str(i)}, (names[i], shown)
            # a chart drawn while hidden had no size: it is drawn once shown (raises if not)
            page.wait_for_function(
                """() => [...document.querySelectorAll('.sa-plot')]
                    .filter(p => p.offsetParent !== null)
                    .every(p => p.querySelector('svg.main-svg'))""",
                timeout=15_000,
            )
    finally:
        page.context.close()
    assert report.all_problems() == []
