# Battery health service. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test test-slow test-all screenshots test-unit test-fast lint format migrate worker seed bench compose-check clean \
        frontend frontend-if-node frontend-schema test-frontend lint-frontend bench-dashboard

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt
	@touch $@

install: $(BIN)/.installed ## Create .venv and install the pinned requirements

run: install frontend-if-node ## Serve on 127.0.0.1:8000 with demo data and the dashboard (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py bootstrap_demo --base-url http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT) --noreload

# pytest-xdist: one test process per core (two here), each with its own test database; a module's tests stay
# on one process (--dist loadfile) so module-scoped workers and servers start once.
TEST_WORKERS ?= auto
test: install ## The fast suites on pytest-xdist (everything but the slow marker) and the dashboard's unit tests: about 3 min from a fresh clone
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow"
	@if $(NODE_OK); then $(MAKE) --no-print-directory test-frontend; \
	 elif [ "$$CI" = "true" ]; then echo "$(NODE_HELP)"; exit 1; else echo "note: $(NODE_HELP)"; fi

test-slow: install frontend-if-node ## The slow suites, one test at a time: faults, the browser, e2e and schemathesis, live observability, RabbitMQ worker runs (about 8 min)
	$(BIN)/python -m pytest -m slow

test-all: test test-slow ## Everything CI runs: make test, then make test-slow

screenshots: install frontend ## Retake the README's dashboard screenshots (docs/screenshots) with the browser tests
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser

test-unit: install ## Run the database-free unit tests only
	$(BIN)/python -m pytest tests/unit

lint: install ## ruff (lint + format check), mypy --strict on the pure rules, import-linter's layering contracts; the dashboard's tsc, ESLint and schema check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@if $(NODE_OK); then $(MAKE) --no-print-directory lint-frontend; \
	 elif [ "$$CI" = "true" ]; then echo "$(NODE_HELP)"; exit 1; else echo "note: $(NODE_HELP)"; fi

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install ## Apply database migrations
	$(BIN)/python manage.py migrate --noinput

worker: install ## Run a Celery worker (needs CELERY_BROKER_URL)
	$(BIN)/celery -A config worker --loglevel=INFO

seed: install ## Seed 50 vehicles x 100 logs into the demo fleet
	$(BIN)/python manage.py seed_diagnostics --vehicles 50 --logs-per-vehicle 100 --seed 1 --fleet demo

# --- The dashboard (frontend/): Node.js 20.19+ builds it; the API works without it.
NODE_OK   := node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null && command -v npm >/dev/null
NODE_HELP := the dashboard needs Node.js 20.19 or later with npm: https://nodejs.org/en/download (Debian 12's own nodejs is 18, too old); without it the API, /admin and /api/v1/docs/ still work
FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/tsconfig.json

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: $(BIN)/.installed frontend/node_modules/.installed $(FRONTEND_SRC)
	cd frontend && npm run build
	$(BIN)/python -m whitenoise.compress --no-brotli frontend/dist  # .gz next to each file: WhiteNoise serves it

frontend: frontend/dist/index.html ## Build the dashboard into frontend/dist (npm ci + vite build; needs Node.js 20.19+)

frontend-if-node:
	@if $(NODE_OK); then $(MAKE) --no-print-directory frontend; else echo "note: $(NODE_HELP)"; fi

frontend-schema: install frontend/node_modules/.installed ## Regenerate the dashboard's API types (frontend/src/api/schema.d.ts) from the OpenAPI schema, and its tests' vocabulary fixture
	$(BIN)/python manage.py spectacular --file frontend/openapi.yml
	cd frontend && npx openapi-typescript openapi.yml -o src/api/schema.d.ts
	$(BIN)/python manage.py vocabulary_json --file frontend/src/testing/vocabulary.json

test-frontend: frontend/node_modules/.installed ## The dashboard's unit tests (Vitest)
	cd frontend && npm test

lint-frontend: install frontend/node_modules/.installed ## tsc --strict and ESLint on the dashboard; its API types must match the schema
	cd frontend && npm run typecheck && npm run lint
	$(BIN)/python manage.py spectacular --file frontend/openapi.yml
	cd frontend && npx openapi-typescript openapi.yml -o openapi.check.d.ts >/dev/null && \
	  { cmp -s openapi.check.d.ts src/api/schema.d.ts || { echo "frontend/src/api/schema.d.ts is stale: run make frontend-schema"; exit 1; }; }

bench-dashboard: install frontend ## First load of the fleet overview on 2,000 seeded vehicles (benchmarks/dashboard_load.py; DATABASE_URL: a database of yours)
	$(BIN)/python -m benchmarks.dashboard_load

# The benchmarks get their own virtualenv: with psycopg 3 importable, Django would switch the app's driver.
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.installed: requirements.txt requirements-dev.txt requirements-bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -r requirements.txt -r requirements-dev.txt -r requirements-bench.txt
	@command -v wrk >/dev/null || echo "note: wrk not found (apt-get install -y wrk); the asyncio load generator is used"
	@touch $@

bench: $(BENCH_VENV)/.installed frontend ## Every benchmark the docs quote, then their figures into docs/performance.md (QUICK=1: a smoke run, 7.2 min here; DATABASE_URL: a PostgreSQL server, CELERY_BROKER_URL: a Redis db of yours)
	$(BENCH_VENV)/bin/python -m benchmarks.run $(if $(QUICK),--quick); status=$$?; \
	  $(BENCH_VENV)/bin/python -m benchmarks.report $(if $(QUICK),--quick) --write docs/performance.md && exit $$status

compose-check: install ## Parse docker-compose.yml and check its services
	$(BIN)/python -m pytest -q tests/unit/test_compose.py

clean: ## Remove the virtualenv and the embedded database's data
	rm -rf $(VENV) $(BENCH_VENV) .data .pytest_cache .ruff_cache .mypy_cache .hypothesis
