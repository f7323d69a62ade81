#!/usr/bin/env bash
# The message catalogues: extract the msgids from src (Python and the web templates) into
# jobyard.pot, merge them into each language's .po (new ones come in empty), then check.
# Run after adding or changing a message; translate the empty msgstrs; run again.
# No compile step: jobyard reads the .po files at runtime (docs/i18n.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
LOCALE=src/jobyard/locale
"$PY" -m babel.messages.frontend extract -F babel.cfg -k _ -k n_:1,2 -k N_ \
    --no-wrap --sort-by-file --project=jobyard --copyright-holder="jobyard authors" \
    -o "$LOCALE/jobyard.pot" . >/dev/null
for po in "$LOCALE"/*/LC_MESSAGES/jobyard.po; do
    lang=$(basename "$(dirname "$(dirname "$po")")")
    "$PY" -m babel.messages.frontend update -i "$LOCALE/jobyard.pot" -d "$LOCALE" -D jobyard \
        -l "$lang" --no-wrap --no-fuzzy-matching --ignore-obsolete >/dev/null
done
# Fails listing every msgid without a (non-fuzzy) translation or with other placeholders.
"$PY" -m pytest -q -p no:cacheprovider tests/unit/test_i18n_catalog.py
