"""Rescue time of a kill -9'd jobyard worker's job: from the SIGKILL to the job running again
in another worker (issue #13 item 3).

Two workers on a fresh database; one ``hold`` job (tasks_jobyard.py: it records its start
with its pid, then sleeps). The worker that started it is killed with SIGKILL (its whole
process group); the other one's heartbeat finds the lease expired, rescues the job and runs
it. Measured with the default lease (``Config.lease``) and with a short configured one.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import probe
from common import Adapter, WorkerSpec
from measure import WorkerGroup

SHORT_LEASE = 2.0
SHORT_HEARTBEAT = 0.5


def default_lease() -> tuple[float, float]:
    from jobyard.config import Config

    cfg = Config()
    return cfg.lease, min(cfg.heartbeat, cfg.lease / 3)


def measure(
    adapter: Adapter,
    workers: WorkerGroup,
    probe_redis: Any,
    lease: float | None,
    heartbeat: float | None,
    runs: int,
) -> list[float]:
    """``runs`` rescue times in seconds (``lease`` None: the default configuration)."""
    times = []
    for n in range(runs):
        adapter.reset()
        probe_redis.delete(probe.RUNS_KEY)
        workers.start([_with_lease(spec, lease, heartbeat) for spec in adapter.worker_specs()])
        try:
            sid = 1000 + n
            adapter.yard.enqueue("hold", {"sid": sid})  # type: ignore[attr-defined]
            _, first_pid = _await_run(probe_redis, sid, exclude=None, timeout=120)
            index = [proc.pid for _, proc, _ in workers.procs].index(first_pid)
            killed_at = workers.kill(index)
            limit = 3 * (lease or default_lease()[0]) + 30
            again_at, _ = _await_run(probe_redis, sid, exclude=first_pid, timeout=limit)
            times.append(again_at - killed_at)
        finally:
            workers.stop(grace=2.0)  # the rescued hold job sleeps: no point waiting for it
    return times


def _with_lease(spec: WorkerSpec, lease: float | None, heartbeat: float | None) -> WorkerSpec:
    extra = [] if lease is None else ["--lease", str(lease), "--heartbeat", str(heartbeat)]
    return dataclasses.replace(spec, argv=[*spec.argv, *extra])


def _await_run(
    probe_redis: Any, sid: int, exclude: int | None, timeout: float
) -> tuple[float, int]:
    """(start time, pid) of the next run of ``sid`` in a process other than ``exclude``."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        item = probe_redis.brpop(probe.RUNS_KEY, timeout=max(1, math.ceil(left)))
        if item is None:
            continue
        got, at, pid = item[1].decode().split()
        if int(got) == sid and int(pid) != exclude:
            return float(at), int(pid)
    raise TimeoutError(f"no run of hold job {sid} within {timeout:.0f}s")
