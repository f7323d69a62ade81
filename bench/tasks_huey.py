"""Huey instance and tasks for the benchmark (worker: ``huey_consumer tasks_huey.huey``).

``BENCH_HUEY_KIND=redis`` (default): RedisHuey at ``BENCH_HUEY_URL``; ``sqlite``: SqliteHuey
on the file ``BENCH_HUEY_PATH`` — the same-backend peer of jobyard on SQLite.
"""

from __future__ import annotations

import os

import probe
from huey import RedisHuey, SqliteHuey

# RedisHuey defaults: blocking=True (BRPOP, no polling back-off), results stored unless None.
if os.environ.get("BENCH_HUEY_KIND", "redis") == "sqlite":
    huey = SqliteHuey(
        "bench", filename=os.environ.get("BENCH_HUEY_PATH", "/tmp/jobyard-bench/huey.db")
    )
else:
    huey = RedisHuey("bench", url=os.environ.get("BENCH_HUEY_URL", "redis://127.0.0.1:6379/14"))


@huey.task(name="noop", retries=0)
def noop(i: int, pad: str) -> None:
    probe.job()


@huey.task(name="lat", retries=0)
def lat(sid: int) -> None:
    probe.record_start(sid)
