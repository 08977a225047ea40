#!/usr/bin/env bash
# Fresh clone → tests: install with test extras, lint, type-check, run the whole suite.
# Needs only Python 3.11+. Debian's Chromium (e2e tests) and Redis (shared-limit tests) are
# installed or started when root and apt are there (as .ci/run does); otherwise those tests are
# skipped, each kind with one line saying how to enable them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian's chromium for the e2e tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "   (apt-get could not install chromium)"
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "== e2e browser tests will be skipped: no $CHROMIUM (enable: sudo apt-get install chromium)"
fi
if command -v redis-server >/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/redis-pagefree-test.log >/dev/null || true
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "== Redis tests will be skipped: nothing on 127.0.0.1:6379 (enable: install redis-server)"
fi
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy app workflows activities
echo "== pytest"
# The tests mostly wait on servers (PostgreSQL, Temporal, Chromium), so three pytest-xdist
# processes keep two cores busy; each has its own PostgreSQL and servers under its basetemp.
# The fault-injection and integration tests (-m "faults or integration": dev servers, worker
# processes killed and restarted, recovery timed against a promise) run after the others, alone.
# With your own -m the selection is yours: one run in one process, as before (add -n 3 to spread
# it). PAGEFREE_TEST_WORKERS=0 runs the first half in one process too.
workers=${PAGEFREE_TEST_WORKERS:-3}
pytest=(.venv/bin/pytest -q -p no:cacheprovider)
for arg in "$@"; do
  case "$arg" in -m | -m*) exec "${pytest[@]}" "$@" ;; esac
done
first=0 second=0
"${pytest[@]}" -n "$workers" -m "not faults and not integration" "$@" || first=$?
echo "== pytest -m \"faults or integration\" (alone)"
"${pytest[@]}" -m "faults or integration" "$@" || second=$?
# 5 is "no tests collected": fine for one half (e.g. a path with no fault tests), not for both.
if [ "$first" = 5 ] && [ "$second" = 5 ]; then exit 5; fi
for rc in "$first" "$second"; do
  if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then exit "$rc"; fi
done
