"""Job types for the chaos tests.

Each run appends ``start <job id> <pid> <attempt>`` before its work and ``end ...`` after it
to a file of its own process (``$CHAOS_DIR/<pid>.log``): a start without an end is a run
that a kill interrupted.
"""

from __future__ import annotations

import asyncio
import os
import time

from jobyard import Yard
from jobyard.context import JobContext

yard = Yard()


def _note(event: str, job: JobContext) -> None:
    pid = os.getpid()
    path = os.path.join(os.environ["CHAOS_DIR"], f"{pid}.log")
    line = f"{event} {job.id} {pid} {job.attempt}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one small O_APPEND write: never torn by a kill
    finally:
        os.close(fd)


@yard.job
def chaos(job: JobContext, ms: int = 20) -> int:
    _note("start", job)
    time.sleep(ms / 1000)
    _note("end", job)
    return job.id


@yard.job
async def chaos_async(job: JobContext, ms: int = 20) -> int:
    _note("start", job)
    await asyncio.sleep(ms / 1000)
    _note("end", job)
    return job.id


@yard.job
async def chaos_gated(job: JobContext, gate: str) -> int:
    """Runs until the file ``gate`` exists (the test says when the run ends); its result is
    the pid of the process that ran it."""
    _note("start", job)
    while not os.path.exists(gate):
        await asyncio.sleep(0.02)
    _note("end", job)
    return os.getpid()
