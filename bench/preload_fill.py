"""The history of bench/preload_drain.py: N finished jobs written straight in SQL, as a
long-lived database holds them, and what the tables then hold (rows, bytes on disk).

The rows look like the worker's own (a real run's rows were the model): completed (90%,
3% of them after a retry), failed after 3 attempts (7%, with their failures) and
cancelled (3%, never started) jobs of 12 types on 8 queues (mail, images, node:db1, ...),
with data, results, run ids, workers and a few priorities, created over the 30 days the
default retention keeps (``[retention] jobs_days``). Logs: half the completed jobs one
line, failed ones four ("Job Failed with Error: ..."), cancelled ones "Job Cancelled"
(~0.7 lines a job). Events: created / started / finished of the newest jobs, no more than
the default event retention keeps (``[events]``: 7 days, ``--events`` rows, by default
its ``keep_rows``): older ones it has pruned. Chunks of ``CHUNK`` jobs, one transaction
each (a recursive CTE on SQLite, generate_series on PostgreSQL), with jobyard's
``job_created`` trigger off meanwhile (it would write the job.created events of rows that
are already finished); then VACUUM ANALYZE (PostgreSQL) / ANALYZE (SQLite), the trigger
back on.

SQL outside src/ on purpose: this is test data for the benchmark, not a store operation.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import preload_sql
import psycopg
from psycopg import sql

CHUNK = 1_000_000
DAY = 86400.0
# What the default retention keeps: finished jobs 30 days ([retention] jobs_days), events
# 7 days ([events] keep_days); the history stays an hour inside both.
SPAN = 30 * DAY
EVENTS_SPAN = 7 * DAY
TABLES = ("jobs", "jobs_archive", "job_logs", "job_events")
CONDITIONS = ("empty", "history")  # the two databases of a backend


class Db:
    """A plain connection to one benchmark database, beside jobyard's own. SQL is written
    with ``:name`` parameters (SQLite's style) and translated for psycopg."""

    def __init__(self, url: str) -> None:
        self.postgres = not url.startswith("sqlite")
        self.conn: Any
        if self.postgres:
            self.conn = psycopg.connect(url, autocommit=True)
        else:
            self.path = url.removeprefix("sqlite:///")
            self.conn = sqlite3.connect(self.path, isolation_level=None)

    def run(self, text: str, **params: Any) -> list[Any]:
        if self.postgres and params:
            names = "|".join(params)
            text = re.sub(rf"(?<![:\w]):({names})\b", r"%(\1)s", text.replace("%", "%%"))
        cur = (
            self.conn.execute(text, params or None)
            if self.postgres
            else self.conn.execute(text, params)
        )
        return list(cur.fetchall()) if cur.description else []

    def scalar(self, text: str, **params: Any) -> Any:
        return self.run(text, **params)[0][0]

    def settle(self) -> None:
        """Roll back a transaction a failed statement left open."""
        if self.postgres:
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.rollback()
        elif self.conn.in_transaction:
            self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def fill(url: str, count: int, events: int, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Write ``count`` finished jobs (ids 1..count, the database freshly migrated and
    empty), their logs and the newest ``events`` job events; returns the seconds each
    step took."""
    db = Db(url)
    now = time.time()
    step = (SPAN - 7200.0) / count  # created from 30 days - 1 hour ago to 1 hour ago
    params = {"t0": now - SPAN + 3600.0 - step, "step": step}
    recent = count - int((EVENTS_SPAN - 7200.0) / step)  # jobs of the last 7 days only
    first_event_job = max(count - events // 3 + 1, recent, 1)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    restore = _quiet(db)
    try:
        insert = preload_sql.jobs_sql(db.postgres)
        for lo in range(1, count + 1, CHUNK):
            hi = min(count, lo + CHUNK - 1)
            db.run("BEGIN")
            db.run(insert, lo=lo, hi=hi, **params)
            db.run(preload_sql.LOGS_SQL, lo=lo, hi=hi)
            if hi >= first_event_job:
                db.run(preload_sql.EVENTS_SQL, lo=max(lo, first_event_job), hi=hi)
            db.run("COMMIT")
            say(f"  history: {hi:,} / {count:,} jobs written ({time.monotonic() - t0:.0f} s)")
    finally:
        db.settle()
        restore()
    timings["write_seconds"] = time.monotonic() - t0
    t1 = time.monotonic()
    if db.postgres:
        db.run("SELECT setval(pg_get_serial_sequence('jobs', 'id'), :n)", n=count)
        db.run("VACUUM (ANALYZE) jobs, job_logs, job_events")
        # The fill's dirty pages written now, not by a checkpoint spread over the rounds
        # (needs a superuser, as the bench's default server has; else the server's own).
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            db.run("CHECKPOINT")
    else:
        db.run("ANALYZE")
        db.run("PRAGMA journal_mode=WAL")
    timings["analyze_seconds"] = time.monotonic() - t1
    db.close()
    return timings


def _quiet(db: Db) -> Callable[[], None]:
    """Turn off the job.created trigger (and, on SQLite, the WAL: one writer, a fresh
    file) for the fill; returns what turns them back on."""
    if db.postgres:
        db.run("SET synchronous_commit = off")
        db.run("SET maintenance_work_mem = '256MB'")
        db.run("ALTER TABLE jobs DISABLE TRIGGER job_created")
        return lambda: db.run("ALTER TABLE jobs ENABLE TRIGGER job_created")
    (trigger,) = db.run(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'job_created'"
    )
    db.run("PRAGMA journal_mode=DELETE")
    db.run("PRAGMA synchronous=OFF")
    db.run("PRAGMA cache_size=-262144")
    db.run("DROP TRIGGER job_created")
    return lambda: db.run(trigger[0])


def retention_pass(url: str) -> dict[str, Any]:
    """jobyard's own hourly retention pass over the history (the first one a database
    holding it would get: with the default ``[retention]`` it moves the finished jobs older
    than ``archive_hours`` to the archive), claimed as the housekeepers claim it, then what
    autovacuum would do next (VACUUM ANALYZE / ANALYZE); the seconds each took and how
    many jobs it moved."""
    from jobyard.config import Config
    from jobyard.retention import claim_run, prune_all
    from jobyard.store import open_store

    store = open_store(url)
    now = time.time()
    t0 = time.monotonic()
    claim_run(store, now)  # this hour's pass is this one: the workers' housekeepers skip it
    prune_all(store, now, Config())
    seconds = time.monotonic() - t0
    store.close()
    t1 = time.monotonic()
    db = Db(url)
    if db.postgres:
        db.run("VACUUM (ANALYZE) jobs, jobs_archive")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            db.run("CHECKPOINT")
    else:
        db.run("ANALYZE")
    archived = int(db.scalar("SELECT count(*) FROM jobs_archive"))
    db.close()
    return {"seconds": seconds, "archived": archived, "vacuum_seconds": time.monotonic() - t1}


def inspect(url: str) -> dict[str, Any]:
    """Rows and bytes on disk (with indexes) of the tables a history fills, the whole
    database's bytes, and whether the planner has statistics of ``jobs``."""
    db = Db(url)
    out: dict[str, Any] = {"tables": {}}
    for table in TABLES:
        out["tables"][table] = {"rows": int(db.scalar(f"SELECT count(*) FROM {table}"))}
    if db.postgres:
        for table in TABLES:
            size = db.scalar("SELECT pg_total_relation_size(CAST(:t AS regclass))", t=table)
            out["tables"][table]["bytes"] = int(size)
        out["database_bytes"] = int(db.scalar("SELECT pg_database_size(current_database())"))
        out["analyzed"] = bool(
            db.scalar("SELECT reltuples >= 0 FROM pg_class WHERE oid = CAST('jobs' AS regclass)")
        )
    else:
        sizes = db.run(
            "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat d "
            "JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name"
        )
        by_table = {str(name): int(size) for name, size in sizes}
        for table in TABLES:
            out["tables"][table]["bytes"] = by_table.get(table, 0)
        out["database_bytes"] = int(
            db.scalar("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
        )
        stat = db.run("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        out["analyzed"] = bool(stat) and bool(
            db.run("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'jobs' LIMIT 1")
        )
    db.close()
    return out


def drained(url: str, lo: int, hi: int) -> tuple[int, float, float]:
    """How many of the jobs ``lo``..``hi`` completed, the first start and the last end."""
    db = Db(url)
    count, first, last = db.run(
        "SELECT count(*), min(started), max(finished) FROM jobs "
        "WHERE id BETWEEN :lo AND :hi AND status = 'completed'",
        lo=lo,
        hi=hi,
    )[0]
    db.close()
    return int(count), float(first or 0), float(last or 0)


def create_database(admin_url: str, name: str) -> str:
    """A new database on the server of ``admin_url``; its URL."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def server_version(admin_url: str) -> str:
    with psycopg.connect(admin_url, connect_timeout=10) as conn:
        return conn.info.parameter_status("server_version") or "unknown"


class Databases:
    """The empty and the history database of one backend, made fresh and removed after."""

    def __init__(self, backend: str, workdir: Path, admin_url: str) -> None:
        self.backend, self.workdir, self.admin = backend, workdir, admin_url
        self.tag = uuid.uuid4().hex[:12]
        self.urls: dict[str, str] = {}

    def create(self) -> dict[str, str]:
        for condition in CONDITIONS:
            if self.backend == "sqlite":
                url = f"sqlite:///{self.workdir / f'{self.tag}-{condition}.db'}"
            else:
                url = create_database(self.admin, self._name(condition))
            self.urls[condition] = url
        return self.urls

    def _name(self, condition: str) -> str:
        return f"bench_bigtables_{self.tag}_{condition}"

    def names(self) -> dict[str, str]:
        """Where each database was: a file, or a database name on the server."""
        if self.backend == "sqlite":
            return {c: url.removeprefix("sqlite:///") for c, url in self.urls.items()}
        return {c: self._name(c) for c in self.urls}

    def drop(self) -> None:
        for condition in self.urls:
            if self.backend == "sqlite":
                for path in self.workdir.glob(f"{self.tag}-{condition}.db*"):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            else:
                drop_database(self.admin, self._name(condition))
