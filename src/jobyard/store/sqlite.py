"""SQLite backend: the embedded default. WAL, one file, safe for several processes.

Wake-ups travel as datagrams over unix sockets in a folder beside the database file
(``<db>.wake/``), so a waiting worker hears about a new job within microseconds without
polling the file; writers queue on a lock file beside it (``<db>.lock``). Both belong to
the database file's owner and are not open to other users: a lock file anyone could open
would let anyone block every writer. An in-memory database needs neither.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from jobyard.errors import DatabaseError
from jobyard.i18n import _
from jobyard.model import Job
from jobyard.store.base import Result, Store, Waiter
from jobyard.store.collections import SQLiteItemsSQL
from jobyard.store.sqlite_files import (
    MemoryWaiter,
    SocketWaiter,
    WakeSender,
    open_lock_file,
)
from jobyard.store.sqlite_insert import Inserts

_memory_ids = itertools.count(1)


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` → ``rel.db``; ``sqlite:////abs.db`` → ``/abs.db``."""
    rest = url[len("sqlite:") :]
    if rest in ("//:memory:", "///:memory:", ":memory:"):
        return ":memory:"
    if not rest.startswith("///"):
        raise DatabaseError(
            _(
                "cannot open database {url!r}: write sqlite:///relative.db, "
                "sqlite:////absolute/path.db or sqlite://:memory:",
                url=url,
            )
        )
    path = rest[3:]
    if not path:
        raise DatabaseError(
            _("cannot open database {url!r}: no file name after sqlite:///", url=url)
        )
    return path


