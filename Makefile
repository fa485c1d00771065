# `make run` and `make test` each work as the only command on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: help install migrate run test test-sqlite screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the service with its dev tools

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
