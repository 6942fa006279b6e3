# The front door: every target calls the CLI or pytest inside .venv (created on first use).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install the project with its dev tools

data: $(STAMP) ## clean data/sample_calls.json into data/cleaned_calls.parquet
	$(BIN)/support-analytics etl

# Where quarto is missing, try the `site` extra (PyPI quarto-cli) once; if that cannot install
# either, `report` still builds the notebooks and its last line says what to do (exit 2).
QUARTO_TRY := $(VENV)/.quarto-cli-tried

report: $(STAMP) ## build everything: ETL, executed notebooks in reports/, then the site in _site/
	@if ! command -v quarto >/dev/null 2>&1 && [ ! -x $(BIN)/quarto ] && [ ! -f $(QUARTO_TRY) ]; then \
	  echo "make: quarto not found; installing the site extra (quarto-cli) into $(VENV)"; \
	  $(BIN)/pip install --quiet -e ".[site]" > $(QUARTO_TRY) 2>&1 \
	    || echo "make: quarto-cli did not install (details: $(QUARTO_TRY)); building the notebooks only"; \
	fi
	$(BIN)/support-analytics report

screenshots: $(STAMP) ## PNGs of the overview and data-quality pages into docs/ (needs chromium)
	$(BIN)/python docs/screenshots.py

test: $(STAMP) ## lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

test-fast: $(STAMP) ## lint and the quick tests: no Spark, no Quarto render, no browser (~2 min)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -m "not slow and not spark"

bench: $(STAMP) ## reproduce the benchmark figures (takes minutes; writes outside the repo)
	$(BIN)/python bench/bench_etl.py

clean: $(STAMP) ## remove generated data, reports and the site (keeps the committed sample)
	$(BIN)/support-analytics clean

.PHONY: help setup data report screenshots test test-fast bench clean
