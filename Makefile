# Run `make help` for the targets. `make sync` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
# pytest-xdist: one test process per core (tests/fixtures/parallel.py). TEST_WORKERS= runs serially.
TEST_WORKERS ?= -n auto
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: help install sync sql test soak check lint format docs docs-build sandbox demo bench bench-quick bench-all bench-tests clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install (quick when nothing changed)

sync: install ## Extract → transform → push once (sandbox when no credentials are set)
	$(BIN)/invoice-sync sync

sql: install ## Query the analysts' database: interactive (Harlequin), or Q="select …" for one query
ifdef Q
	$(BIN)/invoice-sync sql "$$Q"
else
	@$(BIN)/python -c "import harlequin" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[sql]'
	$(BIN)/invoice-sync sql
endif

test: install ## Lint, then run the test suite (all but the soak tests: make soak)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not soak" $(TEST_WORKERS)

soak: install ## The unattended loops under an hour of injected faults (~3 min; CI runs them)
	$(BIN)/python -m pytest -q -m soak

check: install ## Every gate CI runs: lint, format check, tests, soak tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -m "not soak" $(TEST_WORKERS)
	$(BIN)/python -m pytest -q -m soak

lint: install ## ruff check, and the import layers of the floor plan (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

format: install ## ruff format + import sorting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs-build: install ## Build the dbt docs site offline (dbt_project/target/index.html)
	@test -f "$${WAREHOUSE_PATH:-warehouse/invoices.duckdb}" || $(BIN)/invoice-sync sync
	cd dbt_project && ../$(BIN)/dbt docs generate --profiles-dir .

docs: docs-build ## Build the dbt docs (lineage Xero → HubSpot) and serve them on :8080
	cd dbt_project && ../$(BIN)/dbt docs serve --profiles-dir . --port 8080 --no-browser

sandbox: install ## Start both emulators with demo data (Ctrl-C to stop)
	$(BIN)/invoice-sync sandbox up

demo: install ## Sync, simulate an hour of business, sync again
	$(BIN)/python -m reverse_etl.app.demo

bench: install ## Issue 19's goals, before (baseline commit) and after (≤40 min), writes benchmarks/results/latest.json
	$(BIN)/python -m benchmarks.run

bench-quick: install ## The same at small sizes (10–15 min)
	$(BIN)/python -m benchmarks.run --quick

bench-all: install ## Every benchmark and peer, plus the goals' baseline (about an hour)
	$(BIN)/python -m benchmarks.run --all

bench-tests: install ## Time `make test` (this checkout) into benchmarks/results/test_suite.json
	$(BIN)/python -m benchmarks.time_tests

clean: ## Remove the virtualenv, warehouse and dbt artefacts
	rm -rf $(VENV) warehouse dbt_project/target dbt_project/logs
