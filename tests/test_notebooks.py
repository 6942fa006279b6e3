"""The report end to end: papermill executes the real templates on fixture data once per
session (kernels are slow to start), then many small tests read the executed notebooks.

Fixture data (tests/fixtures/report/site_*): regions Europe, Asia Pacific (with an agent named
``<img src=x onerror=alert(1)>``), ``<script>alert(1)</script>``, and ``Côte d'Ivoire`` (the
dormant region: its calls all fall before the reporting period, the no-data page; its
apostrophe must survive the navbar's links).
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import Built, report_inputs

from support_analytics import config, pipeline
from support_analytics.etl import run_etl_step
from support_analytics.report import charts, metrics
from support_analytics.report import pages as report_pages

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "report"
XSS_AGENT = "<img src=x onerror=alert(1)>"
XSS_REGION = "<script>alert(1)</script>"
DORMANT = "Côte d'Ivoire"
PAGES = {"data-quality", "overview", "planning"}  # regions: a selection on the overview


def _code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _html_outputs(nb: Any) -> list[str]:
    """The markup every output carries (raw HTML blocks inside text/markdown)."""
    return [
        o["data"]["text/markdown"]
        for c in _code_cells(nb)
        for o in c.outputs
        if o.output_type in ("display_data", "execute_result") and "text/markdown" in o["data"]
    ]


def _all_output_text(nb: Any) -> str:
    parts = []
    for c in _code_cells(nb):
        for o in c.outputs:
            if o.output_type == "stream":
                parts.append(o.text)
            elif "data" in o:
                parts.extend(str(v) for v in o["data"].values())
    return "\n".join(parts)


def _valueboxes(nb: Any) -> list[tuple[str, dict[str, Any]]]:
    """(title, {value, change, color}) of every value box a page shows."""
    boxes = []
    for markup in _html_outputs(nb):
        soup = BeautifulSoup(markup, "html.parser")
        for box in soup.select(".sa-valuebox"):
            change = box.select_one(".sa-kpi-change")
            color = next(c[3:] for c in box["class"] if c.startswith("bg-"))
            boxes.append(
                (
                    box.select_one(".sa-box-title").get_text(),
                    {
                        "value": box.select_one(".sa-kpi-value").get_text(),
                        "change": change.get_text() if change else None,
                        "color": color,
                    },
                )
            )
    return boxes


def _table_spec(cell: Any) -> dict[str, Any]:
    [markup] = [o["data"]["text/markdown"] for o in cell.outputs if "data" in o]
    return json.loads(re.search(r"var spec = (\{.*\});", markup).group(1))


def _chart_cells(nb: Any) -> list[Any]:
    return [
        c
        for c in _code_cells(nb)
        if "#| title:" in c.source
        and "table(" not in c.source
        and "region_comparison" not in c.source
    ]


def test_every_page_is_built(built: Built) -> None:
    assert {p.stem for p in built.reports.glob("*.ipynb")} == PAGES
    assert sorted(built.result.executed) == sorted(PAGES)


def test_no_cell_errored(built: Built) -> None:
    for page in PAGES:
        for cell in _code_cells(built.nb(page)):
            assert not [o for o in cell.outputs if o.output_type == "error"], (page, cell.source)


def test_every_chart_cell_stores_a_plotly_figure_as_markup(built: Built) -> None:
    # Not the planning page: half its titled cells are tables and text (backtest scores, the
    # staffing summary); tests/test_planning.py checks its figures.
    for page in PAGES - {"planning"}:
        cells = _chart_cells(built.nb(page))
        assert cells, page
        for cell in cells:
            markup = [o["data"].get("text/markdown", "") for o in cell.outputs if "data" in o]
            assert any("Plotly.newPlot" in m for m in markup), (page, cell.source)


def test_no_output_is_text_html_or_carries_a_library(built: Built) -> None:
    # Any text/html output makes Quarto add require.js and jQuery from a CDN; plotly.js and
    # the table script come once per site (website.py), so every output stays small.
    for page in PAGES:
        for cell in _code_cells(built.nb(page)):
            for output in cell.outputs:
                data = output.get("data", {})
                assert "text/html" not in data, (page, cell.source)
                for markup in data.values():
                    text = json.dumps(markup) if not isinstance(markup, str) else markup
                    assert len(text) < 200_000, (page, cell.source)
                    # the one script a page loads itself: the overview's data, beside it
                    srcs = re.findall(r"<script[^>]*\ssrc=\"([^\"]*)\"", text)
                    assert set(srcs) <= {config.SLICES_FILE_NAME}, page


def test_tables_are_markup_with_json_rows(built: Built) -> None:
    cell = next(c for c in _code_cells(built.nb("overview")) if "interactive_table" in c.source)
    spec = _table_spec(cell)
    assert [c["title"] for c in spec["columns"]][:3] == ["Agent", "Region", "Calls"]
    assert XSS_AGENT in {row[0] for row in spec["rows"]}  # a name, drawn as text by the page
    assert spec["pageLength"] in spec["lengthMenu"]
    quality = built.nb("data-quality")
    for cell in _code_cells(quality):
        if "interactive_table" in cell.source:
            spec = _table_spec(cell)
            assert not spec["paging"] or spec["pageLength"] in spec["lengthMenu"], cell.source


def test_value_boxes_show_value_and_change_apart(built: Built) -> None:
    for page in PAGES - {"planning"}:  # no value boxes on the planning page
        boxes = _valueboxes(built.nb(page))
        assert len(boxes) >= 5, page
        for title, box in boxes:
            assert "(" not in box["value"] and "▲" not in box["value"], (page, title)
            assert box["color"] in {"primary", "success", "danger", "secondary", "warning"}
    overview = dict(_valueboxes(built.nb("overview")))
    assert overview["Calls"]["change"].startswith(("▲", "▼", "="))


def _number(value: str) -> float:
    return float(re.match(r"[\d,.]+", value).group(0).replace(",", ""))


@pytest.fixture(scope="module")
def region_pages(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The dashboard template executed for one region, as a user can from JupyterLab (the
    site shows regions as a selection on the overview): Europe, and the dormant one (no calls)."""
    out = tmp_path_factory.mktemp("region-pages")
    executed = {}
    for region in ("Europe", DORMANT):
        job = report_pages.NotebookJob(
            region.lower(),
            config.NOTEBOOKS_DIR / config.DASHBOARD_TEMPLATE_NAME,
            {"parquet_path": str(built.parquet), "region": region, "title": region},
            region,
        )
        report_pages.execute_job(job, out)
        executed[region] = nbformat.read(job.output(out), as_version=4)
    return executed


