# `make run` and `make test` each work as the only command on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: help install lock migrate run test test-sqlite translations screenshots clean

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

# The languages with a catalog besides English (the source). Add one with `make translations CATALOGS="fr ar es"`,
# translate its new messages/messages.po, and list it in LANGUAGES. The compiled .mo files are committed, so a
# fresh clone runs translated without this step; tests/test_translations.py fails when a catalog lags behind.
CATALOGS ?= fr ar
BABEL := $(VENV)/bin/pybabel

translations: install ## Extract the reader pages' and emails' texts into service/translations/*/messages.po, then compile them
	@pot=$$(mktemp) && trap 'rm -f "$$pot"' EXIT && \
	$(BABEL) -q extract -F babel.cfg -k lazy_gettext -c TRANSLATORS: --add-location=file --width=100 \
	  --project=membership --version=$$($(PY) -c 'import importlib.metadata as m; print(m.version("membership"))') \
	  -o "$$pot" service && \
	for lang in $(CATALOGS); do \
	  $(BABEL) -q update --init-missing --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date --width=100 \
	    -i "$$pot" -d service/translations -l $$lang || exit 1; \
	done
	$(BABEL) compile --statistics -d service/translations

screenshots: install ## Drive Chromium through join, checkout and account; write docs/screenshots/*.png
	$(PY) scripts/screenshots.py

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache
