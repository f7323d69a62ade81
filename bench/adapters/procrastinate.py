"""Procrastinate 3 on PostgreSQL (LISTEN/NOTIFY enabled, the default)."""

from __future__ import annotations

import os
import sys
from typing import Any

from common import Adapter, Payload, SkipSystem, WorkerSpec, recreate_pg_database

DATABASE = "bench_procrastinate"


class ProcrastinateAdapter(Adapter):
    name = "procrastinate"
    label = "Procrastinate (PostgreSQL)"
    backend = "postgresql"
    single_method = "noop.defer(**data) (sync connector)"
    bulk_method = "noop.batch_defer(*payloads) — one multi-row INSERT per call"
    worker_method = "<procs> x `procrastinate worker -c <threads>` (sync tasks run in threads)"

    def setup(self) -> None:
        self.dsn = self.cfg.pg_url(DATABASE)
        os.environ["BENCH_PROCRASTINATE_DSN"] = self.dsn
        try:
            import psycopg
            import tasks_procrastinate
        except ImportError as exc:
            raise SkipSystem(f"procrastinate not importable: {exc}") from exc
        recreate_pg_database(self.cfg, DATABASE)
        self.tasks: Any = tasks_procrastinate
        self.tasks.app.open()
        self.tasks.app.schema_manager.apply_schema()
        self.conn = psycopg.connect(self.dsn, autocommit=True)

    def reset(self) -> None:
        self.conn.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers,"
            " procrastinate_workers RESTART IDENTITY CASCADE"
        )

    def enqueue_one(self, data: Payload) -> None:
        self.tasks.noop.defer(**data)

    def enqueue_bulk(self, items: list[Payload]) -> None:
        self.tasks.noop.batch_defer(*items)

    def enqueue_latency(self, sid: int) -> None:
        self.tasks.lat.defer(sid=sid)

    def worker_specs(self) -> list[WorkerSpec]:
        env = self.worker_env(BENCH_PROCRASTINATE_DSN=self.dsn)
        return [
            WorkerSpec(
                [
                    sys.executable,
                    "-m",
                    "procrastinate",
                    "--app",
                    "tasks_procrastinate.app",
                    "worker",
                    "-n",
                    f"bench-{n}",
                    "-q",
                    "default",
                    "-c",
                    str(self.cfg.concurrency),
                ],
                env,
                f"procrastinate-{n}",
            )
            for n in range(self.cfg.workers)
        ]

    def pending_count(self) -> int | None:
        row = self.conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'"
        ).fetchone()
        return int(row[0]) if row else None

    def teardown(self) -> None:
        self.conn.close()
        self.tasks.app.close()
