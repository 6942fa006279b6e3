"""Paths and defaults, all in one place, so the CLI, notebooks and tests agree on them."""

from __future__ import annotations

import os
from pathlib import Path

#: The project root: the folder holding ``data/``, ``notebooks/`` and ``reports/``. Defaults to
#: the repository this package sits in; set SUPPORT_ANALYTICS_ROOT to run elsewhere.
PROJECT_ROOT = Path(
    os.environ.get("SUPPORT_ANALYTICS_ROOT", Path(__file__).resolve().parent.parent)
)

DATA_DIR = PROJECT_ROOT / "data"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
SITE_DIR = PROJECT_ROOT / "_site"

DEFAULT_CALLS = DATA_DIR / "sample_calls.json"
DEFAULT_AGENTS = DATA_DIR / "agents.csv"
DEFAULT_OUTPUT = DATA_DIR / "cleaned_calls.parquet"
DEFAULT_MANIFEST = DATA_DIR / "manifest.json"
DEFAULT_REJECTS = DATA_DIR / "rejected_calls.jsonl"

# Mapped sources (``etl --source``): the default is the NDJSON format above; a keyed
# pseudonym replaces personal fields, with a key kept outside the outputs (env var or file).
DEFAULT_SOURCE = "ndjson"
PSEUDONYM_KEY_ENV = "SUPPORT_ANALYTICS_PSEUDONYM_KEY"
PSEUDONYM_KEY_FILE = DATA_DIR / ".pseudonym-key"

# File names the simulator writes into its --out-dir.
SIM_CALLS_NAME = "sample_calls.json"
SIM_AGENTS_NAME = "agents.csv"
SIM_PLANTED_NAME = "planted.json"  # what `simulate --plant` planted (the truth)

# Simulator defaults: the committed sample was made with these.
SIM_DEFAULT_CALLS = 5000
SIM_DEFAULT_AGENTS = 40
SIM_DEFAULT_DAYS = 90
SIM_DEFAULT_START = "2026-01-05"
SIM_DEFAULT_SEED = 7
SIM_DEFAULT_DIRTY_RATE = 0.02

# ETL engine tuning: bounded memory by default; override with the environment when a bigger
# machine is available.
DUCKDB_MEMORY_LIMIT = os.environ.get("SUPPORT_ANALYTICS_DUCKDB_MEMORY", "1GB")
DUCKDB_THREADS = int(os.environ.get("SUPPORT_ANALYTICS_DUCKDB_THREADS", os.cpu_count() or 2))
READ_CHUNK_BYTES = 32 * 1024 * 1024
# The one-pass path streams (no sort, join or aggregate), so DuckDB needs little there; left at
# the full limit it filled it with buffers, and the id set and batches in flight beside it took
# the process past 1 GiB at 10M calls.
ONE_PASS_MEMORY_LIMIT = os.environ.get("SUPPORT_ANALYTICS_ONE_PASS_MEMORY", "512MB")

# The report: papermill executes the templates in NOTEBOOKS_DIR into REPORTS_DIR, then Quarto
# renders the site described by _quarto.yml (which merges the generated SITE_META_NAME).
DASHBOARD_TEMPLATE_NAME = "dashboard.ipynb"
ETL_TEMPLATE_NAME = "etl.ipynb"
SITE_META_NAME = "site_meta.yml"
#: Quarto's project file: a folder holding it is a report project (``report --root``).
QUARTO_CONFIG_NAME = "_quarto.yml"
#: The files of the project root that make up the site besides the executed notebooks.
SITE_FILES = (QUARTO_CONFIG_NAME, "index.qmd", "about.qmd", "theme.scss", "_postrender.py")
QUARTO_CACHE_NAME = ".quarto"
REPORT_STATE_NAME = ".report-state.json"
#: The overview's filter data (slices.py), a script beside the page that sets this global.
SLICES_FILE_NAME = "overview.slices.js"
SLICES_GLOBAL = "SA_SLICES"
#: Inside the site folder: what the site was last rendered from (skip an unchanged render).
RENDER_STATE_NAME = ".render-state.json"
#: In the project root: one report at a time per project folder (``report --lock-wait``).
REPORT_LOCK_NAME = ".report.lock"
#: In the project root: Quarto renders in a staging copy of the project named with this
#: prefix, and the previous site waits under SITE_PREVIOUS_NAME while the new one moves in.
SITE_STAGING_PREFIX = ".site-staging-"
SITE_PREVIOUS_NAME = ".site-previous"
REPORT_KERNEL = os.environ.get("SUPPORT_ANALYTICS_KERNEL", "python3")
REPORT_JOBS = int(os.environ.get("SUPPORT_ANALYTICS_REPORT_JOBS", min(2, os.cpu_count() or 1)))
REPORT_CELL_TIMEOUT = 600
QUARTO_INSTALL_HINT = "pip install quarto-cli (or see https://quarto.org/docs/get-started/)"

# Planning (the Planning page, `forecast` and `staffing`): the service-level target and what
# the roster must allow for, the forecast horizons, and the backtest's length.
PLAN_TARGET = 0.8  # share of calls answered within PLAN_ANSWER_WITHIN seconds
PLAN_ANSWER_WITHIN = 20.0
PLAN_MAX_OCCUPANCY = 0.85
PLAN_SHRINKAGE = 0.3
PLAN_INTERVAL_MINUTES = 60
PLAN_DAYS = 14
PLAN_HOURS = 168
PLAN_BACKTEST_WEEKS = 8
PLANNING_TEMPLATE_NAME = "planning.ipynb"
