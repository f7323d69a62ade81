"""meteor-job's README example, ported: a worker that sends emails, logging and reporting
progress, failing (to be retried later) when some sends fail.

    python examples/meteor_job_worker.py            # enqueue three jobs, work them, report

The original connects over DDP, calls ``Job.processJobs('jobQueue', 'sendEmail', {concurrency:
4}, worker)`` and, inside the worker, ``job.log``, ``job.progress(count, total)`` and
``job.fail(...)`` or ``job.done()``. Here the queue is a jobyard store, ``@yard.job`` is the
worker function, a raised exception is ``job.fail`` and a return value is ``job.done``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from jobyard import Retry, Yard
from jobyard.context import JobContext


def build(url: str) -> Yard:
    yard = Yard(url)

    @yard.job(name="sendEmail", retry=Retry(2, wait=0.2))
    def send_email(job: JobContext, emailsToSend: list[str], bounce: list[str]) -> dict[str, Any]:
        total = len(emailsToSend)
        retry_later = []
        job.log(f"Attempting to send {total} emails")
        for count, address in enumerate(emailsToSend, start=1):
            # The second attempt gets through: the mail server was only briefly down.
            if address in bounce and job.attempt == 1:
                retry_later.append(address)
            job.progress(count, total)
        if retry_later:
            raise RuntimeError(f"{len(retry_later)} emails could not be sent: {retry_later}")
        job.log(f"Sent {total} emails", level="success")
        return {"sent": total}

    return yard


def main(url: str | None = None) -> list[dict[str, Any]]:
    url = url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'meteor.db'}"
    yard = build(url)
    handles = [
        yard.enqueue("sendEmail", {"emailsToSend": ["a@x", "b@x"], "bounce": []}),
        yard.enqueue("sendEmail", {"emailsToSend": ["c@x", "d@x", "e@x"], "bounce": ["d@x"]}),
        yard.enqueue("sendEmail", {"emailsToSend": ["f@x"], "bounce": []}, priority="high"),
    ]
    worker = yard.worker(queues=["default"], concurrency=4).start()  # processJobs(...)
    try:
        report = []
        for h in handles:
            job = h.wait(timeout=30).refresh()
            report.append(
                {
                    "id": job.id,
                    "status": job.status,
                    "result": job.result,
                    "attempts": job.attempts,
                    "progress": job.percent,
                    "log": [e["message"] for e in h.log()],
                }
            )
    finally:
        worker.stop()
    return report


if __name__ == "__main__":
    for line in main(sys.argv[1] if len(sys.argv) > 1 else None):
        print(line)
