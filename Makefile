# Battery health service. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit test-fast lint format migrate worker seed bench compose-check clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt
	@touch $@

install: $(BIN)/.installed ## Create .venv and install the pinned requirements

run: install ## Serve on 127.0.0.1:8000 with demo data (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py bootstrap_demo --base-url http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT) --noreload

test: install ## Run the whole suite (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/python -m pytest

test-unit: install ## Run the database-free unit tests only
	$(BIN)/python -m pytest tests/unit

lint: install ## ruff (lint + format check), mypy --strict on the pure rules, import-linter's layering contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install ## Apply database migrations
	$(BIN)/python manage.py migrate --noinput

worker: install ## Run a Celery worker (needs CELERY_BROKER_URL)
	$(BIN)/celery -A config worker --loglevel=INFO

seed: install ## Seed 50 vehicles x 100 logs into the demo fleet
	$(BIN)/python manage.py seed_diagnostics --vehicles 50 --logs-per-vehicle 100 --seed 1 --fleet demo

# The benchmarks get their own virtualenv: with psycopg 3 importable, Django would switch the app's driver.
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.installed: requirements.txt requirements-dev.txt requirements-bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -r requirements.txt -r requirements-dev.txt -r requirements-bench.txt
	@command -v wrk >/dev/null || echo "note: wrk not found (apt-get install -y wrk); the asyncio load generator is used"
	@touch $@

bench: $(BENCH_VENV)/.installed ## Run every benchmark side by side with its reference (QUICK=1: a smoke run, about 4 min)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BENCH_VENV)/bin/python $$script $(if $(QUICK),--quick) || exit 1; done
	$(BENCH_VENV)/bin/python benchmarks/report.py $(if $(QUICK),--quick)

compose-check: install ## Parse docker-compose.yml and check its services
	$(BIN)/python -m pytest -q tests/unit/test_compose.py

clean: ## Remove the virtualenv and the embedded database's data
	rm -rf $(VENV) $(BENCH_VENV) .data .pytest_cache .ruff_cache .mypy_cache .hypothesis
