"""Report wiring without kernels: planning, skip keys, front matter, site metadata, failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook, new_raw_cell

from support_analytics import config, pipeline
from support_analytics.report import pages
from support_analytics.report import site as report_site

REPORT_FIXTURES = Path(__file__).parent / "fixtures" / "report"


def _job(tmp_path: Path, **params: object) -> pages.NotebookJob:
    template = tmp_path / "t.ipynb"
    if not template.exists():
        template.write_text("{}")
    return pages.NotebookJob("overview", template, dict(params), "Overview")


def test_job_key_changes_with_data_template_and_parameters(tmp_path: Path) -> None:
    job = _job(tmp_path, region=None)
    key = pages.job_key(job, "data1")
    assert pages.job_key(job, "data1") == key
    assert pages.job_key(job, "data2") != key
    assert pages.job_key(_job(tmp_path, region="Europe"), "data1") != key
    job.template.write_text('{"changed": true}')
    assert pages.job_key(job, "data1") != key


def test_front_matter_title_is_escaped_yaml(tmp_path: Path) -> None:
    nb_path = tmp_path / "nb.ipynb"
    nb = new_notebook(cells=[new_raw_cell('---\ntitle: "x"\nformat: dashboard\n---')])
    nbformat.write(nb, nb_path)
    title = 'Region: <script>alert(1)</script> "quoted"\nnext'
    pages.set_front_matter_title(nb_path, title)
    raw = nbformat.read(nb_path, as_version=4).cells[0].source
    front = yaml.safe_load(raw.strip("-\n"))
    assert front["title"] == 'Region: &lt;script&gt;alert(1)&lt;/script&gt; "quoted"\nnext'
    assert front["format"] == "dashboard"


def test_site_meta_lists_each_region_as_a_link_to_the_filtered_overview(tmp_path: Path) -> None:
    regions = ["<b>X</b>", "North America", "a,b&c~", "Côte d'Ivoire"]
    report_site.write_site_meta(tmp_path / "site_meta.yml", regions, tmp_path / "reports")
    meta = yaml.safe_load((tmp_path / "site_meta.yml").read_text())
    # Quarto decodes a navbar href twice: '%' is written '%2525' so the page gets the
    # fragment format of web/slicer.js (',' '&' '~' escaped inside a name) unchanged
    assert meta["website"]["navbar"]["left"] == [
        {
            "text": "Regions",
            "menu": [
                {
                    "text": "&lt;b&gt;X&lt;/b&gt;",
                    "href": "reports/overview.ipynb#region=%25253Cb%25253EX%25253C%25252Fb%25253E",
                },
                {
                    "text": "North America",
                    "href": "reports/overview.ipynb#region=North%252520America",
                },
                {
                    "text": "a,b&amp;c~",
                    "href": "reports/overview.ipynb#region=a%25252Cb%252526c%25257E",
                },
                {  # no bare apostrophe: Quarto's smart quotes would curl it
                    "text": "Côte d&#39;Ivoire",
                    "href": "reports/overview.ipynb#region=C%2525C3%2525B4te%252520d%252527Ivoire",
                },
            ],
        }
    ]
    report_site.write_site_meta(tmp_path / "site_meta.yml", [], tmp_path / "reports")
    assert yaml.safe_load((tmp_path / "site_meta.yml").read_text())["website"]["navbar"] == {
        "left": []
    }


def _inputs(tmp_path: Path) -> dict[str, Path]:
    return {
        "calls": REPORT_FIXTURES / "metrics_calls.json",
        "agents": REPORT_FIXTURES / "metrics_agents.csv",
        "output": tmp_path / "data" / "c.parquet",
        "manifest": tmp_path / "data" / "m.json",
        "rejects": tmp_path / "data" / "r.jsonl",
    }


def test_second_run_with_nothing_changed_executes_nothing(tmp_path: Path) -> None:
    ran: list[str] = []

    def fake_execute(job: pages.NotebookJob, reports_dir: Path) -> float:
        ran.append(job.name)
        job.output(reports_dir).write_text("{}")
        return 0.0

    first = pipeline.build_report(
        tmp_path, **_inputs(tmp_path), render=False, progress=False, execute=fake_execute
    )
    assert sorted(first.executed) == ["data-quality", "overview", "planning"]
    assert (tmp_path / "reports" / config.SLICES_FILE_NAME).exists()
    ran.clear()
    second = pipeline.build_report(
        tmp_path, **_inputs(tmp_path), render=False, progress=False, execute=fake_execute
    )
    assert ran == [] and len(second.skipped) == 3
    third = pipeline.build_report(
        tmp_path,
        **_inputs(tmp_path),
        end_date="2026-01-20",
        render=False,
        progress=False,
        execute=fake_execute,
    )
    assert "data-quality" in third.skipped and "overview" in third.executed


def test_without_quarto_the_notebooks_are_done_then_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_site.shutil, "which", lambda _name: None)
    (tmp_path / config.QUARTO_CONFIG_NAME).write_text("project: {type: website}\n")

    def fake_execute(job: pages.NotebookJob, reports_dir: Path) -> float:
        job.output(reports_dir).write_text("{}")
        return 0.0

    with pytest.raises(report_site.QuartoMissingError, match="pip install quarto-cli"):
        pipeline.build_report(tmp_path, **_inputs(tmp_path), progress=False, execute=fake_execute)
    assert (tmp_path / "reports" / "overview.ipynb").exists()
    assert (tmp_path / config.SITE_META_NAME).exists()


@pytest.mark.slow
def test_failing_notebook_names_the_cell_and_keeps_the_previous_report(tmp_path: Path) -> None:
    template = tmp_path / "bad.ipynb"
    nb = new_notebook(
        cells=[
            new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
            new_code_cell("#| title: Broken chart\nraise ValueError('boom')"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, template)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "bad.ipynb").write_text("previous good report")
    job = pages.NotebookJob("bad", template, {"x": 2}, "Bad")
    with pytest.raises(pages.NotebookError) as err:
        pages.execute_job(job, reports)
    message = str(err.value)
    assert "bad.ipynb" in message and "#| title: Broken chart" in message
    assert "ValueError: boom" in message and "previous report kept" in message
    assert (reports / "bad.ipynb").read_text() == "previous good report"
    assert (reports / pages.FAILED_DIR / "bad.ipynb").exists()
    assert not list(reports.glob(".*.ipynb"))


def test_state_file_records_each_page(tmp_path: Path) -> None:
    def fake_execute(job: pages.NotebookJob, reports_dir: Path) -> float:
        job.output(reports_dir).write_text("{}")
        return 0.0

    pipeline.build_report(
        tmp_path, **_inputs(tmp_path), render=False, progress=False, execute=fake_execute
    )
    state = json.loads((tmp_path / "reports" / config.REPORT_STATE_NAME).read_text())
    assert set(state) == {"data-quality", "overview", "planning"}


def test_pages_no_longer_planned_are_removed(tmp_path: Path) -> None:
    # the per-region pages of earlier versions: regions are now a selection on the overview
    stale = tmp_path / "reports" / "region-atlantis.ipynb"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")

    def fake_execute(job: pages.NotebookJob, reports_dir: Path) -> float:
        job.output(reports_dir).write_text("{}")
        return 0.0

    pipeline.build_report(
        tmp_path, **_inputs(tmp_path), render=False, progress=False, execute=fake_execute
    )
    assert not stale.exists()


def test_relative_input_paths_reach_the_notebooks_as_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []

    def fake_execute(job: pages.NotebookJob, reports_dir: Path) -> float:
        seen.append(job.parameters)
        job.output(reports_dir).write_text("{}")
        return 0.0

    shutil.copytree(REPORT_FIXTURES, tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    pipeline.build_report(
        tmp_path,
        Path("in/metrics_calls.json"),
        Path("in/metrics_agents.csv"),
        Path("data/c.parquet"),
        Path("data/m.json"),
        Path("data/r.jsonl"),
        render=False,
        progress=False,
        execute=fake_execute,
    )
    for params in seen:
        for key, value in params.items():
            if key.endswith("_path"):
                assert Path(str(value)).is_absolute(), (key, value)


def _fake_site(root: Path, pages: list[str]) -> None:
    for name in config.SITE_FILES:
        (root / name).write_text(f"{name}\n")
    (root / config.SITE_META_NAME).write_text("website: {}\n")
    site = root / config.SITE_DIR.name
    (site / config.REPORTS_DIR.name).mkdir(parents=True)
    (site / "index.html").write_text("<html></html>")
    (root / config.REPORTS_DIR.name).mkdir(exist_ok=True)
    for name in pages:
        (root / config.REPORTS_DIR.name / f"{name}.ipynb").write_text(f'{{"page": "{name}"}}')
        (site / config.REPORTS_DIR.name / f"{name}.html").write_text("<html></html>")


def test_render_plan_skips_an_unchanged_site_and_renders_only_changed_pages(
    tmp_path: Path,
) -> None:
    pages = ["overview", "data-quality", "region-a", "region-b"]
    _fake_site(tmp_path, pages)
    assert report_site.plan_render(tmp_path) is None  # never rendered: the whole site
    report_site.record_render(tmp_path)
    assert report_site.plan_render(tmp_path) == []
    assert report_site.plan_render(tmp_path, force=True) is None
    (tmp_path / "reports" / "region-a.ipynb").write_text('{"page": "region-a", "new": 1}')
    assert report_site.plan_render(tmp_path) == ["region-a"]
    for name in ("overview", "data-quality"):  # more than half changed: one full render
        (tmp_path / "reports" / f"{name}.ipynb").write_text("{}")
    assert report_site.plan_render(tmp_path) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "theme.scss").write_text("changed"),
        lambda root: (root / config.SITE_META_NAME).write_text("website: {navbar: {}}"),
        lambda root: (root / "reports" / "region-c.ipynb").write_text("{}"),
        lambda root: (root / "_site" / "reports" / "region-b.html").unlink(),
        # a render that did not complete after the state was written (Quarto by hand, in place)
        lambda root: (root / "_site" / "reports" / "region-b.html").write_text("<html>half"),
    ],
    ids=["site file", "navbar", "new page", "missing output", "page changed after the render"],
)
def test_render_plan_renders_everything_when_the_site_itself_changed(
    tmp_path: Path, change
) -> None:
    _fake_site(tmp_path, ["overview", "region-a", "region-b"])
    report_site.record_render(tmp_path)
    change(tmp_path)
    assert report_site.plan_render(tmp_path) is None


def test_report_over_a_folder_of_daily_files_reruns_after_an_update_only(tmp_path: Path) -> None:
    lines = (REPORT_FIXTURES / "metrics_calls.json").read_text().splitlines(keepends=True)
    raw = tmp_path / "raw_calls"
    raw.mkdir()
    (raw / "calls-1.json").write_text("".join(lines[: len(lines) // 2]))
    inputs = {**_inputs(tmp_path), "calls": raw, "output": tmp_path / "data" / "cleaned"}
    ran: list[str] = []

    def fake_execute(job: pages.NotebookJob, reports_dir: Path) -> float:
        ran.append(job.name)
        job.output(reports_dir).write_text("{}")
        return 0.0

    def report() -> pipeline.ReportResult:
        return pipeline.build_report(
            tmp_path, **inputs, render=False, progress=False, execute=fake_execute
        )

    first = report()
    assert "overview" in first.executed and first.etl.rows_in == len(lines) // 2
    assert all(p.name.startswith("call_date=") for p in inputs["output"].iterdir())
    ran.clear()
    assert report().etl.up_to_date and ran == []
    (raw / "calls-2.json").write_text("".join(lines[len(lines) // 2 :]))
    third = report()
    assert not third.etl.up_to_date and third.etl.rows_in == len(lines) - len(lines) // 2
    assert "1 new file(s) read" in third.etl.summary() and "overview" in third.executed


def _fake_execute(job: pages.NotebookJob, reports_dir: Path) -> float:
    job.output(reports_dir).write_text("{}")
    return 0.0


def test_a_good_run_clears_the_failed_copies_of_earlier_runs(tmp_path: Path) -> None:
    failed = tmp_path / "reports" / pages.FAILED_DIR / "overview.ipynb"
    failed.parent.mkdir(parents=True)
    failed.write_text("the traceback of a run that failed")
    pipeline.build_report(
        tmp_path, **_inputs(tmp_path), render=False, progress=False, execute=_fake_execute
    )
    assert not failed.parent.exists()


def test_a_period_reaching_past_the_data_is_run_with_a_note(tmp_path: Path) -> None:
    import io

    said = io.StringIO()
    result = pipeline.build_report(
        tmp_path,
        **_inputs(tmp_path),
        start_date="2025-12-01",
        end_date="2026-01-10",
        render=False,
        out=said,
        execute=_fake_execute,
    )
    assert sorted(result.executed) == ["data-quality", "overview", "planning"]
    assert "note: the period 2025-12-01 to 2026-01-10 reaches past the data (" in said.getvalue()
