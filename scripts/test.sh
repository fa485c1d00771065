#!/usr/bin/env bash
# The checks, then the suite twice: on SQLite (with coverage), then on PostgreSQL
# (TEST_DATABASE_URL, or the local server at 127.0.0.1:5432 when one answers).
# REQUIRE_POSTGRES=1 (CI) makes a missing PostgreSQL a failure instead of a skipped pass.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PY=$BIN/python
PG_URL="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"

echo "== lint (ruff), types (mypy), import layers (import-linter)"
"$BIN/ruff" check service stripe_sandbox tests bench scripts migrations
"$BIN/mypy"
"$BIN/lint-imports" --no-cache

echo "== supply chain: every locked dependency against the vulnerability databases (pip-audit)"
# A vulnerability found fails the run; no network (or PyPI unreachable) prints why and goes on.
for lock in requirements.lock requirements-dev.lock; do
  report=$(mktemp)
  rc=0
  "$BIN/pip-audit" -r "$lock" --require-hashes --disable-pip --progress-spinner off -f json -o "$report" \
    2>"$report.err" || rc=$?
  "$PY" scripts/audit_report.py "$lock" "$report" "$rc" "$report.err"
  rm -f "$report" "$report.err"
done

echo "== test suite on SQLite, with coverage of service/"
TEST_DATABASE_URL= "$PY" -m pytest --cov=service --cov-report=term:skip-covered --cov-report=html:htmlcov "$@"

if "$PY" scripts/pg_ready.py "$PG_URL"; then
  echo "== test suite on PostgreSQL ($PG_URL)"
  TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest "$@"
elif [ "${REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "PostgreSQL is required (REQUIRE_POSTGRES=1) but $PG_URL does not answer." >&2
  exit 1
else
  echo "== PostgreSQL pass SKIPPED: nothing answers at $PG_URL."
  echo "   Start PostgreSQL there, or set TEST_DATABASE_URL=postgresql+psycopg://USER@HOST:PORT/DB, and run make test again."
fi
