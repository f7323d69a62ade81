#!/usr/bin/env bash
# Set up, then run every check: lint, format, types, and all test layers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
PY=.venv/bin/python
echo "== ruff"; "$PY" -m ruff check src tests examples bench
echo "== ruff format"; "$PY" -m ruff format --check src tests examples
echo "== mypy"; "$PY" -m mypy src
echo "== import layers"; .venv/bin/lint-imports
echo "== pytest"
"$PY" -m pytest -q -n 2 --dist loadgroup "$@"
