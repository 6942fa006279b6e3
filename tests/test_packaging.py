"""pyproject.toml: the install a new user runs must resolve with the pip their distro ships."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_dev_extra_lists_the_s3_and_spark_packages_without_referring_to_itself() -> None:
    # pip 23 (Debian 12's) fails with ResolutionImpossible on "support-analytics[s3,spark]"
    # inside the project's own dev extra; the extras are listed out instead.
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert not [r for r in extras["dev"] if r.startswith(project["name"])]
    assert set(extras["s3"]) | set(extras["spark"]) <= set(extras["dev"])
    # a boto3 requirement of its own beside s3fs made pip 23 backtrack into ResolutionImpossible
    # (checked with `pip install --dry-run -e ".[dev]"` on pip 23.2.1); moto brings boto3
    assert not [r for r in extras["dev"] if r.startswith("boto3")]
