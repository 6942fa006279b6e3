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

report: $(STAMP) ## build everything: ETL, executed notebooks in reports/, then the site in _site/
	$(BIN)/support-analytics report

test: $(STAMP) ## lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

bench: $(STAMP) ## reproduce the benchmark figures (takes minutes; writes outside the repo)
	$(BIN)/python bench/bench_etl.py

clean: $(STAMP) ## remove generated data, reports and the site (keeps the committed sample)
	$(BIN)/support-analytics clean

.PHONY: help setup data report test bench clean
