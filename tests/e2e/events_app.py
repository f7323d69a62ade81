"""Job types for the events, schedules and collections CLI tests."""

from __future__ import annotations

from typing import Any

from jobyard import Yard
from jobyard.context import JobContext

yard = Yard()


@yard.job(on=["deploy"])
def notify(job: JobContext, **data: Any) -> Any:
    return data


@yard.job(schedule="*/1 * * * * *")
def heartbeat(job: JobContext) -> None:
    return None
