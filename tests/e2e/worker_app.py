"""Job types for the worker-process end-to-end tests (tests/e2e/test_worker_process.py)."""

from __future__ import annotations

import time

from jobyard import Yard
from jobyard.context import JobContext
from jobyard.model import LOG_LEVELS

yard = Yard()


@yard.job
def slow(job: JobContext, seconds: float = 60.0) -> str:
    job.log("slow started")
    time.sleep(seconds)  # a sync handler that does not return soon: shutdown must not wait
    return "finished"


@yard.job
def chatty(job: JobContext) -> None:
    for level in LOG_LEVELS:
        job.log(f"a {level} line", level=level)