@pytest.mark.parametrize("region", [None, "Europe"])
def test_value_box_numbers_equal_metrics_computed_directly(
    built: Built, region_pages: dict[str, Any], region: str | None
) -> None:
    direct = metrics.kpis(metrics.segment(built.parquet, region))
    boxes = dict(_valueboxes(built.nb("overview") if region is None else region_pages[region]))
    assert _number(boxes["Calls"]["value"]) == direct["calls"] > 0
    assert _number(boxes["Average handle time"]["value"]) == pytest.approx(direct["aht"], abs=0.05)
    assert _number(boxes["CSAT (rated calls)"]["value"]) == pytest.approx(direct["csat"], abs=0.005)
    for title, key in [
        ("Resolution rate", "resolution_rate"),
        ("First-contact resolution", "fcr"),
        ("Escalation rate", "escalation_rate"),
    ]:
        assert _number(boxes[title]["value"]) == pytest.approx(100 * direct[key], abs=0.05)


def test_region_without_calls_shows_the_no_data_state(region_pages: dict[str, Any]) -> None:
    nb = region_pages[DORMANT]
    text = _all_output_text(nb)
    assert "No data for this segment" in text
    boxes = dict(_valueboxes(nb))
    assert boxes["Calls"]["value"] == "0"
    assert boxes["Average handle time"]["value"] == "–"
    for cell in _chart_cells(nb):
        if "daily_volume" not in cell.source:  # the history still has the earlier calls
            markup = "".join(
                o["data"].get("text/markdown", "") for o in cell.outputs if "data" in o
            )
            assert "No calls for this segment" in markup, cell.source


