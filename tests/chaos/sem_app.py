"""Job types for the semaphore process tests: each run writes ``start|end JOB TIME PID``
to its process's file under ``$CHAOS_DIR`` (one O_APPEND write each, never torn)."""

from __future__ import annotations

import os
import time

from jobyard import Yard
from jobyard.context import JobContext

yard = Yard()  # reads JOBYARD_CONFIG: the semaphores the types name are defined there


def _note(event: str, job: JobContext) -> None:
    pid = os.getpid()
    line = f"{event} {job.id} {time.time():.6f} {pid}\n"
    fd = os.open(
        os.path.join(os.environ["CHAOS_DIR"], f"{pid}.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT
    )
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _run(job: JobContext, ms: int) -> int:
    _note("start", job)
    time.sleep(ms / 1000)
    _note("end", job)
    return job.id


@yard.job(semaphores=["db"])
def sem_hold(job: JobContext, ms: int = 100) -> int:
    return _run(job, ms)


@yard.job
def sem_plain(job: JobContext, ms: int = 100) -> int:
    return _run(job, ms)


@yard.job
def sem_call(job: JobContext, ms: int = 100) -> int:
    """Holds db only around its run (``job.semaphore``), not for the whole job."""
    with job.semaphore("db", timeout=60):
        return _run(job, ms)
