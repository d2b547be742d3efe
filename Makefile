# llm-margin: every command sets itself up on a fresh machine (Python 3.11 and make).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export LLM_MARGIN_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(LLM_MARGIN_DATA_DIR)/dagster_home
# The address the local servers listen on (Dagster UI, dbt docs, local PostgreSQL): this machine
# only, unless set to 0.0.0.0 or another address of it (docs/security.md).
export LLM_MARGIN_BIND_HOST := $(or $(strip $(LLM_MARGIN_BIND_HOST)),127.0.0.1)
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark

.PHONY: help install install-spark lock run generate materialize report test test-spark test-torture fuzz lint dagster docs docs-serve clean bench torture serve-postgres stop-postgres chromium

help:
	@echo "make run        set up, generate sample data if landing is empty, build everything, print the report"
	@echo "                (SHAPE=otel or SHAPE=litellm: sample traffic as OTLP traces or LiteLLM spend logs;"
	@echo "                BILLING=csv: sample revenue as billing CSV exports instead of Stripe objects)"
	@echo "make test       set up and run every test (pytest, dbt unit and data tests, the screens in headless Chromium)"
	@echo "make test-spark the same models on DuckDB and on Spark (local PySpark, Java 17): build, test, compare"
	@echo "make fuzz       the property tests (usage-event contract, billing and provider exports) with many more generated records (FUZZ_EXAMPLES=1500)"
	@echo "make dagster    Dagster UI on http://$(LLM_MARGIN_BIND_HOST):3000"
	@echo "make docs       build the dbt docs site into target/index.html: opens on the project overview"
	@echo "                (models/overview.md); owner and tags on every model page"
	@echo "make docs-serve build it and serve it on http://$(LLM_MARGIN_BIND_HOST):8080"
	@echo "make lint       ruff"
	@echo "make bench      benchmark: pipeline vs the engine limit vs pandas (EVENTS=1000000, BENCHMARKS.md)"
	@echo "make torture    the torture run: kills, re-deliveries, malformed and hostile input, a clean-build comparison"
	@echo "                (SIZE=20000 usage events; docs/reliability.md); make test-torture: its quick form as tests"
	@echo "make serve-postgres  a local PostgreSQL on $(LLM_MARGIN_BIND_HOST):5433 for BI tools; prints the URL to set and how to connect"
	@echo "                (make stop-postgres stops it; docs/serving.md, \"The PostgreSQL serving target\")"
	@echo "data directory: $(LLM_MARGIN_DATA_DIR)"

# Installed with bytecode compiled (about 15 s once): a process that starts from source files
# compiles every module it imports, every time, where Python may not write its cache (as under
# PYTHONDONTWRITEBYTECODE): 2-3 s per Dagster, dbt or GX process
# (DECISIONLOG.md, "Bytecode compiled at install").
COMPILE_OWN := $(BIN)/python -m compileall -q orchestration llm_margin_emit sample_data

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(COMPILE_OWN)
	@touch $(STAMP)

install: $(STAMP)

# The spark extra (dbt-spark, PySpark) on top of the base install, from its own lock.
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements-spark.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(COMPILE_OWN)
	@touch $(SPARK_STAMP)

install-spark: $(SPARK_STAMP)

# Refresh the lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --extra spark --python-version 3.11 -o requirements-spark.lock

# SHAPE=otel or SHAPE=litellm: the sample traffic as OTLP trace files or LiteLLM spend logs
# instead of contract files (docs/sources.md).
SHAPE ?= contract
# BILLING=csv: the sample revenue as billing CSV exports in landing/billing instead of Stripe API
# objects in landing/stripe (docs/sample-data.md).
BILLING ?= stripe
generate: $(STAMP)
	@$(BIN)/llm-margin generate --if-empty --shape $(SHAPE) --billing $(BILLING)

# Runs on the persistent Dagster instance in $(DAGSTER_HOME) (created with its dagster.yaml when
# missing), so `make dagster` shows its runs; the full logs go to $(LLM_MARGIN_DATA_DIR)/logs/.
materialize: $(STAMP)
	@$(BIN)/llm-margin materialize

report: $(STAMP)
	@$(BIN)/llm-margin report

run: generate materialize report

# The tests' temporary directories, which hold their data directories, go on tmpfs when the
# machine has room there. Dagster's SQLite event log commits once per event and fsyncs: one small
# build spent 17.6 s of 207 s in those commits on disk and 1.5 s on tmpfs (docs/reliability.md,
# "CI time"). TEST_TMPDIR=/tmp, or any other directory, overrides it.
TEST_TMPDIR ?= $(shell d=/dev/shm/llm-margin-tests; \
	free=$$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $$4}'); \
	if [ "$${free:-0}" -gt 4000000 ] && mkdir -p $$d 2>/dev/null && chmod 1777 $$d 2>/dev/null; \
	then echo $$d; else echo $${TMPDIR:-/tmp}; fi)

