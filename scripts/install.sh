#!/usr/bin/env bash
# Create .venv (if needed) and install PageFree with pinned dependencies. Usage: scripts/install.sh [extra]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "PageFree needs Python 3.11+" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extra=${1:-}
spec="."
[ -n "$extra" ] && spec=".[$extra]"
# Reinstall only when the dependency list changed since the last install.
stamp=".venv/.pagefree-installed-$extra"
sum=$(cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e "$spec"
  echo "$sum" > "$stamp"
fi
