"""The overview's controls used as a person uses them, in headless Chromium over the fixture site
(real Quarto, opened from file://): pickers clicked where they are seen at 1400, 1024 and 390 px
and driven by keyboard alone, dates typed digit by digit, the navbar's menus and the title
clicked with a selection in the URL, a region with an apostrophe followed from the navbar,
the comparison note, the page default of ``--start-date/--end-date`` and the navbar search.

Each test failed on the code before it (the lists were clipped by the toolbar, Escape on the
Regions menu left ``overview.html#``, typing 02012026 ended at 0026-02-12, search alerted).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import NO_CHROMIUM
from test_notebooks import DORMANT

from support_analytics.report import browser as sb
from support_analytics.report import charts, labels, metrics

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sb.CHROMIUM is None, reason=NO_CHROMIUM)]


def _open(chromium, path: Path, fragment: str = "", size: str = "desktop"):
    page = sb.open_page(chromium, path.as_uri() + fragment, size)
    page.wait_for_selector(".sa-slicer[data-sa-ready]", timeout=20_000)
    return page


def _overview(site: Path) -> Path:
    return site / "reports" / "overview.html"


def _state(page) -> dict:
    return page.evaluate(
        """() => ({
          hash: location.hash,
          status: document.querySelector('.sa-status').textContent,
          header: document.querySelector('#quarto-dashboard-header .navbar-title-text')
            .textContent.trim(),
          focus: document.activeElement.id || document.activeElement.className,
        })"""
    )


# --- pickers -----------------------------------------------------------------------------------
_HIT = """(sel) => {
  const input = document.querySelector(sel);
  input.scrollIntoView({block: 'nearest'});
  const r = input.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = document.elementFromPoint(x, y);
  return {x, y, hit: hit === input, what: hit ? hit.outerHTML.slice(0, 80) : null};
}"""


@pytest.mark.parametrize("size", list(sb.SIZES))
@pytest.mark.parametrize("dim", ["regions", "issues"])
def test_a_picker_is_usable_where_it_is_seen(site: Path, chromium, size: str, dim: str) -> None:
    """Open the list, click its last checkbox at the point where it is drawn (the first thing
    under that point must be the checkbox, not a value box over it): the selection changes."""
    page = _open(chromium, _overview(site), size=size)
    try:
        picker = f".sa-pick[data-dim={dim}]"
        page.click(f"{picker} .sa-pick-button")
        boxes = page.locator(f"{picker} input[type=checkbox]")
        assert boxes.count() >= 3
        last = f"{picker} .sa-pick-option:last-of-type input"
        name = page.eval_on_selector(last, "i => i.value")
        spot = page.evaluate(_HIT, last)
        assert spot["hit"], f"something else is drawn over the checkbox: {spot['what']}"
        page.mouse.click(spot["x"], spot["y"])
        assert not page.is_checked(last)
        assert boxes.count() - 1 == page.locator(f"{picker} input:checked").count()
        key = "region" if dim == "regions" else "issue"
        assert re.match(f"#{key}=", page.evaluate("() => location.hash"))
        assert name not in page.evaluate("() => decodeURIComponent(location.hash)").split("=")[1]
        assert page.is_visible(f"{picker} .sa-pick-options")  # still open for the next click
    finally:
        page.context.close()


def test_the_wheel_over_an_open_list_leaves_the_toolbar_alone(site: Path, chromium) -> None:
    page = _open(chromium, _overview(site), size="laptop")
    try:
        page.click(".sa-pick[data-dim=regions] .sa-pick-button")
        box = page.locator(".sa-pick[data-dim=regions] .sa-pick-options").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(200)
        scrolled = page.evaluate(
            "() => document.querySelector('.toolbar > .cell-output:has(.sa-slicer)').scrollTop"
        )
        assert scrolled == 0
        assert page.is_visible("text=Reset all")
    finally:
        page.context.close()


def test_escape_and_an_outside_click_close_a_picker(site: Path, chromium) -> None:
    page = _open(chromium, _overview(site))
    try:
        options = ".sa-pick[data-dim=regions] .sa-pick-options"
        page.click(".sa-pick[data-dim=regions] .sa-pick-button")
        assert page.is_visible(options)
        page.keyboard.press("Escape")
        assert not page.is_visible(options)
        page.click(".sa-pick[data-dim=regions] .sa-pick-button")
        page.mouse.click(5, 600)  # the page beside the value boxes
        assert not page.is_visible(options)
        page.click(".sa-pick[data-dim=regions] .sa-pick-button")
        page.click(".sa-pick[data-dim=issues] .sa-pick-button")  # one list open at a time
        assert not page.is_visible(options)
        assert page.is_visible(".sa-pick[data-dim=issues] .sa-pick-options")
    finally:
        page.context.close()


def test_a_picker_works_by_keyboard_alone(site: Path, chromium) -> None:
    page = _open(chromium, _overview(site))
    try:
        button = "sa-pick-regions-button"
        for _ in range(40):  # Tab from the top of the page to the Region button
            page.keyboard.press("Tab")
            if _state(page)["focus"] == button:
                break
        assert _state(page)["focus"] == button
        page.keyboard.press("Enter")
        assert page.is_visible(".sa-pick[data-dim=regions] .sa-pick-options")
        focused = page.evaluate("() => [document.activeElement.type, document.activeElement.value]")
        first = page.eval_on_selector_all(
            ".sa-pick[data-dim=regions] input", "a => a.map(i => i.value)"
        )
        assert focused == ["checkbox", first[0]]
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Space")  # the second region off
        assert page.evaluate("() => document.activeElement.value") == first[1]
        assert not page.is_checked(".sa-pick[data-dim=regions] input >> nth=1")
        got = page.evaluate("() => location.hash")
        assert got.startswith("#region=") and len(got.split(",")) == len(first) - 1, got
        page.keyboard.press("Escape")
        assert not page.is_visible(".sa-pick[data-dim=regions] .sa-pick-options")
        assert _state(page)["focus"] == button
        page.keyboard.press("Tab")
        assert _state(page)["focus"] == "sa-pick-issues-button"
    finally:
        page.context.close()


# --- the selection survives the page's chrome ----------------------------------------------------
def test_navbar_menus_and_title_links_keep_the_selection(site: Path, chromium) -> None:
    fragment = "#region=Europe&period=all_data"
    page = _open(chromium, _overview(site), fragment)
    try:
        before = _state(page)
        assert before["header"] == "Europe"  # the header names the selection
        assert page.title().startswith("Europe")
        page.click("#nav-menu-regions")
        page.keyboard.press("Escape")
        assert _state(page)["hash"] == fragment
        page.click("#nav-menu-regions")
        page.mouse.click(700, 700)  # closing the menu by a click elsewhere
        page.click("#quarto-dashboard-header .navbar-title-text a")  # the title link
        page.click(".navbar-nav .nav-link[href$='overview.html']")  # Overview, on the overview
        page.wait_for_timeout(300)
        after = _state(page)
        assert after["hash"] == fragment
        assert after["status"] == before["status"] and after["header"] == "Europe"
        page.reload()
        page.wait_for_selector(".sa-slicer[data-sa-ready]")
        assert _state(page)["status"] == before["status"]
        page.emulate_media(media="print")  # and on paper
        title = page.locator("#quarto-dashboard-header .navbar-title-text")
        assert title.is_visible() and title.text_content().strip() == "Europe"
    finally:
        page.context.close()


def test_every_region_round_trips_through_the_navbar(site: Path, chromium, built) -> None:
    """Each Regions menu entry, followed from another page, opens the overview with exactly
    that region selected: Côte d'Ivoire (Quarto curled its apostrophe), a name with a space,
    and <script>alert(1)</script> (reserved characters)."""
    regions = metrics.regions(built.parquet)
    assert DORMANT in regions and "Asia Pacific" in regions
    opened = {}
    for region in regions:
        page = sb.open_page(chromium, (site / "index.html").as_uri(), "desktop")
        try:
            page.click("#nav-menu-regions")
            page.locator("a.dropdown-item", has_text=region).first.click()
            page.wait_for_selector(".sa-slicer[data-sa-ready]", timeout=20_000)
            state = _state(page)
            checked = page.eval_on_selector_all(
                ".sa-pick[data-dim=regions] input:checked", "a => a.map(i => i.value)"
            )
            named = region in state["status"] and "All regions" not in state["status"]
            opened[region] = (checked, state["header"], named)
        finally:
            page.context.close()
    assert opened == {region: ([region], region, True) for region in regions}


# --- dates -------------------------------------------------------------------------------------
_COUNT_REDRAWS = """() => { window.saRedraws = 0; document.querySelector('.sa-slicer')
  .addEventListener('sa-redrawn', () => { window.saRedraws += 1; }); }"""


def _date_order(page) -> str:
    """How this Chromium lays out a date field (en-US: mm/dd/yyyy), from its own formatter."""
    return page.evaluate(
        "() => new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2026, 1, 3))"
        ".filter(p => p.type !== 'literal').map(p => p.type[0]).join('')"
    )


def _typed(day: str, order: str) -> str:
    y, m, d = day.split("-")
    return "".join({"y": y, "m": m, "d": d}[k] for k in order)


def test_a_typed_date_is_taken_once_complete(site: Path, chromium, built) -> None:
    first, last, _ = metrics.data_range(built.parquet)
    page = _open(chromium, _overview(site))
    try:
        page.evaluate(_COUNT_REDRAWS)
        page.focus(".sa-from")  # the field's first part
        page.keyboard.type(_typed(first.isoformat(), _date_order(page)), delay=30)
        assert page.evaluate("() => window.saRedraws") == 0  # nothing redrawn mid-typing
        for _ in range(3):  # out of the field (Chrome tabs through its calendar button first)
            page.keyboard.press("Tab")
            if not page.evaluate("() => document.activeElement.matches('.sa-from')"):
                break
        assert page.input_value(".sa-from") == first.isoformat()
        assert page.evaluate("() => window.saRedraws") == 1
        # the data's whole range: the fixture's data is shorter than the default 28 days
        assert page.evaluate("() => location.hash") == "#period=all_data"
        assert page.eval_on_selector(".sa-preset", "s => s.value") == "all_data"
        assert f"{first} to {last}" in _state(page)["status"]
    finally:
        page.context.close()


def test_from_after_to_is_explained_not_undone(site: Path, chromium, built) -> None:
    _, last, _ = metrics.data_range(built.parquet)
    late = (last + timedelta(days=3)).isoformat()
    page = _open(chromium, _overview(site))
    try:
        before = _state(page)
        page.focus(".sa-from")
        page.keyboard.type(_typed(late, _date_order(page)), delay=30)
        page.keyboard.press("Enter")
        note = page.locator(".sa-date-note")
        assert note.is_visible() and "is after To" in note.text_content()
        assert page.input_value(".sa-from") == late  # what was typed stays, to be corrected
        assert _state(page)["status"] == before["status"] and _state(page)["hash"] == ""
        page.click(".sa-reset")
        assert not note.is_visible()
    finally:
        page.context.close()


def test_custom_range_leaves_no_period_in_the_link(site: Path, chromium) -> None:
    page = _open(chromium, _overview(site), "#period=all_data")
    try:
        page.select_option(".sa-preset", "custom")
        hash_ = page.evaluate("() => location.hash")
        assert "period=" not in hash_ and "from=" in hash_ and "to=" in hash_
    finally:
        page.context.close()


# --- honest comparisons ---------------------------------------------------------------------------
def test_no_change_is_shown_against_a_previous_period_outside_the_data(
    site: Path, chromium, built
) -> None:
    """The page's note and colour equal charts.value_box's for the same selection."""
    first, _, _ = metrics.data_range(built.parquet)
    start, end = first + timedelta(days=3), first + timedelta(days=9)
    page = _open(chromium, _overview(site), f"#from={start}&to={end}")
    try:
        shown = page.evaluate(
            """() => [...document.querySelectorAll('.sa-valuebox[data-kpi]')].map(b => [
                 b.dataset.kpi, b.querySelector('.sa-kpi-change').textContent,
                 (b.className.match(/\\bbg-([a-z]+)/) || [])[1]])"""
        )
        status = _state(page)["status"]
    finally:
        page.context.close()
    comparison = metrics.kpi_comparison(metrics.segment(built.parquet, None, start, end))
    assert comparison["calls"].coverage == "partial"
    want = [[k, (b := charts.value_box(comparison[k])).change, b.color] for k, *_ in shown]
    assert shown == want
    assert all(change == labels.COVERAGE_NOTES["partial"] for _, change, _ in shown)
    assert "%" not in "".join(change for _, change, _ in shown)
    assert "compared with" not in status and "partly before the data" in status


# --- the page's default period (report --start-date/--end-date) -----------------------------------
def test_the_reports_dates_are_the_pages_default_selection(site: Path, chromium, built) -> None:
    """The overview as `report --start-date --end-date` writes it (charts.slicer_controls puts
    the period into the page's config; test_charts checks that): it opens on that range as a
    custom range, with an empty fragment, and Reset all returns to it."""
    first, _, _ = metrics.data_range(built.parquet)
    start, end = first + timedelta(days=7), first + timedelta(days=20)
    html = _overview(site).read_text(encoding="utf-8")
    config = re.search(r'"default_period": \{[^}]*\}', html)
    assert config, "the overview carries its default period"
    wanted = json.dumps({"from": start.isoformat(), "to": end.isoformat()})
    ranged = site / "reports" / "overview-ranged.html"  # beside the page: same libraries
    ranged.write_text(html.replace(config.group(0), f'"default_period": {wanted}'), "utf-8")
    try:
        page = _open(chromium, ranged)
        try:
            assert page.input_value(".sa-from") == start.isoformat()
            assert page.input_value(".sa-to") == end.isoformat()
            assert page.eval_on_selector(".sa-preset", "s => s.value") == "custom"
            assert f"{start} to {end}" in _state(page)["status"]
            assert _state(page)["hash"] == ""
            page.select_option(".sa-preset", "last_28_days")
            assert _state(page)["hash"] == "#period=last_28_days"  # no longer the default
            page.click(".sa-reset")
            assert _state(page)["hash"] == "" and f"{start} to {end}" in _state(page)["status"]
        finally:
            page.context.close()
    finally:
        ranged.unlink()


# --- names in charts ------------------------------------------------------------------------------
QUOTED = '"refunds" after a chargeback, second-line billing team'  # an issue type of the fixture
_CHART_TEXT = "() => [...document.querySelectorAll('.sa-plot svg text')].map(t => t.textContent)"


def test_chart_names_are_escaped_once_and_cut_as_python_and_the_redraw_agree(
    site: Path, chromium
) -> None:
    """The first render (Python) and the filters' redraw (dashboard.js) label the long quoted
    issue type alike: quotes as typed, never &quot;, cut with an ellipsis."""
    cut = labels.chart_text(labels.shorten(labels.humanize(QUOTED)))
    page = _open(chromium, _overview(site))
    try:
        first = page.evaluate(_CHART_TEXT)
        page.select_option(".sa-preset", "all_data")  # every chart redrawn by the page
        page.wait_for_timeout(300)
        redrawn = page.evaluate(_CHART_TEXT)
        options = page.eval_on_selector_all(
            ".sa-pick[data-dim=issues] .sa-pick-name", "a => a.map(n => n.textContent)"
        )
    finally:
        page.context.close()
    for texts in (first, redrawn):
        joined = "\n".join(texts)
        assert "&quot;" not in joined and "&amp;" not in joined
        assert cut in texts and cut.endswith("…")
        assert labels.humanize(QUOTED) not in texts  # never drawn whole in a chart
    assert labels.humanize(QUOTED) in options  # the picker shows it whole (CSS may cut it)


# --- search ------------------------------------------------------------------------------------
def test_navbar_search_finds_pages_from_file_urls(site: Path, chromium) -> None:
    report = sb.PageReport("search", "desktop")
    page = sb.open_page(chromium, (site / "index.html").as_uri(), "desktop", report)
    try:
        page.click("#quarto-search")
        page.keyboard.type("quality", delay=20)
        page.wait_for_selector(".aa-Item", timeout=10_000)
        items = page.eval_on_selector_all(".aa-Item", "a => a.map(i => i.textContent)")
        dialog = page.evaluate(f"() => document.documentElement.hasAttribute('{sb.DIALOG_ATTR}')")
    finally:
        page.context.close()
    assert items and any("quality" in i.lower() for i in items)
    assert not dialog  # Quarto alerted "Search requires ... a web server"
    assert report.console_errors == []
