"""job.log and jobset.finished events (migration 0012, docs/events.md), on both backends."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from tests.helpers import until

from jobyard import Yard, lifecycle, manage
from jobyard.feed import Feed
from jobyard.model import Job
from jobyard.store.base import JobEvent
from jobyard.worker.local import LocalPort

_runs = itertools.count()


@pytest.fixture(autouse=True)
def _types(yard: Yard) -> None:
    for name in ("a", "b"):
        yard.job(name=name)(lambda job, **data: None)


def claim(yard: Yard, type_name: str, n: int = 1) -> list[Job]:
    now = time.time()
    run = f"r{next(_runs)}"
    jobs = yard.store.claim("w", run, ["default"], [type_name], n, now, now + 30)
    assert len(jobs) == n
    return jobs


def events(yard: Yard, kind: str, count: int, settle: float = 0.0) -> list[JobEvent]:
    """The events of ``kind`` once ``count`` are readable (then ``settle`` seconds more,
    so one that should not be there has its chance to show)."""
    feed = Feed(yard.store)

    def read() -> list[JobEvent]:
        return feed.read(limit=1000, kinds=[kind])[0]

    until(lambda: len(read()) >= count)
    if settle:
        time.sleep(settle)
    return read()


def jobset_of(yard: Yard, type_name: str, n: int) -> tuple[int, list[int]]:
    jobset = yard.store.insert_jobset("test", "js", "{}", time.time())
    ids = [yard.enqueue(type_name, {"i": i}, jobset=jobset).id for i in range(n)]
    return jobset, ids


def test_a_job_log_batch_is_one_event_with_a_summary(yard: Yard) -> None:
    (job,) = claim_after_enqueue(yard)
    port = LocalPort(yard)
    now = time.time()
    entries: list[dict[str, Any]] = [
        {
            "job_id": job.id,
            "time": now,
            "run_id": job.run_id,
            "level": "info",
            "message": "one",
            "data": None,
        },
        {
            "job_id": job.id,
            "time": now,
            "run_id": job.run_id,
            "level": "error",
            "message": "two",
            "data": None,
        },
        {
            "job_id": job.id,
            "time": now,
            "run_id": job.run_id,
            "level": "info",
            "message": "x" * 500,
            "data": None,
        },
    ]
    port.log(job.id, job.run_id, entries, 30)
    (event,) = events(yard, "job.log", 1)
    assert (event.job_id, event.type, event.status) == (job.id, "a", "running")
    assert event.data["lines"] == 3
    assert event.data["level"] == "error"  # the worst level of the batch
    assert event.data["message"] == "x" * 200  # the last line, cut
    assert [e["message"] for e in yard.store.get_log(job.id)][:2] == ["one", "two"]


def claim_after_enqueue(yard: Yard) -> list[Job]:
    yard.enqueue("a")
    return claim(yard, "a")


def test_lifecycle_notes_are_not_announced_as_log(yard: Yard) -> None:
    yard.enqueue("a")
    (job,) = claim(yard, "a")
    assert lifecycle.fail(yard.store, job, "boom", time.time(), fatal=True) == "failed"
    events(yard, "job.failed", 1, settle=0.3)
    assert Feed(yard.store).read(limit=100, kinds=["job.log"])[0] == []


def test_jobset_finished_once_when_its_last_job_ends(yard: Yard) -> None:
    jobset, ids = jobset_of(yard, "a", 3)
    first, second, third = claim(yard, "a", 3)
    lifecycle.complete(yard.store, [(first, 1)], time.time())
    lifecycle.fail(yard.store, second, "bad", time.time(), fatal=True)
    events(yard, "job.failed", 1, settle=0.3)
    assert Feed(yard.store).read(limit=100, kinds=["jobset.finished"])[0] == []
    lifecycle.complete(yard.store, [(third, 3)], time.time())
    (event,) = events(yard, "jobset.finished", 1, settle=0.3)
    assert event.job_id == third.id
    assert event.status == "failed"  # the jobset's outcome: one of its jobs failed
    assert event.data["jobset"] == jobset
    assert (event.data["total"], event.data["completed"], event.data["failed"]) == (3, 2, 1)
    assert event.data["cancelled"] == 0
    assert event.data["jobs"] == {
        str(ids[0]): "completed",
        str(ids[1]): "failed",
        str(ids[2]): "completed",
    }


def test_a_bulk_cancel_announces_the_jobset_once(yard: Yard) -> None:
    _, ids = jobset_of(yard, "b", 4)
    manage.cancel(yard.store, ids, time.time())
    (event,) = events(yard, "jobset.finished", 1, settle=0.3)
    assert (event.status, event.data["cancelled"], event.data["total"]) == ("cancelled", 4, 4)


def test_a_jobset_that_starts_over_is_announced_again(yard: Yard) -> None:
    jobset, ids = jobset_of(yard, "a", 2)
    one, two = claim(yard, "a", 2)
    lifecycle.complete(yard.store, [(two, None)], time.time())
    lifecycle.fail(yard.store, one, "bad", time.time(), fatal=True)
    assert events(yard, "jobset.finished", 1)[0].status == "failed"
    yard.restart(ids[0])  # the jobset is open again
    (again,) = claim(yard, "a")
    lifecycle.complete(yard.store, [(again, None)], time.time())
    finished = events(yard, "jobset.finished", 2, settle=0.3)
    assert len(finished) == 2
    assert finished[1].data["completed"] == 2
    # a job that joins a finished jobset reopens it too
    yard.enqueue("a", jobset=jobset)
    (late,) = claim(yard, "a")
    lifecycle.complete(yard.store, [(late, None)], time.time())
    assert len(events(yard, "jobset.finished", 3, settle=0.3)) == 3


def test_two_transactions_finishing_the_last_jobs_side_by_side(
    yard: Yard, store_url: str, backend: str
) -> None:
    """Each transaction sees the other's job unfinished while both are open: still exactly
    one announcement (PostgreSQL: checked at commit under a per-jobset lock)."""
    if backend == "sqlite":
        pytest.skip("SQLite has one writer: two open write transactions cannot exist")
    jobset_of(yard, "a", 2)
    one, two = claim(yard, "a", 2)
    other = Yard(store_url)
    try:
        with yard.store.transaction():
            lifecycle.complete(yard.store, [(one, None)], time.time())
            # the second finishes and commits while the first is still open
            lifecycle.complete(other.store, [(two, None)], time.time())
        finished = events(yard, "jobset.finished", 1, settle=0.5)
        assert len(finished) == 1
        assert finished[0].data["completed"] == 2
    finally:
        other.close()
