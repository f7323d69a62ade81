"""Bulk management on every backend: many ids are all-or-nothing on existence, and the
jobs an operation does not apply to are passed over, never half a bulk."""

from __future__ import annotations

from typing import Any

import pytest

from jobyard import InvalidTransition, NotFound, Yard

MISSING = 999_999


def completed(yard: Yard, n: int) -> list[int]:
    """``n`` completed jobs of type ``add`` (run by a worker), oldest first."""

    @yard.job
    def add(job, a, b):  # type: ignore[no-untyped-def]
        return a + b

    handles = [add.defer(a=i, b=1) for i in range(n)]
    w = yard.worker(concurrency=2).start()
    try:
        for h in handles:
            h.wait(timeout=20)
    finally:
        w.stop()
    return [h.id for h in handles]


def snapshot(yard: Yard) -> list[tuple[int, str, int]]:
    return [(j.id, j.status, j.retries) for j in yard.jobs(limit=None)]


def prepared(yard: Yard, operation: str) -> list[int]:
    """Two jobs the operation applies to."""

    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    if operation == "rerun":
        return completed(yard, 2)
    paused = operation in ("resume", "cancel")
    ids = [yard.enqueue("noop", paused=paused).id for _ in range(2)]
    if operation in ("restart", "remove"):
        yard.cancel(ids)
    return ids


OPERATIONS = ("cancel", "pause", "resume", "restart", "rerun", "remove")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_missing_id_in_a_list_changes_nothing_and_is_named(yard: Yard, operation: str) -> None:
    ids = prepared(yard, operation)
    before = snapshot(yard)
    with pytest.raises(NotFound, match=rf"no job with id {MISSING}, {MISSING + 1}; nothing"):
        getattr(yard, operation)([*ids, MISSING, MISSING + 1])
    assert snapshot(yard) == before  # not one of the existing ids was changed


@pytest.mark.parametrize("operation", OPERATIONS)
def test_one_missing_id_is_not_found(yard: Yard, operation: str) -> None:
    with pytest.raises(NotFound, match=f"no job with id {MISSING}$"):
        getattr(yard, operation)(MISSING)


def test_bulk_restart_and_resume_change_every_job_listed(yard: Yard) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    ids = [yard.enqueue("noop", paused=True).id for _ in range(3)]
    assert yard.resume(ids) == ids
    assert [yard.get(i).job.status for i in ids] == ["ready"] * 3
    assert yard.cancel(ids) == ids
    assert yard.restart([*ids, ids[0]], retries=2) == ids  # a repeated id counts once
    assert [(yard.get(i).job.status, yard.get(i).job.retries) for i in ids] == [("ready", 2)] * 3


def test_bulk_passes_over_jobs_in_another_status(yard: Yard) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    paused = yard.enqueue("noop", paused=True).id
    ready = yard.enqueue("noop").id
    assert yard.resume([paused, ready]) == [paused]
    with pytest.raises(InvalidTransition):
        yard.resume(ready)  # one id stays strict


def test_bulk_rerun_makes_every_copy_in_one_go(yard: Yard) -> None:
    ids = completed(yard, 3)
    extra = yard.enqueue("add", {"a": 0, "b": 0}, paused=True).id
    copies = yard.rerun([*ids, extra])  # was a raw ValueError (unpacking a list)
    assert isinstance(copies, list) and len(copies) == 3
    assert [c.job.data for c in copies] == [{"a": i, "b": 1} for i in range(3)]
    assert all(c.job.status == "ready" for c in copies)
    single = yard.rerun(ids[0])
    assert single.job.type == "add"
    with pytest.raises(InvalidTransition):
        yard.rerun(extra)


def test_what_matching_found_passes_over_jobs_gone_since(yard: Yard) -> None:
    ids = completed(yard, 3)
    found = yard.matching(type="add", status="completed")
    assert sorted(found) == ids
    yard.remove([ids[0]])
    copies: Any = yard.rerun(found)
    assert len(copies) == 2
    assert yard.remove(found) == ids[1:]
