"""Handles on jobs (what ``defer``/``enqueue`` return) and the context a handler runs with."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.errors import JobFailed, NotFound, WaitTimeout
from jobyard.i18n import _
from jobyard.model import Job

if TYPE_CHECKING:
    from jobyard.yard import Yard


class JobHandle:
    """A reference to one job in the store; ``refresh()`` re-reads it."""

    def __init__(self, yard: Yard, job_id: int, job: Job | None = None) -> None:
        self.yard = yard
        self.id = job_id
        self._job = job

    def __repr__(self) -> str:
        return f"<JobHandle {self.id} {self._job.status if self._job else '?'}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def refresh(self) -> Job:
        job = self.yard.find(self.id)
        if job is None:
            raise NotFound(_("no job with id {id} (it may have been removed)", id=self.id))
        self._job = job
        return job

    @property
    def job(self) -> Job:
        return self._job if self._job is not None else self.refresh()

    @property
    def status(self) -> str:
        return self.refresh().status

    @property
    def result(self) -> Any:
        return self.refresh().result

    @property
    def progress(self) -> dict[str, float]:
        job = self.refresh()
        return {
            "completed": job.progress_completed,
            "total": job.progress_total,
            "percent": job.percent,
        }

    @property
    def failures(self) -> list[dict[str, Any]]:
        return self.refresh().failures

    @property
    def log(self) -> LogEntries:
        """The job's log entries, like ``result`` and ``failures`` (``log()`` works too)."""
        return LogEntries(self.yard.job_log(self.id))

    def wait(
        self, timeout: float | None = None, raise_on_failure: bool = False, poll: float = 0.01
    ) -> JobHandle:
        """Block until the job is completed, failed or cancelled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = poll
        while True:
            job = self.refresh()
            if job.status in model.FINISHED:
                if raise_on_failure and job.status != model.COMPLETED:
                    raise JobFailed(job.id, job.status, job.error)
                return self
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(
                    _(
                        "job {id} still {status} after {timeout} s",
                        id=self.id,
                        status=job.status,
                        timeout=timeout,
                    )
                )
            time.sleep(
                delay if deadline is None else min(delay, max(deadline - time.monotonic(), 0))
            )
            delay = min(delay * 1.5, 0.25)

    def cancel(self) -> JobHandle:
        self.yard.cancel(self.id)
        return self

    def pause(self) -> JobHandle:
        self.yard.pause(self.id)
        return self

    def resume(self) -> JobHandle:
        self.yard.resume(self.id)
        return self

    def restart(self, retries: int = 1, antecedents: bool = False) -> JobHandle:
        self.yard.restart(self.id, retries=retries, antecedents=antecedents)
        return self

    def rerun(self, data: Any = None) -> JobHandle:
        return self.yard.rerun(self.id, data=data)

    def remove(self) -> None:
        self.yard.remove(self.id)


class LogEntries(list[dict[str, Any]]):
    """A job's log: a list, and callable so the older ``handle.log()`` form keeps working."""

    def __call__(self) -> LogEntries:
        return self
