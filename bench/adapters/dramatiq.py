"""Dramatiq 2 with the Redis broker."""

from __future__ import annotations

import os
import sys
from typing import Any

from common import BENCH_DIR, Adapter, Payload, SkipSystem, WorkerSpec, redis_client


class DramatiqAdapter(Adapter):
    name = "dramatiq"
    label = "Dramatiq (Redis)"
    backend = "redis"
    single_method = "noop.send(**data)"
    bulk_method = (
        "dramatiq.group([noop.message(...)]).run() — no bulk enqueue in Dramatiq: "
        "one Lua-script call per message"
    )
    worker_method = "1 x `dramatiq -p <procs> -t <threads>` (<procs> processes x <threads> threads)"

    def setup(self) -> None:
        self.url = self.cfg.redis_url("dramatiq")
        os.environ["BENCH_DRAMATIQ_URL"] = self.url
        self.redis = redis_client(self.url)
        try:
            import dramatiq
            import tasks_dramatiq
        except ImportError as exc:
            raise SkipSystem(f"dramatiq not importable: {exc}") from exc
        self.dramatiq: Any = dramatiq
        self.tasks: Any = tasks_dramatiq

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_one(self, data: Payload) -> None:
        self.tasks.noop.send(**data)

    def enqueue_bulk(self, items: list[Payload]) -> None:
        self.dramatiq.group(self.tasks.noop.message(**d) for d in items).run()

    def enqueue_latency(self, sid: int) -> None:
        self.tasks.lat.send(sid=sid)

    def worker_specs(self) -> list[WorkerSpec]:
        argv = [
            sys.executable,
            "-m",
            "dramatiq",
            "tasks_dramatiq",
            "-p",
            str(self.cfg.workers),
            "-t",
            str(self.cfg.concurrency),
            "--path",
            str(BENCH_DIR),
        ]
        return [WorkerSpec(argv, self.worker_env(BENCH_DRAMATIQ_URL=self.url), "dramatiq")]

    def pending_count(self) -> int | None:
        return int(self.redis.llen("dramatiq:default"))

    def teardown(self) -> None:
        self.tasks.broker.close()
        self.redis.close()
