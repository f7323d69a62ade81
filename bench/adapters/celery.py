"""Celery 5 with the Redis broker (no result backend)."""

from __future__ import annotations

import os
import sys
from typing import Any

from common import Adapter, Payload, SkipSystem, WorkerSpec, redis_client


class CeleryAdapter(Adapter):
    name = "celery"
    label = "Celery (Redis)"
    backend = "redis"
    single_method = "noop.apply_async(kwargs=...)"
    bulk_method = (
        "group(noop.s(...) ...).apply_async() — no bulk publish in Celery: one producer, "
        "one LPUSH per message"
    )
    worker_method = (
        "1 x `celery worker -P prefork -c <slots>` (<slots> child processes), "
        "--without-gossip/mingle/heartbeat, default prefetch (4)"
    )

    def setup(self) -> None:
        self.url = self.cfg.redis_url("celery")
        os.environ["BENCH_CELERY_BROKER"] = self.url
        self.redis = redis_client(self.url)
        try:
            import celery
            import tasks_celery
        except ImportError as exc:
            raise SkipSystem(f"celery not importable: {exc}") from exc
        self.tasks: Any = tasks_celery
        self.group = celery.group

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_one(self, data: Payload) -> None:
        self.tasks.noop.apply_async(kwargs=data)

    def enqueue_bulk(self, items: list[Payload]) -> None:
        self.group(self.tasks.noop.s(**d) for d in items).apply_async()

    def enqueue_latency(self, sid: int) -> None:
        self.tasks.lat.apply_async(kwargs={"sid": sid})

    def worker_specs(self) -> list[WorkerSpec]:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks_celery",
            "worker",
            "-P",
            "prefork",
            "-c",
            str(self.cfg.slots),  # prefork: one job at a time per child
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            "bench-celery@%h",
        ]
        return [WorkerSpec(argv, self.worker_env(BENCH_CELERY_BROKER=self.url), "celery")]

    def pending_count(self) -> int | None:
        return int(self.redis.llen("celery"))

    def teardown(self) -> None:
        self.tasks.app.close()
        self.redis.close()
