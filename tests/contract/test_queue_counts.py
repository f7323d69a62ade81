"""Jobs waiting for a worker, per queue (the dashboard's queue table), on every backend."""

from __future__ import annotations

import time

from jobyard import Yard, views


def test_active_jobs_by_queue(yard: Yard) -> None:
    yard.job(name="t")(lambda job, **d: None)
    for q, n in (("a", 3), ("b", 1)):
        for _ in range(n):
            yard.enqueue("t", queue=q)
    yard.enqueue("t", queue="b", delay=3600)
    now = time.time()
    yard.store.claim("w", "r", ["a"], ["t"], 1, now, now + 30)
    done = yard.enqueue("t", queue="c")
    yard.cancel(done.id)  # finished jobs are not counted
    assert views.queues(yard) == [
        ("a", {"ready": 2, "running": 1}),
        ("b", {"ready": 1, "waiting": 1}),
    ]
