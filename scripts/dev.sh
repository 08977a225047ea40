#!/usr/bin/env bash
# Fresh clone → running platform: install, then start PostgreSQL, Temporal, API, worker and web UI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/pagefree dev "$@"
