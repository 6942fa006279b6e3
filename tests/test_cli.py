"""The CLI through the real console script: exit codes, one-line errors, summaries."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support_analytics import config

FIXTURES = Path(__file__).parent / "fixtures"
SCRIPT = Path(sys.executable).with_name("support-analytics")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "support_analytics"]
    return subprocess.run(
        [*exe, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def etl_args(tmp_path: Path, calls: Path) -> list[str]:
    return [
        "etl",
        "--calls", str(calls),
        "--agents", str(FIXTURES / "agents.csv"),
        "--output", str(tmp_path / "out" / "c.parquet"),
        "--manifest", str(tmp_path / "out" / "m.json"),
        "--rejects", str(tmp_path / "out" / "r.jsonl"),
    ]  # fmt: skip


def test_etl_prints_a_summary_and_reconciles(tmp_path: Path) -> None:
    proc = cli(*etl_args(tmp_path, FIXTURES / "calls_every_reject.json"))
    assert proc.returncode == 0, proc.stderr
    assert "10 rows in, 2 kept, 8 rejected" in proc.stdout
    manifest = json.loads((tmp_path / "out" / "m.json").read_text())
    rows = manifest["rows"]
    assert rows["input"] == rows["output"] + sum(rows["rejected"].values())
    rejects = (tmp_path / "out" / "r.jsonl").read_text().splitlines()
    assert len(rejects) == 8


def test_second_run_says_up_to_date_and_force_reruns(tmp_path: Path) -> None:
    args = etl_args(tmp_path, FIXTURES / "calls_clean.json")
    assert cli(*args).returncode == 0
    second = cli(*args)
    assert second.returncode == 0 and "up to date" in second.stdout
    forced = cli(*args, "--force")
    assert forced.returncode == 0 and "3 rows in, 3 kept" in forced.stdout


def test_changed_input_reruns(tmp_path: Path) -> None:
    calls = tmp_path / "calls.json"
    shutil.copy(FIXTURES / "calls_clean.json", calls)
    args = etl_args(tmp_path, calls)
    assert cli(*args).returncode == 0
    with calls.open("a") as fh:
        fh.write("garbage\n")
    proc = cli(*args)
    assert "4 rows in, 3 kept, 1 rejected" in proc.stdout


def test_deleted_output_reruns(tmp_path: Path) -> None:
    args = etl_args(tmp_path, FIXTURES / "calls_clean.json")
    assert cli(*args).returncode == 0
    (tmp_path / "out" / "c.parquet").unlink()
    proc = cli(*args)
    assert "up to date" not in proc.stdout and (tmp_path / "out" / "c.parquet").exists()


def test_corrupt_manifest_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    args = etl_args(tmp_path, FIXTURES / "calls_clean.json")
    assert cli(*args).returncode == 0
    (tmp_path / "out" / "m.json").write_text("{truncated")
    proc = cli(*args)
    assert proc.returncode == 0 and "will be rebuilt" in proc.stderr
    assert json.loads((tmp_path / "out" / "m.json").read_text())["rows"]["output"] == 3


@pytest.mark.parametrize(
    ("calls_content", "agents_content", "expected"),
    [
        (None, None, "calls file not found"),
        (b"", None, "empty"),
        (b"[{}]", None, "JSON array"),
        (b"a,b\n1,2\n", None, "not NDJSON"),
        (b'{"call_id": "A"}\n', "agent_id,name\nA1,x\n", "missing column"),
        (b'{"call_id": "A"}\n', "agent_id,agent_name,region\nA,x,y\nA,z,y\n", "duplicate"),
        (b"\n \n", None, "only blank lines); check that --calls names the calls export"),
        (b'{"call_id": "A"}\r{"call_id": "B"}\r', None, "bare CR; convert them with: tr"),
        (
            b'{"call_id": "A"}\n',
            'agent_id,agent_name,region\nA1,Jo,EU\nA2,"Li,EU\nA3,x,y\n',
            "line 3",
        ),
        (
            b'{"call_id": "A"}\n',
            f"agent_id,agent_name,region\nA1,Jo,{'r' * 101}\n",
            "region is 101",
        ),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(
    tmp_path: Path, calls_content: bytes | None, agents_content: str | None, expected: str
) -> None:
    calls = tmp_path / "calls.json"
    if calls_content is not None:
        calls.write_bytes(calls_content)
    args = etl_args(tmp_path, calls)
    if agents_content is not None:
        agents = tmp_path / "agents.csv"
        agents.write_text(agents_content)
        args[args.index("--agents") + 1] = str(agents)
    proc = cli(*args, "--quiet")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_a_note_about_the_slower_reader_names_the_calls_file(tmp_path: Path) -> None:
    calls = tmp_path / "calls.json"
    shutil.copy(FIXTURES / "calls_clean.json", calls)
    with calls.open("ab") as fh:  # a carriage return inside a line: not for the fast reader
        fh.write(b'{"call_id": "CR\r1"}\n')
    proc = cli(*etl_args(tmp_path, calls))
    assert proc.returncode == 0, proc.stderr
    assert f"etl: {calls}: it has carriage returns but not CRLF line ends" in proc.stderr


def test_a_file_in_the_way_of_the_output_folder_is_named_in_plain_words(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    proc = cli(*etl_args(tmp_path, FIXTURES / "calls_every_reject.json"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Errno" not in proc.stderr
    assert str(tmp_path / "out") in proc.stderr and "pick another path" in proc.stderr


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    proc = cli(*etl_args(tmp_path, tmp_path / "missing.json"), "--verbose")
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_version_and_help() -> None:
    assert cli("--version").stdout.startswith("support-analytics ")
    help_text = cli("--help").stdout
    assert "simulate" in help_text and "etl" in help_text


def test_help_shows_every_default() -> None:
    """The README says `etl --help` lists every flag with its default."""
    etl = " ".join(cli("etl", "--help").stdout.split())
    for flag, default in [("--calls", "sample_calls.json"), ("--agents", "agents.csv"),
                          ("--output", "cleaned_calls.parquet"), ("--manifest", "manifest.json"),
                          ("--rejects", "rejected_calls.jsonl")]:  # fmt: skip
        assert re.search(rf"{flag} [A-Z]+ [^(]*\(default: [^)]*{re.escape(default)}\)", etl), flag
    assert "--lock-wait SECONDS how long" in etl and "(default: until it ends" in etl
    report = " ".join(cli("report", "--help").stdout.split())
    assert f"notebooks executed at once (default: {config.REPORT_JOBS})" in report


def test_clean_removes_what_etl_and_report_generated_and_keeps_the_sample(tmp_path: Path) -> None:
    root = tmp_path / "project"
    generated = [
        "_site/index.html", ".quarto/x", "site_meta.yml", "reports/failed/a.ipynb",
        "reports/.report-state.json", "reports/dashboard.ipynb", "data/cleaned_calls.parquet",
        "data/manifest.json", "data/rejected_calls.jsonl",
        # locks, the report's repeat-flag cache, what a killed run left (ETL and site)
        ".report.lock", "data/cleaned_calls.parquet.lock", "data/manifest.json.lock",
        "data/.cleaned_calls.parquet.repeats-0123abcd.parquet",
        "data/.cleaned_calls.parquet.repeats-0123abcd.parquet.lock",
        "data/.cleaned_calls.parquet.ab_cd123.work/spill/x", ".site-previous/index.html",
        ".site-staging-x1y2/_site/index.html",
    ]  # fmt: skip
    kept = ["data/sample_calls.json", "data/agents.csv", "reports/.gitkeep", "_quarto.yml"]
    for name in generated + kept:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    proc = cli("clean", "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    assert [name for name in generated if (root / name).exists()] == []
    assert all((root / name).exists() for name in kept)
    assert "removed" in proc.stdout
    again = cli("clean", "--root", str(root))
    assert again.returncode == 0 and "nothing generated" in again.stdout
