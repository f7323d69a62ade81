"""Huey 3 with RedisHuey (blocking dequeue)."""

from __future__ import annotations

import os
import sys
from typing import Any

from common import Adapter, Payload, SkipSystem, WorkerSpec, redis_client


class HueyAdapter(Adapter):
    name = "huey"
    label = "Huey (Redis)"
    backend = "redis"
    single_method = "noop(**data)"
    bulk_method = "loop of noop(**data) — Huey has no bulk enqueue (Task.map is a loop too)"
    worker_method = "1 x `huey_consumer -k process -w 2` (2 worker processes + consumer)"

    def setup(self) -> None:
        self.url = self.cfg.redis_url("huey")
        os.environ["BENCH_HUEY_URL"] = self.url
        self.redis = redis_client(self.url)
        try:
            import tasks_huey
        except ImportError as exc:
            raise SkipSystem(f"huey not importable: {exc}") from exc
        self.tasks: Any = tasks_huey

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_one(self, data: Payload) -> None:
        self.tasks.noop(**data)

    def enqueue_bulk(self, items: list[Payload]) -> None:
        noop = self.tasks.noop
        for d in items:
            noop(**d)

    def enqueue_latency(self, sid: int) -> None:
        self.tasks.lat(sid=sid)

    def worker_specs(self) -> list[WorkerSpec]:
        argv = [
            sys.executable,
            "-m",
            "huey.bin.huey_consumer",
            "tasks_huey.huey",
            "-k",
            "process",
            "-w",
            str(self.cfg.workers),
            "-q",
        ]
        return [WorkerSpec(argv, self.worker_env(BENCH_HUEY_URL=self.url), "huey")]

    def pending_count(self) -> int | None:
        return int(self.tasks.huey.pending_count())

    def teardown(self) -> None:
        self.redis.close()
