# The two commands a new machine needs: `make run` and `make test`.
# Both create .venv and install what they need on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres lint schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## server + worker + demo data on SQLite; prints the admin URL and credentials
	$(PY) manage.py up

test: $(STAMP)  ## the whole suite on the embedded default (SQLite)
	$(PY) -m pytest

test-postgres: $(STAMP)  ## the whole suite on PostgreSQL at 127.0.0.1:5432
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/autopack} $(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

schema: $(STAMP)
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yml

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
