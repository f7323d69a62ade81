"""Example job types that ``jobyard up`` loads, ported from the seeds' README examples.

meteor-job's worker example: a job that sends a list of emails, logging and reporting
progress as it goes, failing (to be retried) when a send fails.
"""

from __future__ import annotations

import random
import time
from typing import Any

from jobyard import Retry, Yard
from jobyard.context import JobContext

yard = Yard()


@yard.job(retry=Retry(3, wait=2, backoff="exponential"))
def send_emails(job: JobContext, emails: list[str], fail_rate: float = 0.0) -> dict[str, Any]:
    total = len(emails)
    job.log(f"Attempting to send {total} emails")
    retry_later = []
    for count, address in enumerate(emails, start=1):
        time.sleep(0.2)  # pretend to talk to an SMTP server
        if random.random() < fail_rate:
            retry_later.append(address)
            job.log(f"Sending to {address} failed", level="warning")
        job.progress(count, total)
    if retry_later:
        raise RuntimeError(f"{len(retry_later)} email(s) could not be sent")
    job.log("All emails sent", level="success")
    return {"sent": total}


@yard.job
def add(job: JobContext, a: float, b: float) -> float:
    return a + b


@yard.job(timeout=30)
def sleep(job: JobContext, seconds: float = 1.0) -> float:
    steps = max(int(seconds * 10), 1)
    for step in range(steps):
        time.sleep(seconds / steps)
        job.progress(step + 1, steps)
    return seconds


def seed_jobs(target: Yard) -> list[int]:
    """A few example jobs for a fresh database."""
    ids = [
        target.enqueue("send_emails", {"emails": [f"user{i}@example.com" for i in range(10)]}).id,
        target.enqueue("add", {"a": 2, "b": 3}, priority="high").id,
        target.enqueue("sleep", {"seconds": 3}).id,
    ]
    ids.append(target.enqueue("add", {"a": 40, "b": 2}, depends=[ids[2]]).id)
    return ids
