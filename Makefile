# `make run` and `make test` each work as the only command on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: help install lock migrate run test test-sqlite screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)

# Every dependency, direct and indirect, comes from the lock files at a fixed version with its
# hashes: a tampered or swapped package fails the install. `make lock` regenerates them.
$(VENV)/.installed: pyproject.toml requirements-dev.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the service with its dev tools (from the lock files)

LOCK := $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links

lock: install ## Regenerate requirements.lock (runtime) and requirements-dev.lock (dev) from pyproject.toml
	$(LOCK) -o requirements.lock pyproject.toml
	$(LOCK) --extra dev -o requirements-dev.lock pyproject.toml

migrate: install ## Migrate the database named by DATABASE_URL (default: SQLite under instance/)
	$(VENV)/bin/membership db upgrade

run: migrate ## Start the service on http://127.0.0.1:5000 (Stripe sandbox + SQLite unless configured)
	$(VENV)/bin/membership serve --host $(HOST) --port $(PORT)

test: install ## Run the whole suite on SQLite, then on PostgreSQL
	bash scripts/test.sh

test-sqlite: install ## Run the suite on SQLite only (quick)
	$(PY) -m pytest

screenshots: install ## Drive Chromium through join, checkout and account; write docs/screenshots/*.png
	$(PY) scripts/screenshots.py

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache
