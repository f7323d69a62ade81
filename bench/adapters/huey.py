"""Huey 3: RedisHuey (blocking dequeue) in thread or process mode, and SqliteHuey."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, ClassVar

from common import Adapter, Payload, SkipSystem, WorkerSpec, redis_client


class HueyAdapter(Adapter):
    """``huey``: RedisHuey, ``huey_consumer -k process -w <slots>``."""

    name = "huey"
    label = "Huey (Redis, processes)"
    backend = "redis"
    single_method = "noop(**data)"
    bulk_method = "loop of noop(**data) — Huey has no bulk enqueue (Task.map is a loop too)"
    worker_method = "1 x `huey_consumer -k process -w <slots>` (<slots> processes + consumer)"
    kind: ClassVar[str] = "redis"
    worker_type: ClassVar[str] = "process"

    def setup(self) -> None:
        self.url = self.cfg.redis_url("huey")
        self.path = str(self.cfg.tmp_dir / "huey.db")
        self.env = {"BENCH_HUEY_KIND": self.kind, "BENCH_HUEY_URL": self.url}
        self.env["BENCH_HUEY_PATH"] = self.path
        os.environ.update(self.env)
        self.redis = redis_client(self.url) if self.kind == "redis" else None
        self.cfg.tmp_dir.mkdir(parents=True, exist_ok=True)
        try:
            import tasks_huey
        except ImportError as exc:
            raise SkipSystem(f"huey not importable: {exc}") from exc
        # tasks_huey picks its storage at import: another Huey adapter may have imported it.
        self.tasks: Any = importlib.reload(tasks_huey)

    def reset(self) -> None:
        if self.redis is not None:
            self.redis.flushdb()
        else:
            self.tasks.huey.flush()

    def enqueue_one(self, data: Payload) -> None:
        self.tasks.noop(**data)

    def enqueue_bulk(self, items: list[Payload]) -> None:
        noop = self.tasks.noop
        for d in items:
            noop(**d)

    def enqueue_latency(self, sid: int) -> None:
        self.tasks.lat(sid=sid)

    def worker_specs(self) -> list[WorkerSpec]:
        argv = [sys.executable, "-m", "huey.bin.huey_consumer", "tasks_huey.huey"]
        argv += ["-k", self.worker_type, "-w", str(self.cfg.slots), "-q"]
        return [WorkerSpec(argv, self.worker_env(**self.env), self.name)]

    def pending_count(self) -> int | None:
        return int(self.tasks.huey.pending_count())

    def teardown(self) -> None:
        if self.redis is not None:
            self.redis.close()


class HueyThreadAdapter(HueyAdapter):
    name = "huey-thread"
    label = "Huey (Redis, threads)"
    worker_method = "1 x `huey_consumer -k thread -w <slots>` (<slots> threads, one process)"
    worker_type = "thread"


class SqliteHueyAdapter(HueyAdapter):
    name = "huey-sqlite"
    label = "Huey (SQLite, threads)"
    backend = "sqlite"
    worker_method = "1 x `huey_consumer -k thread -w <slots>` on SqliteHuey (one file)"
    kind = "sqlite"
    worker_type = "thread"
