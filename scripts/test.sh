#!/usr/bin/env bash
# Fresh clone → tests: install with test extras, lint, type-check, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy app workflows activities
echo "== pytest"; exec .venv/bin/pytest -q -p no:cacheprovider "$@"
