#!/usr/bin/env bash
# Set up (if needed), then run `jobyard up` on the embedded SQLite with the example jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/jobyard up "$@"
