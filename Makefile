# Two commands: `make run` (set up, migrate, seed, print demo tokens, serve) and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 8000
WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: install run worker test lint openapi bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	mkdir -p instance
	$(FLASK) db-upgrade
	$(FLASK) seed --if-empty
	$(FLASK) load-roads --if-empty
	$(FLASK) demo-tokens
	$(VENV)/bin/gunicorn --workers $(WORKERS) --threads 4 --bind 127.0.0.1:$(PORT) \
		--access-logfile - wsgi:app

# an RQ worker for optimisation jobs: REDIS_URL=redis://127.0.0.1:6379/0 make worker (run any number)
worker: install
	$(FLASK) worker

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

openapi: install
	$(PY) -m reserve_service.openapi_spec write api_spec/openapi.json

bench: install
	$(PY) -m pip install -q -e '.[dev,bench]'
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) instance/*.db* .pytest_cache
