"""The core of every store: connections, transactions, named queries, the JSON codec.

A backend supplies connections, a JSON codec, list parameters, bulk inserts and wake-up
notifications; the primitives here run the dialect's named queries. Policy (state machine,
retries, dependencies) lives above, in :mod:`jobyard.lifecycle`, once for every backend.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from jobyard.errors import DatabaseError
from jobyard.i18n import _
from jobyard.model import Job
from jobyard.store import queries

JSON_COLUMNS = frozenset(
    {"data", "props", "result", "depends", "resolved", "failures", "semaphores"}
)
JOB_COLUMNS = frozenset(f.name for f in fields(Job)) | {"pending", "has_dependents", "gated"}


class Result:
    """A statement's rows, fetched at once so no cursor outlives its transaction."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None


class Waiter(ABC):
    """Blocks until someone notifies that work may be available."""

    @abstractmethod
    def wait(self, timeout: float) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...


FinishedHook = Callable[[str, Sequence[tuple[Job, Any]]], None]


class StoreCore(ABC):
    """What every concern of the store builds on; private to :mod:`jobyard.store`."""

    dialect: str
    placeholder: str  # how a named parameter is spelled, with {} for the name

    def __init__(self, url: str) -> None:
        self.url = url
        # Told, inside the transaction, of jobs that finished: ("job.completed" |
        # "job.failed" | "job.cancelled", [(job, result or error or None)]). Only for what
        # must be atomic with the outcome (the Yard's event triggers, events.FinishHook):
        # a hook that raises undoes the outcome. Everyone else reads the transition events
        # after commit (jobyard.feed).
        self.finished_hooks: list[FinishedHook] = []
        self._local = threading.local()
        self._queries = queries.load(self.dialect)
        self._layouts: dict[int, list[tuple[int, str, bool]]] = {}
        self._templates: dict[int, Any] = {}  # insert templates (InsertsMixin)
        self.empty_object = self.encode_json({})  # encoded once: the common case
        self.empty_list = self.encode_json([])

    # -- connections and transactions ------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _begin(self, conn: Any, durable: bool) -> Any:
        """Start a transaction; return the connection it runs on (a fresh one when the
        old one turned out broken and nothing had been sent on it)."""

    @abstractmethod
    def _commit(self, conn: Any) -> None: ...

    @abstractmethod
    def _rollback(self, conn: Any) -> None: ...

    # The driver's own exceptions; whatever escapes the store is a jobyard DatabaseError.
    driver_errors: tuple[type[Exception], ...] = ()

    def _error(self, exc: BaseException) -> DatabaseError:
        return DatabaseError(_("database {url!r}: {exc}", url=self.url, exc=exc))

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
            self._local.external = False
        return conn

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[None]:
        """Group primitives atomically. Nested (or inside ``using(conn)``), a block is a
        SAVEPOINT: when it fails, only its own work is undone, the exception propagates,
        and the enclosing transaction may catch it and go on (only the outermost commits).

        ``durable=False`` (the outermost block only): its commit need not wait for the
        disk — for a worker's claims, where a commit lost in a crash only means the jobs
        are claimed again. Everything else (outcomes, rescues, hand-backs) stays durable."""
        conn = self._conn()
        depth = self._local.depth
        if depth or self._local.external:
            with self._savepoint(conn, depth):
                yield
            return
        conn = self._begin(conn, durable)
        self._local.depth = 1
        try:
            yield
        except BaseException as exc:
            self._local.depth = 0
            self._rollback(conn)
            if isinstance(exc, self.driver_errors):
                raise self._error(exc) from exc
            raise
        self._local.depth = 0
        self._commit(conn)

    @contextmanager
    def _savepoint(self, conn: Any, depth: int) -> Iterator[None]:
        name = f"jobyard_sp{depth}"
        self._run(conn, f"SAVEPOINT {name}", {})
        self._local.depth = depth + 1
        try:
            yield
        except BaseException as exc:
            self._local.depth = depth
            self._rollback_to(conn, name)
            if isinstance(exc, self.driver_errors):
                raise self._error(exc) from exc
            raise
        self._local.depth = depth
        self._run(conn, f"RELEASE SAVEPOINT {name}", {})

    def _rollback_to(self, conn: Any, name: str) -> None:
        """Undo a failed nested block (and forget its savepoint); a broken connection has
        lost the whole transaction anyway, so the original error is what matters."""
        try:
            self._run(conn, f"ROLLBACK TO SAVEPOINT {name}", {})
            self._run(conn, f"RELEASE SAVEPOINT {name}", {})
        except Exception:
            pass

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """For one primitive's statements: a transaction of their own, or join the one under
        way without a savepoint (cheap on hot paths; a caller that wants to survive a failed
        step wraps it in ``transaction()``)."""
        self._conn()
        if self._local.depth or self._local.external:
            yield
            return
        with self.transaction():
            yield

    @contextmanager
    def using(self, conn: Any) -> Iterator[None]:
        """Run primitives on the caller's own connection and transaction (never commits)."""
        saved = getattr(self._local, "conn", None), getattr(self._local, "depth", 0)
        saved_external = getattr(self._local, "external", False)
        self._local.conn, self._local.depth, self._local.external = conn, 1, True
        try:
            yield
        finally:
            self._local.conn, self._local.depth = saved
            self._local.external = saved_external

    def close(self) -> None:
        self.close_thread()

    def close_thread(self) -> None:
        """Close the calling thread's connection only (a helper thread ending); what the
        store shares between threads stays open."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and not self._local.external:
            conn.close()
        self._local.conn = None

    def execute(self, name: str, params: Mapping[str, Any] | None = None) -> Result:
        return self._execute(self._queries[name], params or {})

    def _execute(self, sql: str, params: Mapping[str, Any]) -> Result:
        conn = self._conn()
        with self._atomic():
            return self._run(conn, sql, params)

    def _run(self, conn: Any, sql: str, params: Mapping[str, Any]) -> Result:
        cur = conn.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        return Result(rows, cur.rowcount, getattr(cur, "lastrowid", None))

    @abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run one statement for many parameter sets; return the rows changed in all."""

    def executemany(self, name: str, rows: Sequence[Mapping[str, Any]]) -> int:
        if not rows:
            return 0
        with self._atomic():
            return self._executemany(self._queries[name], rows)

    # -- codec -------------------------------------------------------------------------------

    @abstractmethod
    def encode_json(self, value: Any) -> Any: ...

    @abstractmethod
    def decode_json(self, value: Any) -> Any: ...

    @abstractmethod
    def list_param(self, values: Sequence[Any]) -> Any: ...

    @abstractmethod
    def _in_list(self, column: str, param: str) -> str:
        """A condition: ``column`` is one of the list parameter ``param``."""

    def row_to_job(self, row: Any) -> Job:
        # Job rows always come from ``SELECT *``-shaped queries: one column layout, cached.
        layout = self._layouts.get(len(row))
        if layout is None:
            layout = [
                (index, key, key in JSON_COLUMNS)
                for index, key in enumerate(row.keys())
                if key in _JOB_FIELDS
            ]
            self._layouts[len(row)] = layout
        decode = self.decode_json
        values = {key: decode(row[i]) if js else row[i] for i, key, js in layout}
        job = Job.__new__(Job)
        job.__dict__.update(values)
        return job

    # -- migrations --------------------------------------------------------------------------

    @abstractmethod
    def applied_migrations(self) -> set[int]: ...

    def migrate(self) -> list[str]:
        """Apply every numbered migration not applied yet; return their names."""
        applied = []
        for version, name, sql in queries.migrations(self.dialect):
            if version in self.applied_migrations():
                continue
            with self.transaction():
                # Check again under the lock: another process may have just applied it.
                self._lock_migrations()
                if version in self.applied_migrations():
                    continue
                self._run_script(sql)
                self._execute(
                    "INSERT INTO schema_migrations (version, name) VALUES "
                    f"({self.placeholder.format('v')}, {self.placeholder.format('n')})",
                    {"v": version, "n": name},
                )
            applied.append(f"{version:04d}_{name}")
        return applied

    @abstractmethod
    def _run_script(self, sql: str) -> None: ...

    def _lock_migrations(self) -> None:
        """Serialise migrations across processes (SQLite's write lock already does)."""
        return None

    # -- wake-ups ----------------------------------------------------------------------------

    @abstractmethod
    def notify(self, queues: Sequence[str]) -> None:
        """Tell waiting workers that jobs may be ready (after the current commit)."""

    @abstractmethod
    def waiter(self, queues: Sequence[str]) -> Waiter: ...


_JOB_FIELDS = frozenset(f.name for f in fields(Job))


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