test: $(STAMP) lint chromium
	TMPDIR=$(TEST_TMPDIR) $(BIN)/python -m pytest

# The browser tests (tests/test_browser_*.py) drive Debian's Chromium, installed here when missing
# (as root); LLM_MARGIN_CHROMIUM names another Chrome or Chromium instead. Without one they fail.
chromium:
	@[ -n "$$LLM_MARGIN_CHROMIUM" ] || command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Chromium (Debian package chromium) for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "chromium is missing and only root can install it: sudo apt-get install -y chromium," \
				"or set LLM_MARGIN_CHROMIUM to a Chrome or Chromium binary; the browser tests fail without one" >&2; \
		fi; }

# Generates a small data set in a temporary directory, builds and tests every model on DuckDB and
# on Spark over the same lake, compares the warehouses, then does it again after one more file.
test-spark: $(SPARK_STAMP)
	TMPDIR=$(TEST_TMPDIR) $(BIN)/python -m pytest -m spark tests/spark -s -p no:cacheprovider

# The property tests of the contract (tests/test_contract_properties.py) with many more, random
# examples than `make test` runs (docs/testing.md, "The contract as the oracle").
FUZZ_EXAMPLES ?= 1500
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_contract_properties.py tests/test_billing_properties.py tests/test_provider_report_properties.py tests/test_provider_invoice_properties.py tests/test_json_lines_strictness.py -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check orchestration sample_data llm_margin_emit tests bench
	$(BIN)/ruff format --check orchestration sample_data llm_margin_emit tests bench

# Generates EVENTS usage events over 90 days (+1 for the incremental run) in bench/results/, times
# the pipeline by stage, the engine-limit statement and the pandas baseline, checks they agree, and
# appends the results to BENCHMARKS.md. Several sizes: make bench EVENTS="1000000 10000000".
EVENTS ?= 1000000
BENCH_ARGS ?=
bench: $(STAMP)
	BENCH_INVOCATION='make bench EVENTS="$(EVENTS)" BENCH_ARGS="$(BENCH_ARGS)"' \
		$(BIN)/python -m bench $(foreach n,$(EVENTS),--events $(n)) $(BENCH_ARGS)

# The torture run (docs/reliability.md): SIZE generated usage events abused in sequence on one data
# directory, compared with a clean build and an independent count; prints one line of figures.
SIZE ?= 20000
TORTURE_ARGS ?=
torture: $(STAMP)
	$(BIN)/python -m bench.torture --events $(SIZE) $(TORTURE_ARGS)

# The quick torture run as tests (tests/test_torture.py, marker torture): 9-16 minutes here, so
# not part of make test; .ci/run runs it after make test (docs/reliability.md, "In CI").
test-torture: $(STAMP)
	TMPDIR=$(TEST_TMPDIR) $(BIN)/python -m pytest -m torture tests/test_torture.py -p no:cacheprovider

# The Dagster instance config: every pool (warehouse_writer is the one the writers use) runs one
# step at a time, so runs that write the lake or the warehouse never overlap (docs/budgets.md).
# Written by orchestration/instance.py, which `llm-margin materialize` uses too; an existing
# dagster.yaml is left alone.
$(DAGSTER_HOME)/dagster.yaml: | $(STAMP)
	@$(BIN)/python -m orchestration.instance

dagster: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/python -m orchestration.bind >/dev/null
	$(BIN)/dagster dev -m orchestration.definitions -h '$(LLM_MARGIN_BIND_HOST)' -p 3000

docs: $(STAMP)
	$(BIN)/dbt docs generate --project-dir . --profiles-dir .
	@echo "docs site: $(CURDIR)/target/index.html (make docs-serve to browse it)"

docs-serve: docs
	@$(BIN)/python -m orchestration.bind >/dev/null
	$(BIN)/dbt docs serve --project-dir . --profiles-dir . --host '$(LLM_MARGIN_BIND_HOST)' --port 8080 --no-browser

# A local PostgreSQL in $(LLM_MARGIN_DATA_DIR)/postgres for the PostgreSQL serving target
# (orchestration/serving/postgres_local.py); POSTGRES_PORT chooses its port when it is created.
POSTGRES_PORT ?=
serve-postgres: $(STAMP)
	@$(BIN)/llm-margin serving-postgres start $(if $(POSTGRES_PORT),--port $(POSTGRES_PORT))

stop-postgres: $(STAMP)
	@$(BIN)/llm-margin serving-postgres stop

clean:
	rm -rf target logs .pytest_cache
