"""Procrastinate app and tasks for the benchmark (worker: ``procrastinate --app ... worker``)."""

from __future__ import annotations

import os

import probe
import procrastinate

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(
        conninfo=os.environ.get(
            "BENCH_PROCRASTINATE_DSN", "postgresql://postgres@127.0.0.1:5432/bench_procrastinate"
        )
    )
)


# Plain (sync) functions like every other system's handlers; procrastinate runs them in a
# thread from its asyncio worker.
@app.task(name="noop", queue="default")
def noop(i: int, pad: str) -> None:
    probe.job()


@app.task(name="lat", queue="default")
def lat(sid: int) -> None:
    probe.record_start(sid)
