"""Dramatiq broker and actors for the benchmark (worker: ``dramatiq tasks_dramatiq``)."""

from __future__ import annotations

import os

import dramatiq
import probe
from dramatiq.brokers.redis import RedisBroker

broker = RedisBroker(url=os.environ.get("BENCH_DRAMATIQ_URL", "redis://127.0.0.1:6379/13"))
dramatiq.set_broker(broker)


@dramatiq.actor(actor_name="noop", queue_name="default", max_retries=0)
def noop(i: int, pad: str) -> None:
    probe.job()


@dramatiq.actor(actor_name="lat", queue_name="default", max_retries=0)
def lat(sid: int) -> None:
    probe.record_start(sid)
