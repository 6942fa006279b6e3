"""The README is part of the product: its contract table and commands must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from support_analytics import schema as s

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_contract_table_matches_the_schema_module() -> None:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", README, flags=re.MULTILINE)
    table = [(name, kind) for name, kind in rows if name in s.CLEANED_COLUMNS]
    assert table == [(f.name, str(f.type)) for f in s.CLEANED_SCHEMA]


def test_reject_reasons_table_lists_every_reason_in_order() -> None:
    listed = re.findall(r"^\| `(\w+)` \| ", README, flags=re.MULTILINE)
    assert [r for r in listed if r in s.REJECT_REASONS] == list(s.REJECT_REASONS)


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_code_fence_stands_on_its_own_line() -> None:
    """Text after a closing fence (```` ``` What it takes````) turned the rest of the README,
    down to the next fence, into one code block."""
    fences = [line for line in README.splitlines() if "```" in line]
    bad = [line for line in fences if not re.fullmatch(r"\s*```[\w-]*\s*", line)]
    assert bad == [] and len(fences) % 2 == 0
