"""One round of bench/preload_drain.py on one database: single enqueue, bulk enqueue, drain
by ``jobyard worker`` processes; and what comes before the first round (warm-up, settle)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import fair
import preload_fill
from common import WorkerSpec, payload
from measure import WorkerGroup

DRAIN_TIMEOUT = 600.0
WARM_UP = 50  # jobs enqueued one by one and in bulk before the first round, then cancelled
APP = "bench_preload_app"
APP_SOURCE = """
from jobyard import Yard
yard = Yard()

@yard.job
def noop(job, **data):
    return None
"""


def bench_yard(url: str) -> Any:
    from jobyard import Yard

    yard = Yard(url)

    @yard.job(name="noop")
    def noop(job: object, **data: object) -> None:
        return None

    return yard


def start_workers(workers: WorkerGroup, url: str, args: argparse.Namespace, app: Path) -> None:
    """``--procs`` ``jobyard worker`` processes on ``url`` (the no-op type from ``app``)."""
    env = {"JOBYARD_DB": url, "JOBYARD_APP": APP, "PYTHONPATH": str(app)}
    argv = [sys.executable, "-m", "jobyard", "worker", "-c", str(args.concurrency)]
    workers.start(
        [
            WorkerSpec([*argv, "-n", f"bt-{i}"], env=env, label=f"worker-{i}")
            for i in range(args.procs)
        ]
    )


def settle(threshold: float, seconds: float) -> None:
    """After the fill: the history to disk (os.sync), then up to ``seconds`` for the
    machine to go idle (the database's own write-back), so that the first round's busy
    check does not see the fill's tail."""
    import psutil

    os.sync()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if psutil.cpu_percent(interval=fair.SAMPLE_SECONDS) <= threshold:
            return


def warm_up(url: str) -> None:
    """The harness's first enqueues (lazy imports, caches, the connection), not timed;
    the jobs are cancelled."""
    yard = bench_yard(url)
    try:
        ids = [yard.enqueue("noop", payload(i)).id for i in range(WARM_UP)]
        ids += yard.enqueue_many("noop", [payload(i) for i in range(WARM_UP)])
        yard.cancel(ids)
    finally:
        yard.close()


def measure_round(
    url: str, args: argparse.Namespace, workers: WorkerGroup, app: Path
) -> dict[str, Any]:
    """Single enqueue, bulk enqueue and drain, on the database at ``url``."""
    yard = bench_yard(url)
    try:
        t0 = time.perf_counter()
        handles = [yard.enqueue("noop", payload(i)) for i in range(args.single)]
        single = args.single / (time.perf_counter() - t0)
        yard.cancel([h.id for h in handles])
        items = [payload(i) for i in range(args.jobs)]
        ids: list[int] = []
        t0 = time.perf_counter()
        for start in range(0, args.jobs, args.bulk_size):
            ids += yard.enqueue_many("noop", items[start : start + args.bulk_size])
        bulk = args.jobs / (time.perf_counter() - t0)
        start_workers(workers, url, args, app)
        try:
            deadline = time.monotonic() + DRAIN_TIMEOUT
            # What is left sits in small partial indexes; what is done would be a big count.
            while yard.count(status="ready") + yard.count(status="running") > 0:
                if dead := workers.dead():
                    raise RuntimeError("a worker died during the drain:\n" + dead[0])
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the drain took more than {DRAIN_TIMEOUT:.0f} s")
                time.sleep(0.05)
        finally:
            workers.stop()
    finally:
        yard.close()
    done, first, last = preload_fill.drained(url, min(ids), max(ids))
    if done != args.jobs:
        raise RuntimeError(f"{done} of the {args.jobs} drained jobs completed")
    return {"single": single, "bulk": bulk, "drain": done / (last - first)}
