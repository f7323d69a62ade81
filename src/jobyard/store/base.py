"""The store seam.

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
from dataclasses import dataclass, fields
from typing import Any

from jobyard.errors import DatabaseError
from jobyard.model import STATUSES, Job
from jobyard.store import queries

JSON_COLUMNS = frozenset({"data", "props", "result", "depends", "resolved", "failures"})
JOB_COLUMNS = frozenset(f.name for f in fields(Job)) | {"pending", "has_dependents"}


@dataclass
class JobFilter:
    ids: Sequence[int] | None = None
    status: Sequence[str] | None = None
    type: Sequence[str] | None = None
    queue: Sequence[str] | None = None
    jobset: int | None = None
    before_id: int | None = None  # paging cursor: only ids below this
    limit: int | None = None


@dataclass
class Update:
    """A conditional update of one job: applied only while it is still as expected."""

    id: int
    changes: dict[str, Any]
    statuses: tuple[str, ...] | None = None
    run_id: str | None = None
    # Only while the lease ran out before this time: a rescue must lose to a heartbeat that
    # renewed the lease after the rescuer read the job.
    lease_before: float | None = None


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


class Store(ABC):
    dialect: str
    placeholder: str  # how a named parameter is spelled, with {} for the name
    # Told (inside the transaction) of jobs that finished: ("job.completed" | "job.failed" |
    # "job.cancelled", [(job, result or error or None)]). The Yard sets it (events.FinishHook).
    finished_hook: Callable[[str, Sequence[tuple[Job, Any]]], None] | None = None

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._queries = queries.load(self.dialect)
        self._layouts: dict[int, list[tuple[int, str, bool]]] = {}
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
        return DatabaseError(f"database {self.url!r}: {exc}")

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

    # -- primitives --------------------------------------------------------------------------

    @abstractmethod
    def insert_jobs(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert job rows (JSON columns already encoded); return their ids in order."""

    def insert_and_notify(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert job rows and wake the workers of the ready ones' queues."""
        ids = self.insert_jobs(rows)
        ready = sorted({str(r["queue"]) for r in rows if r["status"] == "ready"})
        if ready:
            self.notify(ready)
        return ids

    def get_jobs(self, ids: Sequence[int]) -> list[Job]:
        if not ids:
            return []
        cur = self.execute("get_jobs", {"ids": self.list_param(list(ids))})
        by_id = {job.id: job for job in map(self.row_to_job, cur.fetchall())}
        return [by_id[i] for i in ids if i in by_id]

    def query_jobs(self, flt: JobFilter, count: bool = False) -> Any:
        where, params = [], {}
        p = self.placeholder.format
        for key in ("ids", "status", "type", "queue"):
            values = getattr(flt, key)
            if key == "status" and values and len(values) == 1 and values[0] in STATUSES:
                # A literal (from the fixed list of statuses) lets the planner use the
                # status's partial index; a bound parameter would not.
                where.append(f"status = '{values[0]}'")
                continue
            if values:
                column = "id" if key == "ids" else key
                where.append(self._in_list(column, key))
                params[key] = self.list_param(list(values))
        if flt.jobset is not None:
            where.append(f"jobset = {p('jobset')}")
            params["jobset"] = flt.jobset
        if flt.before_id is not None:
            where.append(f"id < {p('before_id')}")
            params["before_id"] = flt.before_id
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        if count:
            cur = self._execute(f"SELECT count(*) FROM jobs{clause}", params)
            return int(cur.fetchone()[0])
        sql = f"SELECT * FROM jobs{clause} ORDER BY id DESC"
        if flt.limit is not None:
            sql += f" LIMIT {int(flt.limit)}"
        return [self.row_to_job(r) for r in self._execute(sql, params).fetchall()]

    @abstractmethod
    def _in_list(self, column: str, param: str) -> str: ...

    def update_jobs(self, updates: Sequence[Update]) -> list[int]:
        """Apply conditional updates; return the ids whose condition held."""
        done = []
        p = self.placeholder.format
        with self._atomic():
            for upd in updates:
                params: dict[str, Any] = {"id": upd.id}
                sets = []
                for key, value in upd.changes.items():
                    if key not in JOB_COLUMNS or key == "id":
                        raise KeyError(f"not a job column: {key}")
                    sets.append(f"{key} = {p('c_' + key)}")
                    params["c_" + key] = self.encode_json(value) if key in JSON_COLUMNS else value
                sql = f"UPDATE jobs SET {', '.join(sets)} WHERE id = {p('id')}"
                if upd.statuses is not None:
                    sql += " AND " + self._in_list("status", "statuses")
                    params["statuses"] = self.list_param(list(upd.statuses))
                if upd.run_id is not None:
                    sql += f" AND run_id = {p('run_id')}"
                    params["run_id"] = upd.run_id
                if upd.lease_before is not None:
                    sql += f" AND lease_expires < {p('lease_before')}"
                    params["lease_before"] = upd.lease_before
                if self._execute(sql, params).rowcount == 1:
                    done.append(upd.id)
        return done

    def complete_many(
        self, rows: Sequence[tuple[int, str | None, Any]], now: float
    ) -> list[tuple[int, bool]]:
        """Complete running jobs ``(id, run_id, result)`` still under that run, in one
        statement; return ``(id, has_dependents)`` for each one completed."""
        if not rows:
            return []
        found = self.execute("complete_many", self._complete_params(rows, now)).fetchall()
        return [(int(r[0]), bool(r[1])) for r in found]

    def _complete_params(
        self, rows: Sequence[tuple[int, str | None, Any]], now: float
    ) -> dict[str, Any]:
        results = [dumps(result) for _, _, result in rows]
        return {
            "ids": self.list_param([i for i, _, _ in rows]),
            "run_ids": self.list_param([run for _, run, _ in rows]),
            "results": self.list_param(results),
            "now": now,
        }

    def delete_jobs(self, ids: Sequence[int], statuses: Sequence[str]) -> list[int]:
        if not ids:
            return []
        with self._atomic():
            sql = (
                f"DELETE FROM jobs WHERE {self._in_list('id', 'ids')} AND "
                f"{self._in_list('status', 'statuses')} RETURNING id"
            )
            cur = self._execute(
                sql, {"ids": self.list_param(list(ids)), "statuses": self.list_param(statuses)}
            )
            gone = [int(r[0]) for r in cur.fetchall()]
            if gone:
                self.execute("delete_deps", {"ids": self.list_param(gone)})
                self.execute("delete_logs", {"ids": self.list_param(gone)})
        return gone

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
        """Claim ready jobs (one statement: atomic with or without a transaction)."""
        params = {
            "worker": worker,
            "run_id": run_id,
            "queues": self.list_param(list(queues)),
            "types": self.list_param(list(types or [])),
            "any_type": types is None,
            "limit": limit,
            "now": now,
            "lease_expires": lease_expires,
        }
        rows = self.execute("claim", params).fetchall()
        return [self.row_to_job(r) for r in rows]

    def take_type_lock(self, type_name: str, job_id: int, run_id: str, now: float) -> int | None:
        """Take the mutex of ``type_name`` for this run. None: it is ours now (or was); else
        the id of the job holding it, which is still running the run that took it."""
        params = {"type": type_name, "job_id": job_id, "run_id": run_id, "now": now}
        with self.transaction():
            for _ in range(3):
                if self.execute("type_lock_insert", params).fetchone() is not None:
                    return None
                # Locked (PostgreSQL: FOR UPDATE) before its holder is checked, in a later
                # statement: whoever changes the row must wait for this transaction.
                holder = self.execute("type_lock_holder", {"type": type_name}).fetchone()
                if holder is None:
                    continue  # released between the two statements: insert again
                if holder[1] == run_id:
                    return None
                runs = self.list_param([holder[1]])
                if self.execute("running_runs", {"run_ids": runs}).fetchone() is not None:
                    return int(holder[0])
                self.execute("type_lock_take", params)  # its holder is gone: ours now
                return None
        raise DatabaseError(f"could not take the lock of type {type_name!r}: it keeps changing")

    def release_type_lock(self, type_name: str, run_id: str) -> None:
        """Give the mutex back, if this run still holds it."""
        self.execute("type_lock_release", {"type": type_name, "run_id": run_id})

    def require_durability(self) -> None:
        """Inside a transaction: this commit waits for the disk, whatever the connection's
        URL options say (outcomes of jobs)."""
        return None

    def get_dependents(self, ids: Sequence[int]) -> list[Job]:
        cur = self.execute("dependents", {"ids": self.list_param(list(ids))})
        return [self.row_to_job(r) for r in cur.fetchall()]

    def append_logs(self, entries: Sequence[Mapping[str, Any]]) -> None:
        rows = [
            {**e, "data": None if e.get("data") is None else self.encode_json(e["data"])}
            for e in entries
        ]
        self.executemany("insert_log", rows)

    def get_log(self, job_id: int) -> list[dict[str, Any]]:
        """A job's log. Two entries are not stored but read off the job row, which saves a
        write on the hottest paths: "Job Submitted" (its ``created`` time) and, once it is
        completed, "Job Completed" (its ``finished`` time)."""
        rows = self.execute("get_log", {"job_id": job_id}).fetchall()
        entries = [
            {
                "time": r[0],
                "run": r[1],
                "level": r[2],
                "message": r[3],
                "data": None if r[4] is None else self.decode_json(r[4]),
            }
            for r in rows
        ]
        for job in self.get_jobs([job_id]):
            entries.insert(
                0,
                {
                    "time": job.created,
                    "run": None,
                    "level": "info",
                    "message": "Job Submitted",
                    "data": None,
                },
            )
            if job.status == "completed" and job.finished is not None:
                at = next(
                    (i for i, e in enumerate(entries) if i and e["time"] >= job.finished),
                    len(entries),
                )
                entries.insert(
                    at,
                    {
                        "time": job.finished,
                        "run": job.run_id,
                        "level": "success",
                        "message": "Job Completed",
                        "data": None,
                    },
                )
        return entries

    # -- wake-ups ----------------------------------------------------------------------------

    @abstractmethod
    def notify(self, queues: Sequence[str]) -> None:
        """Tell waiting workers that jobs may be ready (after the current commit)."""

    @abstractmethod
    def waiter(self, queues: Sequence[str]) -> Waiter: ...


_JOB_FIELDS = frozenset(f.name for f in fields(Job))


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
