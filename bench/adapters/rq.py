"""RQ 3 (Redis), ``rq worker-pool``: ``rq`` SimpleWorkers (no fork per job); ``rq-fork`` the
default Worker (a work horse forked per job: far slower, not in the default set)."""

from __future__ import annotations

import shutil
import sys
from typing import Any

from common import BENCH_DIR, Adapter, Payload, SkipSystem, WorkerSpec, redis_client


class RQForkAdapter(Adapter):
    name = "rq-fork"
    label = "RQ (pool of Workers, fork per job)"
    backend = "redis"
    single_method = "Queue.enqueue(noop, **data)"
    bulk_method = "Queue.enqueue_many([Queue.prepare_data(...)]) — one Redis pipeline per call"
    worker_method = "`rq worker-pool -n <slots>` (default Worker class: forks a horse per job)"
    worker_class = "rq.worker.Worker"
    # The work horse exits after each job, so the probe must write through per job.
    probe_mode = "immediate"

    def setup(self) -> None:
        self.url = self.cfg.redis_url("rq")
        self.redis = redis_client(self.url)
        try:
            import rq
            import tasks_rq
        except ImportError as exc:
            raise SkipSystem(f"rq not importable: {exc}") from exc
        self.rq: Any = rq
        self.tasks: Any = tasks_rq
        self.queue = rq.Queue("default", connection=self.redis)
        exe = shutil.which("rq")
        self.rq_cmd = [exe] if exe else [sys.executable, "-m", "rq.cli"]

    def reset(self) -> None:
        self.redis.flushdb()

    def enqueue_one(self, data: Payload) -> None:
        self.queue.enqueue(self.tasks.noop, **data)

    def enqueue_bulk(self, items: list[Payload]) -> None:
        prepare = self.rq.Queue.prepare_data
        self.queue.enqueue_many([prepare(self.tasks.noop, kwargs=d) for d in items])

    def enqueue_latency(self, sid: int) -> None:
        self.queue.enqueue(self.tasks.lat, sid=sid)

    def worker_specs(self) -> list[WorkerSpec]:
        # One pool of <slots> worker processes, each running one job at a time.
        argv = [*self.rq_cmd, "worker-pool", "-u", self.url, "-w", self.worker_class]
        argv += ["-n", str(self.cfg.slots), "-P", str(BENCH_DIR), "-l", "WARNING", "default"]
        return [WorkerSpec(argv, self.worker_env(BENCH_PROBE_MODE=self.probe_mode), self.name)]

    def pending_count(self) -> int | None:
        return int(self.queue.count)

    def teardown(self) -> None:
        self.redis.close()


class RQAdapter(RQForkAdapter):
    name = "rq"
    label = "RQ (pool of SimpleWorkers)"
    worker_method = (
        "`rq worker-pool -n <slots> -w rq.worker.SimpleWorker` (jobs run in the pool's processes)"
    )
    worker_class = "rq.worker.SimpleWorker"
    probe_mode = "batched"
