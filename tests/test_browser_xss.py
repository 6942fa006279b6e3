"""Issue 6 §3 in a real browser: the executed report pages, loaded in headless Debian chromium,
contain no element injected from the data once their scripts (plotly, DataTables) have run.

Reuses test_notebooks' session build (fixture data with an agent named
``<img src=x onerror=alert(1)>`` and a region named ``<script>alert(1)</script>``; the conftest
fixture `built` is shared by both modules). Each page is converted with nbconvert's
``HTMLExporter``, which keeps the stored text/html outputs as they are (the closest thing to the
Quarto page available here), then dumped with ``chromium --headless --dump-dom`` after a virtual
time budget, and the live DOM is parsed with ``html.parser``.

The test cannot pass vacuously: every page must show drawn plotly graphs and a DataTables table,
the hostile names must appear as *text* where the data puts them, and a canary page with real
injected markup must be caught by the same checks. A sentinel script placed first in ``<head>``
also marks ``<html>`` if anything calls ``alert``/``confirm``/``prompt``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import Built
from nbconvert import HTMLExporter
from test_notebooks import XSS_AGENT, XSS_REGION

CHROMIUM = shutil.which("chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=10000",
    "--dump-dom",
)
SENTINEL_ATTR = "data-xss-dialog"
SENTINEL = (
    "<script>(function(){var mark=function(){document.documentElement.setAttribute("
    f"'{SENTINEL_ATTR}','1');}};window.alert=mark;window.confirm=mark;window.prompt=mark;}})();"
    "</script>"
)
#: page -> (hostile strings that must show as text in its DataTables table, in its plotly SVG)
PAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "overview": ((XSS_AGENT, XSS_REGION), (XSS_REGION,)),
    "region-asia-pacific": ((XSS_AGENT,), ()),
    "region-script-alert-1-script": ((XSS_REGION,), ()),
    "data-quality": ((), ()),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless browser check needs Debian's `chromium` on PATH "
        "(apt-get install chromium; .ci/run installs it when apt-get is available)",
    ),
]


def _with_sentinel(html: str) -> str:
    head = html.find("<head>")
    assert head >= 0, "nbconvert page has no <head>"
    at = head + len("<head>")
    return html[:at] + SENTINEL + html[at:]


def _load(page: Path, profile: Path) -> BeautifulSoup:
    """The DOM chromium holds after loading ``page`` from disk and running its scripts."""
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "</html>" in proc.stdout, f"chromium dumped no DOM: {proc.stderr[-2000:]}"
    return BeautifulSoup(proc.stdout, "html.parser")


def _injected(soup: BeautifulSoup) -> list[str]:
    """Every trace of injected markup in a live DOM (empty when the page is clean)."""
    found = [
        f"<img src={img.get('src')!r}>" for img in soup.find_all("img") if img.get("src") == "x"
    ]
    found += [
        "<script>alert(...)</script>"
        for script in soup.find_all("script")
        if script.get_text().strip().startswith("alert(")
    ]
    found += [
        f"<{tag.name} {name}=...>"
        for tag in soup.find_all(True)
        for name in tag.attrs
        if name.lower().startswith("on")  # onerror, onload, ... (the pages use none)
    ]
    if soup.html is not None and soup.html.has_attr(SENTINEL_ATTR):
        found.append("alert/confirm/prompt was called")
    return found


def _texts(nodes: list) -> list[str]:
    return [node.get_text() for node in nodes]


@pytest.fixture(scope="module")
def doms(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BeautifulSoup]:
    """Each checked page, converted to HTML and loaded once."""
    out = tmp_path_factory.mktemp("browser")
    exporter = HTMLExporter()
    loaded = {}
    for name in PAGES:
        html, _ = exporter.from_notebook_node(built.nb(name))
        page = out / f"{name}.html"
        page.write_text(_with_sentinel(html), encoding="utf-8")
        loaded[name] = _load(page, out / f"profile-{name}")
    return loaded


def test_the_checks_catch_a_real_injection(tmp_path: Path) -> None:
    """Canary: the same markup unescaped is executed by this chromium and caught by the checks."""
    page = tmp_path / "canary.html"
    page.write_text(
        _with_sentinel(f"<!DOCTYPE html><html><head></head><body>{XSS_AGENT}{XSS_REGION}</body>")
        + "</html>",
        encoding="utf-8",
    )
    found = _injected(_load(page, tmp_path / "profile"))
    assert "<img src='x'>" in found
    assert "<script>alert(...)</script>" in found
    assert "<img onerror=...>" in found
    assert "alert/confirm/prompt was called" in found


@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_injected_element_after_scripts_ran(
    doms: dict[str, BeautifulSoup], name: str
) -> None:
    assert _injected(doms[name]) == [], name


@pytest.mark.parametrize("name", list(PAGES))
def test_page_rendered_its_graphs_and_table(doms: dict[str, BeautifulSoup], name: str) -> None:
    soup = doms[name]
    graphs = soup.select("div.plotly-graph-div")
    assert graphs, f"{name}: no plotly graph div"
    assert all(g.select_one("svg.main-svg") for g in graphs), f"{name}: a graph was not drawn"
    tables = soup.select(".dt-container table.dataTable, .dataTables_wrapper table.dataTable")
    assert tables, f"{name}: DataTables did not draw a table"
    assert all(t.select("tbody td") for t in tables), f"{name}: a DataTables table has no cells"


@pytest.mark.parametrize("name", list(PAGES))
def test_hostile_names_show_as_text(doms: dict[str, BeautifulSoup], name: str) -> None:
    """Escaped once, not twice: the names read literally where the data puts them."""
    soup = doms[name]
    in_table, in_graph = PAGES[name]
    cells = _texts(soup.select(".dt-container table.dataTable tbody td"))
    labels = _texts(soup.select("div.plotly-graph-div svg text"))
    for text in in_table:
        assert text in cells, f"{name}: {text!r} is not a table cell"
    for text in in_graph:
        assert text in labels, f"{name}: {text!r} is not a chart label"
    visible = [s for s in soup.find_all(string=True) if s.parent.name not in ("script", "style")]
    assert not [s for s in visible if "&lt;" in s], f"{name}: double-escaped text on the page"