def test_pages_with_data_show_no_notice(built: Built) -> None:
    assert "No data for this segment" not in _all_output_text(built.nb("overview"))


def test_region_comparison_and_filters_only_on_the_overview(
    built: Built, region_pages: dict[str, Any]
) -> None:
    def outputs(nb: Any, call: str) -> list[Any]:
        return next(c for c in _code_cells(nb) if call in c.source).outputs

    assert outputs(built.nb("overview"), "region_comparison")
    assert outputs(region_pages["Europe"], "region_comparison") == []
    assert "sa-slicer" in "".join(_html_outputs(built.nb("overview")))
    assert outputs(region_pages["Europe"], "slicer_controls") == []


def test_names_from_the_data_appear_only_escaped(built: Built) -> None:
    for page in PAGES:
        nb = built.nb(page)
        html = "\n".join(_html_outputs(nb))
        assert XSS_AGENT not in html and XSS_REGION not in html, page
        boxes = repr(_valueboxes(nb))
        assert XSS_AGENT not in boxes and XSS_REGION not in boxes, page


def test_printed_text_only_in_cells_hidden_from_the_site(built: Built) -> None:
    # Quarto drops the outputs of `#| output: false` cells; the nbval summary lives there.
    for page in PAGES:
        for cell in _code_cells(built.nb(page)):
            if any(o.output_type == "stream" for o in cell.outputs):
                assert "#| output: false" in cell.source, (page, cell.source)
    overview = "\n".join(_html_outputs(built.nb("overview")))
    # the region comparison: escaped for Plotly, then \u-escaped inside the script
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;\\u002fscript\\u0026gt;" in overview


def test_no_customer_id_is_ever_shown(built: Built) -> None:
    for page in PAGES:
        text = _all_output_text(built.nb(page))
        assert not re.search(r"cust\d{3}|secret-cust", text), page


def test_front_matter_is_a_raw_first_cell_with_an_escaped_title(built: Built) -> None:
    for page in PAGES:
        first = built.nb(page).cells[0]
        assert first.cell_type == "raw"
        front = yaml.safe_load(first.source.strip().strip("-"))
        assert "dashboard" in front["format"]
    meta = (built.root / config.SITE_META_NAME).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in meta and XSS_REGION not in meta


def test_injected_parameters_make_no_card(region_pages: dict[str, Any]) -> None:
    nb = region_pages["Europe"]
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and injected[0].outputs == []
    assert "region = 'Europe'" in injected[0].source or 'region = "Europe"' in injected[0].source


def test_data_quality_page_counts_match_the_manifest(built: Built) -> None:
    boxes = dict(_valueboxes(built.nb("data-quality")))
    manifest = run_etl_step(*report_inputs(built.root).values()).manifest
    counts = metrics.row_counts(manifest)
    assert _number(boxes["Lines read"]["value"]) == counts["input"] == 223
    assert _number(boxes["Lines rejected"]["value"]) == counts["rejected"] == 3
    assert boxes["Lines rejected"]["color"] == "warning"


def test_rerun_with_nothing_changed_executes_nothing(built: Built) -> None:
    again = pipeline.build_report(
        built.root, **report_inputs(built.root), render=False, progress=False
    )
    assert again.executed == [] and set(again.skipped) == PAGES


def test_cli_report_says_unchanged_and_fails_in_one_line_without_quarto(built: Built) -> None:
    # PATH without any folder that holds a quarto, so the missing-quarto path runs here too
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    path = [d for d in path if not (Path(d) / "quarto").exists()]
    if (Path(sys.executable).parent / "quarto").exists():
        pytest.skip("quarto is installed in this environment: it cannot be hidden from PATH")
    args = [sys.executable, "-m", "support_analytics", "report", "--root", str(built.root)]
    for flag, p in report_inputs(built.root).items():
        args += [f"--{flag}", str(p)]
    env = {**os.environ, "PATH": os.pathsep.join(path)}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert "unchanged" in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "pip install quarto-cli" in errors[0]


