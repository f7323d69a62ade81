"""Celery app and tasks for the benchmark (worker: ``celery -A tasks_celery worker``)."""

from __future__ import annotations

import os

import probe
from celery import Celery

app = Celery("bench", broker=os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/11"))
app.conf.update(
    task_ignore_result=True,  # no result backend configured: nothing is stored
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="noop")
def noop(i: int, pad: str) -> None:
    probe.job()


@app.task(name="lat")
def lat(sid: int) -> None:
    probe.record_start(sid)
