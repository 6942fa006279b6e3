"""`report`'s parameters refused through the real console script, before the work they would
spoil: each used to run the ETL and a notebook, then fail as "cell 4
[charts.use_notebook_renderer()] failed: ValueError" (or with Quarto's raw trace)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from conftest import report_inputs

from support_analytics import config


def _report(root: Path, log: Path, *extra: str):
    paths = [a for k, v in report_inputs(root).items() for a in (f"--{k}", str(v))]
    return run_cli(["report", "--root", str(root), *paths, *extra], log)


def _refused(proc, *words: str, after_etl: bool = False) -> str:
    """Exit 2 and one error line on stderr (the last, after the ETL's summary when the ETL
    had to run), holding ``words``."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == (2 if after_etl else 1) and lines[-1].startswith("error: "), proc.stderr
    for word in words:
        assert word in lines[-1], lines[-1]
    return lines[-1]


def _nothing_done(root: Path) -> None:
    assert not (root / "data").exists() and not (root / config.REPORTS_DIR.name).exists()
    assert not (root / config.SITE_DIR.name).exists()


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--start-date", "2026-13-01", ["--start-date 2026-13-01", "no such day", "YYYY-MM-DD"]),
        ("--end-date", "2026-02-30", ["--end-date 2026-02-30", "no such day"]),
        ("--start-date", "03/01/2026", ["--start-date '03/01/2026'", "not a date", "YYYY-MM-DD"]),
        ("--end-date", "20260301", ["--end-date '20260301'", "not a date"]),
    ],
    ids=["month 13", "february 30", "US order", "no dashes"],
)
def test_rejects_a_date_not_written_yyyy_mm_dd(
    project: Path, tmp_path: Path, flag: str, value: str, words: list[str]
) -> None:
    _refused(_report(project, tmp_path / "log", flag, value), *words)
    _nothing_done(project)


def test_rejects_start_after_end(project: Path, tmp_path: Path) -> None:
    proc = _report(
        project, tmp_path / "log", "--start-date", "2026-03-02", "--end-date", "2026-03-01"
    )
    _refused(proc, "--start-date 2026-03-02 is after --end-date 2026-03-01")
    _nothing_done(project)


def test_rejects_a_root_without_quarto_yml(project: Path, tmp_path: Path) -> None:
    (project / config.QUARTO_CONFIG_NAME).unlink()
    _refused(_report(project, tmp_path / "log"), f"--root {project}", "no _quarto.yml")
    _nothing_done(project)


def test_rejects_a_missing_root(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    _refused(_report(missing, tmp_path / "log"), f"--root {missing}", "no such folder")
    assert not missing.exists()


@pytest.mark.parametrize(
    "dates",
    [
        ["--start-date", "2030-01-01"],
        ["--end-date", "2020-01-31"],
        ["--start-date", "2020-01-01", "--end-date", "2020-12-31"],
    ],  # fmt: skip
    ids=["start after the data", "end before the data", "both before the data"],
)
def test_rejects_a_period_wholly_outside_the_data_naming_its_range(
    project: Path, tmp_path: Path, dates: list[str]
) -> None:
    proc = _report(project, tmp_path / "log", *dates)
    line = _refused(proc, "holds no data", "cover 2026-02-01 to 2026-03-28", after_etl=True)
    assert "--start-date/--end-date" in line
    # the ETL ran (the data's range needs it), no notebook did
    assert not list((project / config.REPORTS_DIR.name).glob("*.ipynb"))
    assert not (project / config.SITE_DIR.name).exists()