def test_quarto_config_targets_and_navbar_links_exist(built: Built) -> None:
    project = yaml.safe_load((built.root / "_quarto.yml").read_text())
    assert project["project"]["type"] == "website"
    assert project["project"]["output-dir"] == "_site"
    for target in project["project"]["render"]:
        assert glob.glob(str(built.root / target)), target
    assert config.SITE_META_NAME in project["metadata-files"]
    meta = yaml.safe_load((built.root / config.SITE_META_NAME).read_text())
    navbar = project["website"]["navbar"]
    [regions_menu] = meta["website"]["navbar"]["left"]
    assert regions_menu["text"] == "Regions"
    entries = navbar["left"] + regions_menu["menu"] + navbar["right"]
    texts = [e["text"] for e in entries]
    assert texts[0] == "Overview" and texts[-2:] == ["Data quality", "About"]
    for entry in entries:
        assert (built.root / entry["href"].split("#")[0]).exists(), entry
    linked = {Path(e["href"].split("#")[0]).stem for e in entries}
    assert linked >= PAGES
    # written for Quarto, which decodes navbar hrefs twice (site.quarto_proof)
    assert "reports/overview.ipynb#region=Asia%252520Pacific" in [
        e["href"] for e in regions_menu["menu"]
    ]


def test_nbval_reexecution_matches_the_checked_outputs(built: Built, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    notebooks = [built.reports / f"{p}.ipynb" for p in ("data-quality", "overview")]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-c",
            str(tmp_path / "pytest.ini"),
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-sanitize-with",
            str(FIXTURES / "nbval_sanitize.cfg"),
            *map(str, notebooks),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "passed" in proc.stdout


def test_parameters_reach_the_notebook_as_plain_values(built: Built, tmp_path: Path) -> None:
    title = 'He said "hi" \'there\'\nline two "); import os; ("'
    job = report_pages.NotebookJob(
        "custom",
        config.NOTEBOOKS_DIR / config.DASHBOARD_TEMPLATE_NAME,
        {"parquet_path": str(built.parquet), "region": "Europe", "title": title},
        "Custom",
    )
    report_pages.execute_job(job, tmp_path)
    nb = nbformat.read(tmp_path / "custom.ipynb", as_version=4)
    summary = next(c for c in _code_cells(nb) if "kpi_summary" in c.source)
    assert summary.outputs[0].text.startswith(f"title: {title}\nregion: Europe\n")
    front = yaml.safe_load(nb.cells[0].source.strip("-\n"))
    assert front["title"] == title


def test_quarto_renders_the_site(site: Path) -> None:
    assert (site / "index.html").exists() and (site / "about.html").exists()
    for page in PAGES:
        html = (site / "reports" / f"{page}.html").read_text(encoding="utf-8")
        assert "Unable to display output" not in html
        assert XSS_REGION not in html and XSS_AGENT not in html


#: What a notebook may import: the two public packages (tests/test_layout.py holds the rest).
NOTEBOOK_IMPORTS = ("from support_analytics.report import", "from support_analytics.etl import")


def test_templates_are_stripped_and_thin() -> None:
    for name in (config.DASHBOARD_TEMPLATE_NAME, config.ETL_TEMPLATE_NAME):
        nb = nbformat.read(config.NOTEBOOKS_DIR / name, as_version=4)
        assert nb.cells[0].cell_type == "raw" and "dashboard" in nb.cells[0].source
        code = _code_cells(nb)
        assert all(c.outputs == [] and c.execution_count is None for c in code), name
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        for cell in code:
            source = cell.source
            assert not re.search(r"^\s*(def|class) |\bSELECT\b|\.groupby\(|\.merge\(", source, re.M)
            for line in source.splitlines():
                if line.startswith(("import ", "from ")):
                    assert line.startswith(NOTEBOOK_IMPORTS), line


def test_chart_builders_are_what_the_notebooks_call() -> None:
    source = (config.NOTEBOOKS_DIR / config.DASHBOARD_TEMPLATE_NAME).read_text()
    for name in ("daily_volume", "hour_weekday", "duration_distribution", "issue_breakdown"):
        assert f"charts.{name}(" in source and hasattr(charts, name)
