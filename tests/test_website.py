"""The site's post-render step: module scripts made classic, one copy of each library, nothing
from the network. Browser-level proof is in test_site_browser.py; these run without Quarto."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from support_analytics.report import website

NODE = shutil.which("node")


def _run_node(script: str) -> str:
    if NODE is None:
        pytest.skip("node is not on PATH: cannot execute the converted script")
    proc = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_module_with_a_relative_import_becomes_one_classic_script(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "tabs.js").write_text(
        'import * as util from "./util.js";\n'
        "export function init() { return 'tabs:' + util.twice(2); }\n"
        "export const name = 'tabs';\n"
    )
    (tmp_path / "lib" / "util.js").write_text("export function twice(x) { return 2 * x; }\n")
    main = 'import * as tabs from "./lib/tabs.js";\nconsole.log(tabs.init(), tabs.name);\n'
    read = lambda rel: (tmp_path / rel).read_text()  # noqa: E731
    script = website.module_to_classic(main, read)
    assert "import" not in script and "export" not in script
    assert _run_node(script) == "tabs:4 tabs"


def test_export_list_is_kept_on_the_named_global() -> None:
    source = "var a = 1; function b() { return 'b'; }\nexport{a as first,b as default};\n"
    script = website.module_to_classic(source, lambda _: "", "Lib")
    assert (
        _run_node("var window = globalThis;\n" + script + "console.log(Lib.first, Lib.default())")
        == "1 b"
    )


@pytest.mark.parametrize(
    "source",
    [
        'import { x } from "./x.js";\nx();',
        "console.log(import.meta.url);",
        'import("./lazy.js");',
        "export default function () {}",
    ],
)
def test_module_syntax_it_cannot_rewrite_is_refused(source: str) -> None:
    with pytest.raises(website.ModuleConversionError):
        website.module_to_classic(source, lambda _: "")


def test_words_in_strings_and_comments_are_not_syntax() -> None:
    source = "// import it later\nconst s = 'export default';\nexport const v = s;\n"
    script = website.module_to_classic(source, lambda _: "", "M")
    assert _run_node("var window = globalThis;\n" + script + "console.log(M.v)") == "export default"


def _page(site: Path, rel: str, body: str) -> Path:
    page = site / rel
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"<html><head><title>t</title></head><body>{body}</body></html>")
    return page


def test_post_render_fixes_pages_ships_libraries_once_and_is_idempotent(tmp_path: Path) -> None:
    site = tmp_path / "_site"
    libs = site / "site_libs" / "quarto-html"
    libs.mkdir(parents=True)
    (libs / "quarto.js").write_text("export function go() {}\ngo();\n")
    (libs / "light.css").write_text("body{}")
    (libs / "dark.css").write_text("body{}")  # the same bytes under another name
    (site / "site_libs" / "quarto-dashboard").mkdir()
    (site / "site_libs" / "quarto-dashboard" / "pdfmake.min.js").write_text("x" * 100)
    head = (
        '<script src="../site_libs/quarto-html/quarto.js" type="module"></script>'
        '<link href="../site_libs/quarto-html/light.css" rel="stylesheet">'
        '<link href="../site_libs/quarto-html/dark.css" rel="stylesheet">'
    )
    chart = _page(site, "reports/a.html", head + '<div data-sa-needs="plotly tables"></div>')
    plain = _page(site, "index.html", "<p>no charts</p>")
    website.post_render(site)
    html = chart.read_text()
    assert '<script src="../site_libs/quarto-html/quarto.classic.js" defer></script>' in html
    assert html.count('src="../site_libs/support-analytics/plotly.min.js"') == 1
    assert html.count('src="../site_libs/support-analytics/tables.js"') == 1
    # the shorter name is kept (Quarto's "bootstrap-<hash>" over "bootstrap-dark-<hash>")
    assert "light.css" not in html and html.count("dark.css") == 2
    assert "plotly" not in plain.read_text()
    assert not (libs / "quarto.js").exists() and not (libs / "light.css").exists()
    assert not list(site.rglob("pdfmake.min.js"))
    shipped = site / "site_libs" / "support-analytics"
    assert sorted(p.name for p in shipped.iterdir()) == ["plotly.min.js", "tables.js"]
    website.post_render(site)  # a second run (a page rendered alone) changes nothing
    assert chart.read_text() == html


def test_post_render_refuses_a_site_that_loads_from_the_network(tmp_path: Path) -> None:
    site = tmp_path / "_site"
    _page(site, "index.html", '<script src="https://cdn.example.com/x.js"></script>')
    with pytest.raises(RuntimeError, match="cdn.example.com"):
        website.post_render(site)


_QUARTO_SEARCH = """async function readSearchData() {
  if (fuseIndex === undefined) {
    if (window.location.protocol === "file:" && !shownWarning) {
      window.alert("Search requires JavaScript features disabled when running in file://...");
      shownWarning = true;
      return;
    }
    const response = await fetch(offsetURL("search.json"));
  }
}
"""


def _search_site(tmp_path: Path, script: str) -> Path:
    site = tmp_path / "_site"
    (site / "site_libs" / "quarto-search").mkdir(parents=True)
    (site / "site_libs" / "quarto-search" / "quarto-search.js").write_text(script)
    (site / "search.json").write_text('[{"title": "Data quality", "href": "reports/q.html"}]')
    (site / "reports").mkdir()
    (site / "reports" / "q.html").write_text(
        '<html><head><script src="../site_libs/quarto-search/quarto-search.js"></script>'
        "</head><body></body></html>"
    )
    return site


def test_search_index_ships_as_a_script_for_file_urls(tmp_path: Path) -> None:
    """Browsers refuse fetch() of search.json from file://: the index becomes a script the
    page loads first, and Quarto's search reads it instead of fetching (or alerting)."""
    site = _search_site(tmp_path, _QUARTO_SEARCH)
    website.post_render(site)
    website.post_render(site)  # idempotent: one script tag, one patch
    index = site / "site_libs" / website.LIBS_DIR_NAME / website.SEARCH_INDEX_NAME
    assert index.read_text().startswith(f"window.{website.SEARCH_GLOBAL} = [")
    page = (site / "reports" / "q.html").read_text()
    tag = f'<script src="../site_libs/{website.LIBS_DIR_NAME}/{website.SEARCH_INDEX_NAME}">'
    assert page.count(tag) == 1 and page.index(tag) < page.index("quarto-search.js")
    patched = (site / "site_libs" / "quarto-search" / "quarto-search.js").read_text()
    assert patched.count(f"window.{website.SEARCH_GLOBAL}") == 3
    # the patched reader, run: it takes the index from the global, no fetch, no alert
    program = (
        "global.window = {location: {protocol: 'file:'}, alert: () => { throw 'alert'; }};"
        f"{index.read_text()}"
        "let fuseIndex, shownWarning = false; const offsetURL = (u) => u;"
        "global.fetch = () => { throw 'fetch'; };"
        "let seen;"
        + patched.replace("const response =", "seen =")
        + "readSearchData().then(() => seen.json()).then((d) => console.log(d[0].title));"
    )
    assert _run_node(program) == "Data quality"


def test_an_unknown_quarto_search_script_is_refused(tmp_path: Path) -> None:
    site = _search_site(tmp_path, "async function readSearchData() { return fetch(x); }\n")
    with pytest.raises(RuntimeError, match="search script is not the one"):
        website.post_render(site)
