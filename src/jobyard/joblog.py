"""A job's log as people read it: the stored entries plus two read off the job row.

"Job Submitted" (its ``created`` time) and, once it is completed, "Job Completed" (its
``finished`` time) are never written, which saves a write on the hottest paths; the store
returns only what it stores, and every face (handles, the CLI, the API) adds them here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.model import Job

if TYPE_CHECKING:
    from jobyard.store.base import Store


def job_log(job: Job | None, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` (stored, oldest first) with the synthesised ones of ``job`` in place;
    unchanged when the job is gone."""
    out = list(entries)
    if job is None:
        return out
    out.insert(0, _entry(job.created, None, "info", "Job Submitted"))
    if job.status == model.COMPLETED and job.finished is not None:
        # After the last entry written before it finished (the first entry is its submission).
        at = next((i for i, e in enumerate(out) if i and e["time"] >= job.finished), len(out))
        out.insert(at, _entry(job.finished, job.run_id, "success", "Job Completed"))
    return out


def read_log(store: Store, job_id: int) -> list[dict[str, Any]]:
    """The whole log of a job, as :func:`job_log` gives it."""
    entries = store.get_log(job_id)
    found = store.get_jobs([job_id])
    return job_log(found[0] if found else None, entries)


def _entry(time: float, run: str | None, level: str, message: str) -> dict[str, Any]:
    return {"time": time, "run": run, "level": level, "message": message, "data": None}
