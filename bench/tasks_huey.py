"""Huey instance and tasks for the benchmark (worker: ``huey_consumer tasks_huey.huey``)."""

from __future__ import annotations

import os

import probe
from huey import RedisHuey

# RedisHuey defaults: blocking=True (BRPOP, no polling back-off), results stored unless None.
huey = RedisHuey("bench", url=os.environ.get("BENCH_HUEY_URL", "redis://127.0.0.1:6379/14"))


@huey.task(name="noop", retries=0)
def noop(i: int, pad: str) -> None:
    probe.tick()


@huey.task(name="lat", retries=0)
def lat(sid: int) -> None:
    probe.record_start(sid)
