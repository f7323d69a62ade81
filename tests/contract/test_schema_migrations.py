"""schema == replayed migrations, on every backend (docs/design.md promises a test).

- A database left at any earlier version (the first k migrations replayed by hand, as an
  older release made it) and then opened by the store ends with exactly the schema of a
  fresh database: tables, columns (type, null, default), indexes, constraints, triggers.
- Every named query of ``store/sql/DIALECT.sql`` compiles against that schema.
- The SQLite and PostgreSQL migrations build the same tables, columns and index names.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.pgfixtures import BACKENDS

from jobyard import Yard
from jobyard.store import queries

Schema = dict[str, Any]
VERSIONS = [v for v, _, _ in queries.migrations("sqlite")]
MIGRATIONS_DDL = "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def _squash(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip()


def sqlite_schema(url: str) -> Schema:
    conn = sqlite3.connect(sqlite_path(url))
    try:
        objects = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
        found: Schema = {"tables": {}, "indexes": {}, "triggers": {}}
        for kind, name, table, sql in objects:
            if kind == "table":
                cols = conn.execute(f"PRAGMA table_xinfo('{name}')").fetchall()
                fks = conn.execute(f"PRAGMA foreign_key_list('{name}')").fetchall()
                found["tables"][name] = {
                    "columns": {c[1]: (c[2].upper(), bool(c[3]), c[4], c[5]) for c in cols},
                    "foreign_keys": sorted(tuple(f[2:]) for f in fks),
                }
            elif kind == "index":
                info = conn.execute(f"PRAGMA index_xinfo('{name}')").fetchall()
                found["indexes"][name] = (table, [i[2] for i in info if i[5]], _squash(sql))
            else:
                found[f"{kind}s"][name] = (table, _squash(sql))
        return found
    finally:
        conn.close()


def postgres_schema(url: str) -> Schema:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
        found: Schema = {"tables": {}, "indexes": {}, "triggers": {}, "constraints": {}}
        for table, column, type_, nullable, default in columns:
            entry = found["tables"].setdefault(table, {"columns": {}})
            entry["columns"][column] = (type_, nullable == "NO", default)
        for name, table, definition in conn.execute(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall():
            found["indexes"][name] = (table, definition)
        for name, table, definition in conn.execute(
            "SELECT c.conname, t.relname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = 'public'"
        ).fetchall():
            found["constraints"][name] = (table, definition)
        for name, table, definition in conn.execute(
            "SELECT tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
        ).fetchall():
            found["triggers"][name] = (table, definition)
        return found


def schema(url: str) -> Schema:
    return sqlite_schema(url) if dialect(url) == "sqlite" else postgres_schema(url)


def fresh_install(url: str) -> None:
    """The schema a new install gets: the store creates it on first use."""
    yard = Yard(url)
    try:
        yard.count()
    finally:
        yard.close()


def replay(url: str, upto: int) -> None:
    """Apply the first ``upto`` migrations by hand, each in its own connection and
    transaction, recording them as the store does (an older release's database)."""
    steps = queries.migrations(dialect(url))[:upto]
    if dialect(url) == "sqlite":
        for version, name, sql in steps:
            conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
            try:
                conn.executescript(
                    f"BEGIN; {MIGRATIONS_DDL.replace('TABLE', 'TABLE IF NOT EXISTS', 1)};\n"
                    f"{sql}\n;INSERT INTO schema_migrations VALUES ({version}, '{name}'); COMMIT;"
                )
            finally:
                conn.close()
        return
    for version, name, sql in steps:
        with psycopg.connect(url) as conn:
            conn.execute(MIGRATIONS_DDL.replace("TABLE", "TABLE IF NOT EXISTS", 1))
            conn.execute(sql.encode())  # a script: several statements in one simple query
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, name))


