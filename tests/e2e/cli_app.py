"""Job types for the CLI end-to-end tests."""

from __future__ import annotations

import time

from jobyard import Yard
from jobyard.context import JobContext

yard = Yard()


@yard.job
def add(job: JobContext, a: float, b: float) -> float:
    job.progress(1, 2)
    time.sleep(0.2)
    job.log("adding", level="success")
    return a + b


@yard.job
def boom(job: JobContext) -> None:
    raise RuntimeError("kaboom")
