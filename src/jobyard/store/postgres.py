"""PostgreSQL backend: many machines on one database.

- Every thread has its own autocommit connection: a statement outside
  ``store.transaction()`` is its own transaction; inside, ``BEGIN``/``COMMIT`` group them.
  ``store.using(conn)`` runs on the caller's psycopg connection, inside its transaction.
- The first connection applies missing migrations (as SQLite does), under an advisory lock
  so that processes starting together do not race; ``jobyard db migrate`` does it upfront.
- Claims take rows with ``FOR UPDATE SKIP LOCKED``: concurrent workers never wait for one
  another and never take the same job.
- Reads asked to lock (``get_jobs``/``dependents`` with ``lock=True``) hold the rows until
  commit, so the policy's read-then-write steps are serialised per job as SQLite's single
  writer serialises them (two antecedents finishing at once both resolve their common
  dependent; a dependent enqueued while its antecedent completes is seen).
- A claim outside a transaction is one statement that relaxes its own commit
  (``set_config('synchronous_commit', 'off', true)``): lost in a crash, jobs are only
  claimed again; the session stays durable.
- Bulk inserts (``insert_jobs``, ``executemany`` of a plain INSERT) go through ``COPY``;
  job ids are drawn from the identity sequence first, so they come back in order.
- Wake-ups are ``NOTIFY jobyard, 'queue,queue'`` sent on the current connection, so they
  are delivered at commit (also at the commit of a caller's transaction); a waiter holds
  its own connection doing ``LISTEN``.
- A connection a server restart broke is replaced, and its first statement retried once
  when it cannot have taken effect (``_may_retry``); driver errors become DatabaseError.
- JSON columns are ``json`` (kept verbatim): job data arrives as JSON text from the Yard,
  everything else as :class:`psycopg.types.json.Json`; reads come back decoded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Json

from jobyard import admission
from jobyard.errors import DatabaseError
from jobyard.i18n import _
from jobyard.model import Job
from jobyard.store.base import Result, Store, Waiter, dumps
from jobyard.store.collections import PostgresItemsSQL
from jobyard.store.pg_insert import COPY_MIN_ROWS, copy_shared, execute_many, insert_many
from jobyard.store.pg_util import (
    CHANNEL,
    ROWS,
    CopyPlan,
    _Closer,
    _reason,
    copy_plan,
    mask_url,
)

MIGRATION_LOCK = 7_306_086_468_415_616_114  # pg_advisory_xact_lock key: "jobyard" migrations
LOCK_ROWS = " FOR NO KEY UPDATE"
_MAX_PAYLOAD = 7000  # NOTIFY payloads must stay under 8000 bytes

NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', %(payload)s)"
LOCK_MIGRATIONS_SQL = "SELECT pg_advisory_xact_lock(%(key)s)"
CREATE_MIGRATIONS_SQL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
)


class PostgresStore(Store):
    dialect = "postgres"
    created_events = "trigger"  # job.created: a statement-level trigger (migration 0019)
    placeholder = "%({})s"
    items_sql = PostgresItemsSQL()

    def __init__(self, url: str) -> None:
        super().__init__(url)
        claim = self._queries["claim"]
        final = "SELECT * FROM claimed"
        assert final in claim  # the relaxed form below is made from it
        self._claim_relaxed = claim.replace(
            final,
            "SELECT *, set_config('synchronous_commit', 'off', true) AS sync_commit FROM claimed",
        )
        self._insert_notify = (  # its job.created event comes from a trigger (0019)
            f"WITH inserted AS ({self._queries['insert_job']}) "
            f"SELECT id, pg_notify('{CHANNEL}', %(queue)s) FROM inserted"
        )
        self.masked_url = mask_url(url)
        try:
            options = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise DatabaseError(
                _(
                    "cannot open database {masked_url!r}: {_reason}",
                    masked_url=self.masked_url,
                    _reason=_reason(exc),
                )
            ) from None
        extra: dict[str, Any] = {}
        if "application_name" not in options:
            extra["application_name"] = "jobyard"
        if "connect_timeout" not in options:
            extra["connect_timeout"] = 10
        self._conninfo = make_conninfo(url, **extra)
        self._lock = threading.Lock()
        self._ready = False
        self._auto_applied: list[str] = []
        self._copy_plans: dict[str, CopyPlan | None] = {}

    # -- connections and transactions ------------------------------------------------------

    def open_connection(self) -> psycopg.Connection[Any]:
        """A new autocommit connection, or :class:`DatabaseError` saying why not."""
        try:
            return psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise DatabaseError(
                _(
                    "cannot open database {masked_url!r}: {_reason}",
                    masked_url=self.masked_url,
                    _reason=_reason(exc),
                )
            ) from None

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        # A connection the server dropped is replaced, unless a transaction was under way.
        if conn is not None and conn.closed and not self._local.external and not self._local.depth:
            self._local.conn = None
        return super()._conn()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = self.open_connection()
        # Closed when the thread ends (its thread-locals are dropped), not left to psycopg's
        # "deleted while still open" warning: worker handler threads never call close().
        self._local.closer = _Closer(conn)
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._local.conn, self._local.depth, self._local.external = conn, 0, False
                    try:
                        # Like SQLite: the schema exists once the store is used.
                        self._auto_applied = super().migrate()
                    except BaseException:
                        self._local.conn = None
                        conn.close()
                        raise
                    self._ready = True
        return conn

    @contextmanager
    def using(self, conn: Any) -> Iterator[None]:
        """Run primitives on the caller's psycopg connection, inside its transaction.

        Nothing commits: the work is kept only if the caller commits. On an autocommit
        connection outside a transaction the primitives still run atomically."""
        if not self._ready:
            self._conn()  # create the schema first, on a connection of our own
        idle = pq.TransactionStatus.IDLE
        if (
            isinstance(conn, psycopg.Connection)
            and conn.autocommit
            and conn.info.transaction_status == idle
        ):
            with conn.transaction(), super().using(conn):
                yield
        else:
            with super().using(conn):
                yield

    def _begin(self, conn: psycopg.Connection[Any], durable: bool) -> Any:
        # One round trip for both (simple query protocol: no parameters).
        begin = "BEGIN" if durable else "BEGIN; SET LOCAL synchronous_commit = off"
        try:
            conn.execute(begin)
            return conn
        except psycopg.Error as exc:
            # Nothing has been done on this connection yet: a fresh one is safe to use.
            if not self._may_retry(conn, exc, begin):
                raise self._error(exc) from exc
        conn = self._reconnect(conn)
        try:
            conn.execute(begin)
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        return conn

    def _commit(self, conn: psycopg.Connection[Any]) -> None:
        try:
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            raise self._error(exc) from exc  # never retried: it may have committed

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        if conn.closed:
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            pass  # the connection broke: the server has rolled back already

    driver_errors = (psycopg.Error,)

    def _error(self, exc: BaseException) -> DatabaseError:
        return DatabaseError(
            _(
                "database {masked_url!r}: {_reason}",
                masked_url=self.masked_url,
                _reason=_reason(exc),
            )
        )

    def _may_retry(
        self, conn: psycopg.Connection[Any], exc: BaseException | None, sql: str
    ) -> bool:
        """Whether a statement that failed on a broken connection may run again on a fresh
        one: only outside a transaction of the caller's or ours, and only when it cannot
        have taken effect — the server ended the session (a restart: AdminShutdown and
        kin, SQLSTATE 57P0x, which abort what was under way), or it changes nothing (a
        BEGIN, a plain read). A write whose connection just vanished may have committed."""
        if self._local.external or self._local.depth or not conn.broken:
            return False
        if not isinstance(exc, psycopg.OperationalError):
            return False
        if (exc.sqlstate or "").startswith("57P"):
            return True
        head = sql.lstrip()[:6].upper()
        return head in ("BEGIN", "BEGIN;", "SELECT")

    def _reconnect(self, conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
        conn.close()
        self._local.conn = None
        fresh: psycopg.Connection[Any] = self._conn()
        return fresh

    def _execute(self, sql: str, params: Mapping[str, Any]) -> Result:
        # The connection autocommits: outside a transaction a statement is its own one.
        conn = self._conn()
        try:
            return self._run(conn, sql, params)
        except DatabaseError as exc:
            if not self._may_retry(conn, exc.__cause__, sql):
                raise
        return self._run(self._reconnect(conn), sql, params)

    def _run(self, conn: Any, sql: str, params: Mapping[str, Any]) -> Result:
        try:
            with conn.cursor(row_factory=ROWS) as cur:
                cur.execute(sql, params or None)
                rows = cur.fetchall() if cur.description else []
                return Result(rows, cur.rowcount, None)
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> int:
        try:
            return self._executemany_raw(sql, rows)
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _executemany_raw(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> int:
        plan = self._copy_plan(sql) if len(rows) >= COPY_MIN_ROWS else None
        return execute_many(self._conn(), sql, rows, plan)

    def _copy_plan(self, sql: str) -> CopyPlan | None:
        if sql not in self._copy_plans:
            self._copy_plans[sql] = copy_plan(sql)
        return self._copy_plans[sql]

    # -- codec -------------------------------------------------------------------------------

    def encode_json(self, value: Any) -> Any:
        return Json(value, dumps)

    def decode_json(self, value: Any) -> Any:
        return value  # psycopg has already decoded json columns

    def list_param(self, values: Sequence[Any]) -> Any:
        return list(values)

    def _in_list(self, column: str, param: str) -> str:
        return f"{column} = ANY(%({param})s)"

    # -- migrations --------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        self._conn()  # the first connection applies what is missing: report those too
        applied, self._auto_applied = self._auto_applied, []
        return applied + super().migrate()

    def applied_migrations(self) -> set[int]:
        found = self._execute("SELECT to_regclass('schema_migrations')", {}).fetchone()
        if found[0] is None:
            with self._atomic():
                self._lock_migrations()  # concurrent CREATE TABLE IF NOT EXISTS can collide
                self._execute(CREATE_MIGRATIONS_SQL, {})
        rows = self._execute("SELECT version FROM schema_migrations", {}).fetchall()
        return {int(r[0]) for r in rows}

    def _lock_migrations(self) -> None:
        self._execute(LOCK_MIGRATIONS_SQL, {"key": MIGRATION_LOCK})

    def _run_script(self, sql: str) -> None:
        try:
            self._conn().execute(sql)  # no parameters: several statements in one go
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    # -- primitives --------------------------------------------------------------------------

    def _insert_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        sql = self._queries["insert_job"]
        if len(rows) == 1:  # one statement: atomic on its own, in a transaction or not
            return [int(self._execute(sql, rows[0]).fetchone()[0])]
        plan = self._copy_plan(sql) if len(rows) >= COPY_MIN_ROWS else None
        try:
            with self._atomic():
                return insert_many(self._conn(), self._run, sql, rows, plan)
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _insert_shared(self, base: Mapping[str, Any], datas: Sequence[str]) -> list[int]:
        plan = self._copy_plan(self._queries["insert_job"])
        try:
            with self._atomic():
                conn = self._conn()
                if len(datas) < COPY_MIN_ROWS or plan is None:  # one statement: one trigger call
                    params = {**base, "datas": list(datas)}
                    found = self._run(conn, self._queries["insert_jobs_shared"], params)
                    return sorted(int(r[0]) for r in found.fetchall())
                ids = copy_shared(conn, self._run, plan, base, datas)
                return super()._insert_shared(base, datas) if ids is None else ids
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _insert_and_notify(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if len(rows) == 1 and rows[0]["status"] == "ready":
            # One round trip: the insert and its NOTIFY in one statement (delivered at its
            # commit, or the caller's).
            row = self._execute(self._insert_notify, rows[0]).fetchone()
            return [int(row[0])]
        return super()._insert_and_notify(rows)

    def claim(
        self,
        worker: str,
        run_id: str,
        queues: Sequence[str],
        types: Sequence[str] | None,
        limit: int,
        now: float,
        lease_expires: float,
    ) -> list[Job]:
        self._conn()
        if self._local.depth or self._local.external:  # the caller's transaction decides
            return super().claim(worker, run_id, queues, types, limit, now, lease_expires)
        # A claim of its own need not wait for the disk: lost in a crash, the jobs are
        # only claimed again. One statement in autocommit, relaxing only its own implicit
        # transaction (set_config(..., true) inside it): the session stays durable.
        params = {
            "worker": worker,
            "run_id": run_id,
            "queues": list(queues),
            "types": list(types or []),
            "any_type": types is None,
            "limit": limit,
            "now": now,
            "lease_expires": lease_expires,
        }
        rows = self._execute(self._claim_relaxed, params).fetchall()
        return [self.row_to_job(r) for r in rows]

    def lock_limits(self, keys: Sequence[str]) -> None:
        # One transaction-level advisory lock per limited key, in one order everywhere (no
        # two claimers wait for each other in a circle); held until the claim commits, so
        # the running count read next cannot change under this claim.
        for key in sorted(set(keys)):
            self.execute("lock_limit", {"key": admission.lock_id(key)})

    def require_durability(self) -> None:
        self._execute("SET LOCAL synchronous_commit = on", {})

    def _locked(self, name: str, lock: bool, table: str | None = None) -> str:
        """Locked reads take the rows until commit (FOR NO KEY UPDATE: inserts that
        reference them still go on), so a policy's read-then-write steps are serialised
        per job as SQLite's single writer serialises them."""
        sql = self._queries[name]
        if lock:
            sql += LOCK_ROWS + (f" OF {table}" if table else "")
        return sql

    # -- wake-ups ----------------------------------------------------------------------------

    def notify(self, queues: Sequence[str]) -> None:
        payload = ",".join(queues)
        if len(payload.encode()) > _MAX_PAYLOAD:
            payload = "*"
        self._execute(NOTIFY_SQL, {"payload": payload})

    def waiter(self, queues: Sequence[str]) -> Waiter:
        from jobyard.store.pg_listen import ListenWaiter

        return ListenWaiter(self, queues)