@pytest.mark.parametrize("upto", [0, *VERSIONS])
def test_a_database_from_any_version_upgrades_to_the_fresh_schema(
    store_url: str, empty_store_url: str, upto: int
) -> None:
    replay(empty_store_url, upto)
    yard = Yard(empty_store_url)
    try:
        applied = yard.migrate()
        assert yard.store.applied_migrations() == set(VERSIONS)
    finally:
        yard.close()
    names = [f"{v:04d}_{n}" for v, n, _ in queries.migrations(dialect(store_url))]
    assert applied == names[upto:]
    fresh_install(store_url)
    fresh, upgraded = schema(store_url), schema(empty_store_url)
    assert upgraded == fresh
    assert "jobs" in fresh["tables"] and fresh["indexes"]


def _explain_params(sql: str, style: str) -> dict[str, None]:
    pattern = r"(?<!:):(\w+)" if style == "sqlite" else r"%\((\w+)\)s"
    return dict.fromkeys(re.findall(pattern, sql))


def test_every_named_query_compiles_against_the_schema(store_url: str) -> None:
    kind = dialect(store_url)
    fresh_install(store_url)
    named = queries.load(kind)
    assert named.keys() == queries.load("postgres" if kind == "sqlite" else "sqlite").keys()
    failures = []
    if kind == "sqlite":
        conn = sqlite3.connect(sqlite_path(store_url))
        try:
            for name, sql in named.items():
                try:  # EXPLAIN compiles the statement (every table and column) without running it
                    conn.execute(f"EXPLAIN {sql}", _explain_params(sql, kind)).fetchall()
                except sqlite3.Error as exc:
                    failures.append(f"{name}: {exc}")
        finally:
            conn.close()
    else:
        with psycopg.connect(store_url) as conn:
            for name, sql in named.items():
                try:
                    with conn.transaction():
                        conn.execute(f"EXPLAIN {sql}", _explain_params(sql, kind)).fetchall()
                except psycopg.Error as exc:
                    failures.append(f"{name}: {exc}")
    assert failures == []


# Indexes only one dialect can have, each with its reason (docs/collections.md).
PG_ONLY_INDEXES = {
    "collection_items_data": "GIN on jsonb for data @> (SQLite has no jsonb)",
    "job_events_xid": "the feed reads in (xid, id) order (SQLite's ids follow commit order)",
}
# Columns only one dialect has, each with its reason (docs/events.md).
PG_ONLY_COLUMNS = {("job_events", "xid"): "ids are handed out before commit (SQLite: in order)"}


def _shape(found: Schema) -> dict[str, Any]:
    """What must agree across dialects: tables, their columns, nullability, index names."""
    return {
        "tables": {
            # SQLite reports a primary key column as nullable; it is not (PRAGMA: pk > 0).
            table: {
                column: bool(spec[1] or (len(spec) > 3 and spec[3]))
                for column, spec in entry["columns"].items()
                if (table, column) not in PG_ONLY_COLUMNS
            }
            for table, entry in found["tables"].items()
        },
        # SQLite names the index of a primary key or UNIQUE constraint itself.
        "indexes": sorted(n for n in found["indexes"] if not n.startswith("sqlite_autoindex")),
    }


@pytest.mark.postgres
def test_sqlite_and_postgres_build_the_same_tables_and_indexes(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    lite = f"sqlite:///{tmp_path / 'shape.db'}"
    fresh_install(lite)
    pg = str(request.getfixturevalue("pg_url"))
    lite_shape, pg_shape = _shape(sqlite_schema(lite)), _shape(postgres_schema(pg))
    pg_indexes = [
        n for n in pg_shape["indexes"] if not n.endswith("_pkey") and n not in PG_ONLY_INDEXES
    ]
    assert lite_shape["tables"] == pg_shape["tables"]
    assert lite_shape["indexes"] == sorted(
        n for n in pg_indexes if n not in _pg_constraint_indexes(pg)
    )


def _pg_constraint_indexes(url: str) -> set[str]:
    """Indexes PostgreSQL makes for UNIQUE constraints (SQLite's are its autoindexes)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'u'").fetchall()
    return {r[0] for r in rows}


_ = BACKENDS  # the store_url fixtures (tests/contract/conftest.py) run each test per backend
