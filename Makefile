# llm-margin: every command sets itself up on a fresh machine (Python 3.11 and make).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export LLM_MARGIN_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(LLM_MARGIN_DATA_DIR)/dagster_home
STAMP := $(VENV)/.installed

.PHONY: help install lock run generate materialize report test lint dagster docs docs-serve clean

help:
	@echo "make run        set up, generate sample data if landing is empty, build everything, print the report"
	@echo "make test       set up and run every test (pytest, dbt unit and data tests)"
	@echo "make dagster    Dagster UI on http://127.0.0.1:3000"
	@echo "make docs       build the dbt docs site (target/index.html) and serve it on 127.0.0.1:8080"
	@echo "make lint       ruff"
	@echo "data directory: $(LLM_MARGIN_DATA_DIR)"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# Refresh the lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

generate: $(STAMP)
	$(BIN)/llm-margin generate --if-empty

materialize: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/llm-margin materialize

report: $(STAMP)
	$(BIN)/llm-margin report

run: generate materialize report

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check orchestration tests
	$(BIN)/ruff format --check orchestration tests

dagster: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

docs: $(STAMP)
	$(BIN)/dbt docs generate --project-dir . --profiles-dir .
	@echo "docs site: $(CURDIR)/target/index.html (make docs-serve to browse it)"

docs-serve: docs
	$(BIN)/dbt docs serve --project-dir . --profiles-dir . --host 127.0.0.1 --port 8080 --no-browser

clean:
	rm -rf target logs .pytest_cache
