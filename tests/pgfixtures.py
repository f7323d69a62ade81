"""PostgreSQL fixtures for every test layer (a pytest plugin loaded by tests/conftest.py).

- ``store_url``: a fresh, migrated, empty database — a SQLite file in ``tmp_path``, or a
  PostgreSQL database cloned from a migrated template (``CREATE DATABASE ... TEMPLATE``)
  and dropped afterwards; the next clone is made while the current test runs.
- ``yard``: a :class:`jobyard.Yard` on ``store_url``, closed afterwards.
- ``empty_store_url``: the same with no schema at all (the store creates it on first use).
- ``pg_url``, ``pg_empty_url``, ``pg_admin``: PostgreSQL alone, for tests that only make
  sense there (not parametrised). ``backend`` names the backend of the current test.

PostgreSQL is found at ``$JOBYARD_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``;
that database is only used to create and drop others). When it cannot be reached the
postgres tests are skipped, with the reason repeated at the end of the run; with ``CI=true``
they fail instead, so CI never passes without them.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from jobyard.store import queries
from jobyard.store.postgres import PostgresStore, mask_url

PG_ADMIN_URL = os.environ.get("JOBYARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_TEMPLATE_LOCK = 7_306_086_468_415_616_115  # advisory lock: one template build at a time
_unavailable: list[str] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _with_db(url: str, dbname: str) -> str:
    """The same server URL, naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


def _template_name() -> str:
    """Named after the migrations it holds, so a changed migration builds a new one."""
    digest = hashlib.sha1()
    for version, name, text in queries.migrations("postgres"):
        digest.update(f"{version}:{name}:{text}".encode())
    return f"jobyard_template_{digest.hexdigest()[:12]}"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection for creating and dropping databases."""
    if _unavailable:
        _missing(_unavailable[0])
    try:
        conn = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = f"PostgreSQL unreachable at {mask_url(PG_ADMIN_URL)}: {exc}".strip()
        _unavailable.append(reason)
        _missing(reason)
    with conn:
        yield conn


def _missing(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the postgres contract tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_template(pg_admin: psycopg.Connection[Any]) -> str:
    """A migrated database to clone, built once (and shared by pytest-xdist workers)."""
    return ensure_template(pg_admin)


def ensure_template(pg_admin: psycopg.Connection[Any]) -> str:
    """The template of the current migrations, built if it is missing."""
    name = _template_name()
    pg_admin.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK])
    try:
        _sweep(pg_admin, keep=name)
        exists = pg_admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            # Build under a scratch name and rename when complete: a half-built template
            # (an interrupted run) is never mistaken for a good one.
            scratch = f"jobyard_build_{uuid.uuid4().hex[:12]}"
            pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
            try:
                store = PostgresStore(_with_db(PG_ADMIN_URL, scratch))
                store.migrate()
                store.close()
                pg_admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(scratch), sql.Identifier(name)
                    )
                )
            except BaseException:
                _drop(pg_admin, scratch)
                raise
            # Nobody may connect to it: CREATE DATABASE ... TEMPLATE needs it unused.
            pg_admin.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                    sql.Identifier(name)
                )
            )
    finally:
        pg_admin.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK])
    return name


_LEFTOVERS = """
SELECT datname FROM pg_database
WHERE datname ~ '^jobyard_(template|test|build)_[0-9a-f]{12}$' AND datname <> %s
  AND (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification
      < now() - interval '1 hour'
"""


def _sweep(admin: psycopg.Connection[Any], keep: str) -> None:
    """Drop what earlier runs left behind, once it is an hour old: templates of other
    migrations, databases of interrupted runs. Best effort (needs superuser)."""
    try:
        names = [str(r[0]) for r in admin.execute(_LEFTOVERS, [keep]).fetchall()]
    except psycopg.Error:
        return
    for name in names:
        try:
            admin.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name))
            )
            _drop(admin, name)
        except psycopg.Error:
            pass


def _drop(admin: psycopg.Connection[Any], name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class _Clones:
    """Fresh databases cloned from the template. While a test runs, the next test's
    database is cloned and the last one dropped, on a thread of their own."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="jobyard-clones")
        self._admin: psycopg.Connection[Any] | None = None  # used on the pool's thread only
        self._spare: Future[str] | None = None

    def _conn(self) -> psycopg.Connection[Any]:
        if self._admin is None:
            self._admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        return self._admin

    def _create(self) -> str:
        name = f"jobyard_test_{uuid.uuid4().hex[:12]}"
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(self.template)
        )
        try:
            self._conn().execute(create)
        except psycopg.errors.InvalidCatalogName:
            # Another checkout's run (other migrations) swept our template as stale while
            # this session used it: build it again and go on.
            self.template = ensure_template(self._conn())
            self._conn().execute(create)
        return name

    def take(self) -> str:
        spare, self._spare = self._spare, None
        name = (spare or self._pool.submit(self._create)).result()
        self._spare = self._pool.submit(self._create)
        return name

    def _drop(self, name: str) -> None:
        _drop(self._conn(), name)  # FORCE: connections a test left open do not block it

    def give_back(self, name: str) -> None:
        self._pool.submit(self._drop, name)

    def close(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            try:
                self._pool.submit(self._drop, spare.result())
            except psycopg.Error:
                pass
        self._pool.shutdown(wait=True)
        if self._admin is not None:
            self._admin.close()


@pytest.fixture(scope="session")
def pg_clones(pg_template: str) -> Iterator[_Clones]:
    clones = _Clones(pg_template)
    try:
        yield clones
    finally:
        clones.close()


@pytest.fixture
def pg_url(pg_clones: _Clones) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database of this test's own, dropped afterwards."""
    name = pg_clones.take()
    try:
        yield _with_db(PG_ADMIN_URL, name)
    finally:
        pg_clones.give_back(name)


@pytest.fixture
def pg_empty_url(pg_admin: psycopg.Connection[Any]) -> Iterator[str]:
    """A fresh PostgreSQL database with no schema at all (for migration tests)."""
    name = f"jobyard_test_{uuid.uuid4().hex[:12]}"
    pg_admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(PG_ADMIN_URL, name)
    finally:
        _drop(pg_admin, name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say it loudly when the postgres tests did not run (works under pytest-xdist too)."""
    reasons = [
        str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        for report in terminalreporter.stats.get("skipped", [])
        if "PostgreSQL unreachable" in str(report.longrepr)
    ]
    if reasons:
        terminalreporter.write_sep("!", f"{len(reasons)} postgres tests SKIPPED")
        terminalreporter.write_line(reasons[0].removeprefix("Skipped: "))
