"""The adapter interface every benchmarked system implements, and shared helpers.

An adapter drives one system from the harness process (enqueueing, cleaning up) and says how
to launch its worker processes; the harness does the timing, process management and
completion detection (through ``probe``), so the measurement is identical for every system.

Conventions all adapters follow:

* the no-op task is registered under the name ``noop`` and takes the payload as keyword
  arguments (``i``: int, ``pad``: a 32-character string); its body is ``probe.job()``
  (the ``BENCH_BODY`` of the run: a no-op or one Redis INCR, then ``probe.tick()``);
* the latency task is registered under the name ``lat`` and takes ``sid``; its body is
  ``probe.record_start(sid)``;
* jobs go to the system's default queue (called ``default`` where the system has a choice);
* a system keeps its data in its own Redis database number / PostgreSQL database so that
  ``reset()`` can wipe it wholesale.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
SRC_DIR = REPO_DIR / "src"
RESULTS_DIR = BENCH_DIR / "results"

Payload = dict[str, Any]
PAD = "abcdefghijklmnopqrstuvwxyz012345"  # the "small payload": ~50 bytes as JSON


def payload(i: int) -> Payload:
    return {"i": i, "pad": PAD}


class SkipSystem(Exception):
    """The system cannot be benchmarked here (missing package, service down, API not ready)."""


@dataclass
class BenchConfig:
    redis_base: str = "redis://127.0.0.1:6379"
    pg_base: str = "postgresql://postgres@127.0.0.1:5432"
    workers: int = 2  # worker processes that execute jobs
    concurrency: int = 4  # jobs in flight per process, where the system has such a knob
    body: str = "noop"  # the job body (probe.BODIES), same for every system
    tmp_dir: Path = field(default_factory=lambda: Path("/tmp/jobyard-bench"))

    # Redis database numbers, one per system, so a FLUSHDB never touches anything else.
    REDIS_DBS: ClassVar[dict[str, int]] = {
        "celery": 11,
        "rq": 12,
        "dramatiq": 13,
        "huey": 14,
        "probe": 15,
        "body": 10,  # the INCR body's counter
    }

    @property
    def slots(self) -> int:
        """Jobs in flight at once, the same for every system: processes x threads."""
        return self.workers * self.concurrency

    def redis_url(self, system: str) -> str:
        return f"{self.redis_base}/{self.REDIS_DBS[system]}"

    def pg_url(self, database: str) -> str:
        return f"{self.pg_base}/{database}"


@dataclass
class WorkerSpec:
    """One OS command to start; it may itself fork several job-executing processes."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    label: str = "worker"


class Adapter(ABC):
    """One system under test, as seen from the harness process."""

    #: key used on the command line (``--systems``) and in the results
    name: ClassVar[str]
    #: human-readable name for the table
    label: ClassVar[str]
    #: how single, bulk enqueue and workers are done (goes into the "methods" table)
    single_method: ClassVar[str]
    bulk_method: ClassVar[str]
    worker_method: ClassVar[str] = ""
    #: where jobs are stored: "redis", "postgresql" or "sqlite" (for same-backend ratios)
    backend: ClassVar[str]
    #: whether this is one of ours (compared against the fastest peer)
    is_jobyard: ClassVar[bool] = False

    def __init__(self, cfg: BenchConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def setup(self) -> None:
        """Import the system, connect, create schemas/databases. Raise ``SkipSystem``."""

    @abstractmethod
    def reset(self) -> None:
        """Delete every job (queued or finished) of this system. No worker is running."""

    @abstractmethod
    def enqueue_one(self, data: Payload) -> None:
        """Enqueue one ``noop`` job with one call of the system's normal enqueue API."""

    @abstractmethod
    def enqueue_bulk(self, items: list[Payload]) -> None:
        """Enqueue ``noop`` jobs for every payload, with the system's bulk API if it has one."""

    @abstractmethod
    def enqueue_latency(self, sid: int) -> None:
        """Enqueue one ``lat`` job for sample ``sid``."""

    @abstractmethod
    def worker_specs(self) -> list[WorkerSpec]:
        """Commands that start ``cfg.workers`` job-executing processes in total."""

    def pending_count(self) -> int | None:
        """Jobs waiting to run, for a sanity check after enqueueing (None: not supported)."""
        return None

    def describe_state(self) -> dict[str, int] | None:
        """Job counts by state as the system sees them, to explain a failed or stalled drain."""
        pending = self.pending_count()
        return None if pending is None else {"pending": pending}

    def teardown(self) -> None:  # noqa: B027  (optional hook)
        """Close connections. Called once, also after failures."""

    # -- helpers for subclasses ------------------------------------------------------------

    def worker_env(self, **extra: str) -> dict[str, str]:
        """Environment for worker processes: bench/ and src/ importable, probe configured."""
        env = {
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(BENCH_DIR), str(SRC_DIR), os.environ.get("PYTHONPATH")) if p
            ),
            "BENCH_PROBE_URL": self.cfg.redis_url("probe"),
            "BENCH_BODY": self.cfg.body,
            "BENCH_BODY_URL": self.cfg.redis_url("body"),
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra)
        return env


def ensure_import_paths() -> None:
    """Make bench/ modules and the (possibly not installed) jobyard package importable."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    if str(SRC_DIR) not in sys.path:
        sys.path.append(str(SRC_DIR))  # an installed jobyard, if any, wins


def recreate_pg_database(cfg: BenchConfig, database: str) -> None:
    """Drop (kicking out stale sessions) and create a PostgreSQL database."""
    try:
        import psycopg
    except ImportError as exc:
        raise SkipSystem(f"psycopg not importable: {exc}") from exc
    if not database.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {database!r}")
    try:
        with psycopg.connect(cfg.pg_url("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.OperationalError as exc:
        raise SkipSystem(f"PostgreSQL not reachable at {cfg.pg_base}: {exc}") from exc


def redis_client(url: str) -> Any:
    """A connected redis client, or ``SkipSystem`` if Redis is down."""
    try:
        import redis
    except ImportError as exc:
        raise SkipSystem(f"redis-py not importable: {exc}") from exc
    client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SkipSystem(f"Redis not reachable at {url}: {exc}") from exc
    return client