class SQLiteStore(Store):
    dialect = "sqlite"
    created_events = "trigger"  # job.created: migration 0016
    placeholder = ":{}"
    items_sql = SQLiteItemsSQL()

    def __init__(self, url: str) -> None:
        super().__init__(url)
        path = sqlite_path(url)
        if path == ":memory:":
            self._target = f"file:jobyard-mem-{os.getpid()}-{next(_memory_ids)}"
            self._target += "?mode=memory&cache=shared"
            self._anchor: sqlite3.Connection | None = self._open()
            self.wake_dir: str | None = None
        else:
            self._target = os.path.abspath(path)
            folder = os.path.dirname(self._target)
            if not os.path.isdir(folder):
                raise DatabaseError(
                    _(
                        "cannot open database {url!r}: folder {folder} does not exist",
                        url=url,
                        folder=folder,
                    )
                )
            self._anchor = None
            self.wake_dir = self._target + ".wake"
        self.lock_path = None if self.wake_dir is None else self._target + ".lock"
        self._memory_waiters: set[MemoryWaiter] = set()
        self._sender: WakeSender | None = None
        self._lock = threading.RLock()
        self._ready = False
        self._applied_on_open: list[str] = []
        self._inserts = Inserts(self._queries)

    busy_timeout = 30.0  # seconds a writer waits for the lock (file lock, then SQLite's)

    def _open(self) -> sqlite3.Connection:
        uri = self._target.startswith("file:")
        try:
            conn = sqlite3.connect(
                self._target,
                uri=uri,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout,
            )
            conn.row_factory = sqlite3.Row
            if not uri:
                self._set_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA cache_size=-32000")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA wal_autocheckpoint=8000")  # fewer, larger checkpoints
        except sqlite3.Error as exc:
            raise DatabaseError(
                _("cannot open database {url!r}: {exc}", url=self.url, exc=exc)
            ) from None
        return conn

    @staticmethod
    def _set_wal(conn: sqlite3.Connection) -> None:
        # Switching a new file to WAL needs a moment alone with it; when several processes
        # open it at once the switch can meet "database is locked" without the busy handler.
        for attempt in range(200):
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 199:
                    raise
                time.sleep(0.01 + 0.002 * attempt)

    def migrate(self) -> list[str]:
        opening = not self._ready
        applied = super().migrate()
        # When this call opened the store, the first connection applied what was missing.
        report, self._applied_on_open = self._applied_on_open, []
        return report + applied if opening else applied

    def _connect(self) -> sqlite3.Connection:
        conn = self._open()
        if self.lock_path is not None:
            # One open file description per connection, so threads exclude each other too.
            try:
                self._local.lockfd = open_lock_file(self.lock_path, self._target)
            except BaseException:
                conn.close()
                raise
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._local.conn, self._local.depth, self._local.external = conn, 0, False
                    # The embedded store creates its schema on first use.
                    self._applied_on_open = Store.migrate(self)
                    self._ready = True
        return conn

    driver_errors = (sqlite3.Error,)

    def _run(self, conn: Any, sql: str, params: Mapping[str, Any]) -> Result:
        try:
            cur = conn.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return Result(rows, cur.rowcount, cur.lastrowid)

    def _execute(self, sql: str, params: Mapping[str, Any]) -> Result:
        # Outside a transaction a statement autocommits on its own; no BEGIN needed, and
        # a plain read takes no write lock.
        conn = self._conn()
        if self._local.depth or sql.lstrip()[:6].upper() == "SELECT":
            return self._run(conn, sql, params)
        self._writer_lock(True)
        try:
            return self._run(conn, sql, params)
        finally:
            self._writer_lock(False)

    def _writer_lock(self, take: bool) -> None:
        """Queue writers on a kernel lock before SQLite's own: SQLite's busy handler
        sleeps 1-100 ms between retries, a blocked flock wakes the moment it is free."""
        fd = getattr(self._local, "lockfd", None)
        if fd is None:
            if self._anchor is not None:  # in-memory: one process, a thread lock will do
                if not take:
                    self._lock.release()
                elif not self._lock.acquire(timeout=self.busy_timeout):
                    raise DatabaseError(self._locked_message())
            return
        if not take:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return
        # Never an unbounded wait: poll (briefly at first, so a free lock is taken at once)
        # until the busy timeout, then fail clearly.
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseError(self._locked_message())
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.002)

    def _locked_message(self) -> str:
        where = _(" (lock file {lock_path})", lock_path=self.lock_path) if self.lock_path else ""
        return _(
            "database {url!r} is locked: no write lock after {busy_timeout:g} s{where}; another "
            "process holds it",
            url=self.url,
            busy_timeout=self.busy_timeout,
            where=where,
        )

    def _begin(self, conn: sqlite3.Connection, durable: bool) -> sqlite3.Connection:
        # ``durable`` changes nothing here: WAL with synchronous=NORMAL for every commit.
        self._writer_lock(True)
        try:
            # IMMEDIATE takes the write lock up front: no deadlocking lock upgrades later.
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._writer_lock(False)
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise
        return conn

    def _commit(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            self._writer_lock(False)

    def _rollback(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            self._writer_lock(False)

    def _executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> int:
        try:
            return int(self._conn().executemany(sql, rows).rowcount)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _run_script(self, sql: str) -> None:
        try:
            self._run_statements(sql)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _run_statements(self, sql: str) -> None:
        conn = self._conn()
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):  # knows a trigger's inner semicolons
                conn.execute(statement)
                statement = ""

    def applied_migrations(self) -> set[int]:
        conn = self._conn()
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
            )
            return {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def encode_json(self, value: Any) -> Any:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def decode_json(self, value: Any) -> Any:
        # Most JSON columns hold their defaults; skip the parser for those.
        if value == "[]":
            return []
        if value == "{}":
            return {}
        if value is None or value == "null":
            return None
        return json.loads(value)

    def list_param(self, values: Sequence[Any]) -> Any:
        return json.dumps(list(values))

    def _in_list(self, column: str, param: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(:{param}))"

    def _insert_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        try:
            if len(rows) == 1:
                return self._inserts.rows(self._conn(), rows)
            with self._atomic():
                return self._inserts.rows(self._conn(), rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _insert_shared(self, base: Mapping[str, Any], datas: Sequence[str]) -> list[int]:
        try:
            with self._atomic():
                return self._inserts.alike(self._conn(), base, datas)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _insert_and_notify(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if len(rows) != 1:
            return super()._insert_and_notify(rows)
        # One statement (its job.created event comes from a trigger): atomic on its own,
        # in the caller's transaction or not, with no BEGIN/COMMIT of its own.
        ids = self._insert_rows(rows)
        if rows[0]["status"] == "ready":
            self.notify([str(rows[0]["queue"])])
        return ids

    def _complete_params(
        self, rows: Sequence[tuple[int, str | None, Any]], now: float
    ) -> dict[str, Any]:
        triples = [[i, run, self.encode_json(result)] for i, run, result in rows]
        return {"rows": json.dumps(triples), "now": now}

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
        # One ordered index walk per queue (an IN list would sort every ready job), merged
        # here; the write lock taken by BEGIN IMMEDIATE makes pick-then-update atomic.
        params: dict[str, Any] = {
            "now": now,
            "limit": limit,
            "types": self.list_param(list(types or [])),
            "any_type": types is None,
        }
        with self._atomic():
            candidates: list[tuple[Any, ...]] = []
            for queue in dict.fromkeys(queues):
                rows = self._run(
                    self._conn(), self._queries["claim_candidates"], {**params, "queue": queue}
                ).rows
                candidates.extend(tuple(r) for r in rows)
            if not candidates:
                return []
            candidates.sort()
            ids = [c[3] for c in candidates[:limit]]
            rows = self._run(
                self._conn(),
                self._queries["claim_ids"],
                {
                    "ids": self.list_param(ids),
                    "worker": worker,
                    "run_id": run_id,
                    "now": now,
                    "lease_expires": lease_expires,
                },
            ).rows
        return [self.row_to_job(r) for r in rows]

    # -- wake-ups ----------------------------------------------------------------------------

    def notify(self, queues: Sequence[str]) -> None:
        if self.wake_dir is None:  # in-memory: the waiters are in this process
            for memory_waiter in list(self._memory_waiters):
                memory_waiter.wake()
            return
        if self._sender is None:
            self._sender = WakeSender(self.wake_dir)
        self._sender.send(queues)

    def waiter(self, queues: Sequence[str]) -> Waiter:
        if self.wake_dir is None:
            return MemoryWaiter(self._memory_waiters)
        self._conn()  # the database file exists: the folder takes its owner
        return SocketWaiter(self.wake_dir, self._target)

    def close_thread(self) -> None:
        super().close_thread()
        fd = getattr(self._local, "lockfd", None)
        if fd is not None:
            os.close(fd)
            self._local.lockfd = None

    def close(self) -> None:
        super().close()
        if self._sender is not None:
            self._sender.close()
            self._sender = None
