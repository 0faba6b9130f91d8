# Two commands: `make run` (set up, migrate, seed, print demo tokens, serve) and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 8000
WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: install run worker test lint openapi bench clean console console-test console-screenshots

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The web console (Node 20 + npm): installed from the lock, built only when its sources change.
CONSOLE_SOURCES := $(shell find console/src console/index.html console/vite.config.ts console/tsconfig.json -type f 2>/dev/null)

console/node_modules/.package-lock.json: console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund

console/dist/index.html: console/node_modules/.package-lock.json $(CONSOLE_SOURCES)
	cd console && npm run build

console: console/dist/index.html

# Console unit tests (Vitest) and the end-to-end journeys in headless Chromium.
console-test: install console
	cd console && npm test
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk)
	cd console && npm run e2e

# The README's screenshots, from the last end-to-end run, reduced to a 128-colour palette.
SHOTS := map:manager-0-map depot-drawer:manager-0b-depot-drawer stock:manager-1-stock depot-error:manager-5-issue-error \
	stock-count:manager-7-stock-count siting:planner-1-siting prepositioning:planner-2-prepositioning \
	jobs-english:planner-4-jobs-english dispatch-plan:dispatcher-2-plan dispatch-timeline:dispatcher-2b-timeline \
	manifest-print:dispatcher-2c-manifest-print dispatch-replanned:dispatcher-5-replanned ledger:dispatcher-7-ledger
console-screenshots:
	$(PY) console/e2e/readme_shots.py $(SHOTS)

run: install console
	mkdir -p instance
	$(FLASK) db-upgrade
	$(FLASK) seed --if-empty
	$(FLASK) load-roads --if-empty
	$(FLASK) demo-tokens
	@echo "console: http://127.0.0.1:$(PORT)/console/  (sign in with a token above)"
	$(VENV)/bin/gunicorn --workers $(WORKERS) --threads 4 --bind 127.0.0.1:$(PORT) \
		--access-logfile - wsgi:app

# an RQ worker for optimisation jobs: REDIS_URL=redis://127.0.0.1:6379/0 make worker (run any number)
worker: install
	$(FLASK) worker

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy reserve_service

test: install lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

openapi: install
	$(PY) -m reserve_service.openapi_spec write api_spec/openapi.json

bench: install
	$(PY) -m pip install -q -e '.[dev,bench]'
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) instance/*.db* .pytest_cache
