# The two commands a new machine needs: `make run` and `make test`.
# Both create .venv and install what they need on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres lint schema lock report clean

UV_VERSION := 0.13.9

# Installs exactly what uv.lock pins, every file checked against its hash; then the project
# itself without dependencies. `make lock` regenerates uv.lock after pyproject.toml changes.
$(STAMP): pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "uv==$(UV_VERSION)"
	$(VENV)/bin/uv export --quiet --frozen --extra dev --no-emit-project --format requirements-txt \
	  --output-file $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --require-hashes -r $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lock: $(STAMP)  ## regenerate uv.lock from pyproject.toml (CI fails when it is stale)
	$(VENV)/bin/uv lock

PORT ?= 8000
FAKE_PROVIDER_PORT ?= 8765

run: $(STAMP)  ## server + worker + fake provider + example agent + demo data on SQLite (make run PORT=8080)
	$(PY) manage.py up --port $(PORT) --fake-provider-port $(FAKE_PROVIDER_PORT)

test: $(STAMP)  ## the whole suite on the embedded default (SQLite)
	$(PY) -m pytest

test-postgres: $(STAMP)  ## the whole suite on PostgreSQL at 127.0.0.1:5432
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/autopack} $(PY) -m pytest

report: $(STAMP)  ## load, throughput and chaos on PostgreSQL into docs/performance.md (REPORT_ARGS=--quick)
	$(PY) tests/perf/report.py $(REPORT_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

schema: $(STAMP)
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yml

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
