"""Job types for the chaos tests: each run appends "job_id pid attempt" to a file."""

from __future__ import annotations

import os
import time

from jobyard import Yard
from jobyard.context import JobContext

yard = Yard()


@yard.job
def chaos(job: JobContext, ms: int = 20) -> int:
    time.sleep(ms / 1000)
    line = f"{job.id} {os.getpid()} {job.attempt}\n"
    fd = os.open(os.environ["CHAOS_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one small O_APPEND write: atomic between processes
    finally:
        os.close(fd)
    return job.id
