"""The store seam stays narrow: outside ``jobyard.store`` no module runs a query, builds
SQL or touches the codec; it calls the store's typed methods."""

from __future__ import annotations

import re
from pathlib import Path

import jobyard

SRC = Path(jobyard.__file__).parent
PRIVATE = (
    "execute",
    "executemany",
    "_execute",
    "_executemany",
    "encode_json",
    "decode_json",
    "list_param",
    "placeholder",
    "dialect",
    "_in_list",
    "row_to_job",
    "empty_object",
    "empty_list",
    "_queries",
    "_run",
)
# Reached through anything named ``store`` (``store.x``, ``yard.store.x``, ``self.store.x``).
VIA_STORE = re.compile(r"\bstore\.(" + "|".join(map(re.escape, PRIVATE)) + r")\b")
# Names no other object in jobyard has: wrong whatever they are reached through.
ANYWHERE = re.compile(r"\.(_execute|_in_list|executemany|encode_json|decode_json|list_param)\(")
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT INTO|DELETE FROM|UPDATE \w+ SET)\b")


def _offences(text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if VIA_STORE.search(line) or ANYWHERE.search(line) or SQL.search(line):
            found.append(f"{number}: {line.strip()}")
    return found


def test_no_module_outside_the_store_runs_queries_or_touches_the_codec() -> None:
    bad = {}
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name.startswith("store/"):
            continue
        offences = _offences(path.read_text())
        if offences:
            bad[name] = offences
    assert bad == {}


def test_the_check_sees_what_it_looks_for() -> None:
    assert _offences('rows = yard.store.execute("list_types").fetchall()')
    assert _offences("value = self.store.decode_json(row[0])")
    assert _offences("params = store.list_param(ids)")
    assert _offences('if self.store.dialect == "postgres":')
    assert _offences("cur = s._execute(sql, params)")
    assert _offences('sql = f"SELECT count(*) FROM jobs{clause}"')
    assert not _offences("jobs = yard.store.get_jobs([1], lock=True)")
    assert not _offences("if known.placeholder and not info.placeholder:")
