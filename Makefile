# isogov: two commands matter. `make run` (embedded default) and `make test` (both databases).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(PYTHON) -m uv

.PHONY: install run test test-sqlite test-postgres services lock bench clean

# Installs uv (if missing), a virtualenv and the locked dependencies; re-runs when the lock changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $@

install: $(VENV)/.installed

# Starts the whole system on its embedded default: SQLite, embedded Redis, local files under var/.
run: install
	$(VENV)/bin/isogov dev

# Runs the same suite on SQLite and on PostgreSQL; brings up PostgreSQL and Redis if they are down.
test: install services
	ISOGOV_TEST_DB=sqlite $(PY) -m pytest -q $(PYTEST_ARGS)
	ISOGOV_TEST_DB=postgres $(PY) -m pytest -q $(PYTEST_ARGS)

test-sqlite: install
	ISOGOV_TEST_DB=sqlite $(PY) -m pytest -q $(PYTEST_ARGS)

test-postgres: install services
	ISOGOV_TEST_DB=postgres $(PY) -m pytest -q $(PYTEST_ARGS)

services:
	@bash tests/ensure_services.sh

# Recompiles the locks from pyproject.toml (names, versions, hashes; no download addresses):
# requirements.lock for development and tests, requirements-prod.lock (no dev tools) for the image.
lock:
	$(UV) pip compile --quiet pyproject.toml --extra dev --extra build --generate-hashes --python-version 3.11 -o requirements.lock
	$(UV) pip compile --quiet pyproject.toml --extra build -c requirements.lock --generate-hashes --python-version 3.11 -o requirements-prod.lock

bench: install services
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
