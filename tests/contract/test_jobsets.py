"""Jobsets and jobset storage (``job.shared``) on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from jobyard import InvalidInput, NotFound, Yard
from jobyard.context import JobContext
from jobyard.jobsets import JobsetStorage


def test_create_and_read_a_jobset(yard: Yard) -> None:
    first = yard.create_jobset("converge", "deploy", {"root": "m:Site", "n": [1, 2]})
    second = yard.create_jobset("batch", "restart web")
    assert second > first >= 1
    found = yard.jobset(first)
    assert (found.id, found.kind, found.name) == (first, "converge", "deploy")
    assert found.meta == {"root": "m:Site", "n": [1, 2]}
    assert found.created > 0 and found.jobs == []
    assert found.done and found.succeeded  # nothing left to run
    assert yard.jobset(second).meta == {}
    assert yard.jobset(first).to_dict()["counts"]["completed"] == 0


def test_recent_jobsets_of_a_kind_newest_first_with_a_cursor(yard: Yard) -> None:
    ids = [yard.create_jobset("batch", f"b{i}", {"i": i}) for i in range(5)]
    yard.create_jobset("nodes", "other")
    rows = yard.store.recent_jobsets("batch", 3)
    assert [r.id for r in rows] == ids[::-1][:3] and rows[0].meta == {"i": 4}
    older = yard.store.recent_jobsets("batch", 3, before=rows[-1].id)
    assert [r.id for r in older] == ids[:2][::-1]
    assert yard.store.recent_jobsets("converge", 3) == []


def test_unknown_and_invalid_jobsets(yard: Yard) -> None:
    with pytest.raises(NotFound, match="no jobset with id 999"):
        yard.jobset(999)
    with pytest.raises(InvalidInput):
        yard.jobset(0)
    with pytest.raises(InvalidInput, match="kind"):
        yard.create_jobset("", "x")
    with pytest.raises(InvalidInput, match="not JSON"):
        yard.create_jobset("k", "x", {"when": object()})


def test_jobs_and_status_summary(yard: Yard) -> None:
    @yard.job
    def noop(job: JobContext) -> None:
        return None

    set_id = yard.create_jobset("test", "three")
    a = yard.enqueue("noop", jobset=set_id)
    b = yard.enqueue("noop", jobset=set_id, depends=[a])
    c = yard.enqueue("noop", jobset=set_id, paused=True)
    outsider = yard.enqueue("noop")
    found = yard.jobset(set_id)
    assert [j.id for j in found.jobs] == [a.id, b.id, c.id]
    assert outsider.id not in [j.id for j in found.jobs]
    assert found.counts == {
        "waiting": 1,
        "paused": 1,
        "ready": 1,
        "running": 0,
        "failed": 0,
        "cancelled": 0,
        "completed": 0,
    }
    assert not found.done
    yard.cancel(a.id)  # cascades to b
    yard.cancel(c.id)
    found = yard.jobset(set_id)
    assert found.counts["cancelled"] == 3 and found.done and not found.succeeded


def test_storage_is_a_mapping_of_json_values(yard: Yard) -> None:
    one = yard.jobset(yard.create_jobset("test", "one")).storage
    other = yard.jobset(yard.create_jobset("test", "two")).storage
    assert len(one) == 0 and dict(one) == {} and "a" not in one
    one["a"] = {"hosts": ["web1", "web2"], "n": 1.5, "ok": True, "none": None}
    one["b"] = 2
    one["c"] = None
    assert one["a"] == {"hosts": ["web1", "web2"], "n": 1.5, "ok": True, "none": None}
    assert one["c"] is None and "c" in one
    assert list(one) == ["a", "b", "c"] and len(one) == 3
    one["b"] = "two"  # an upsert
    assert one["b"] == "two" and len(one) == 3
    assert one.get("missing", 7) == 7 and one.setdefault("d", [1]) == [1]
    del one["d"]
    with pytest.raises(KeyError):
        del one["d"]
    with pytest.raises(KeyError):
        one["d"]
    assert one.pop("c") is None and "c" not in one
    assert dict(other) == {}  # each jobset has its own storage
    other["a"] = 1
    assert one["a"]["hosts"] == ["web1", "web2"] and other["a"] == 1
    one.put_many({"x": 1, "y": [2]})
    assert one.snapshot() == {"a": one["a"], "b": "two", "x": 1, "y": [2]}
    assert one.delete_many(["x", "y", "nope"]) == 2 and sorted(one) == ["a", "b"]
    # another Yard on the same database sees the same rows
    again = Yard(yard.url)
    try:
        assert again.jobset(one.jobset).storage.snapshot() == one.snapshot()
    finally:
        again.close()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("k", object(), "not JSON-serialisable"),
        ("k", float("nan"), "not JSON-serialisable"),
        ("k", {1j: 1}, "not JSON-serialisable"),
        ("k", "nul\x00", "NUL"),
        (5, 1, "keys are strings"),
        ("", 1, "invalid jobset storage key"),
    ],
)
def test_storage_refuses_what_it_cannot_keep(
    yard: Yard, key: Any, value: Any, message: str
) -> None:
    storage = JobsetStorage(yard.store, yard.create_jobset("test", "bad"))
    with pytest.raises(InvalidInput, match=message):
        storage[key] = value
    assert len(storage) == 0


def test_job_shared_reads_and_writes_its_jobsets_storage(yard: Yard) -> None:
    @yard.job
    def count(job: JobContext) -> int:
        job.shared["runs"] = job.shared.get("runs", 0) + 1
        return int(job.shared["runs"])

    set_id = yard.create_jobset("test", "count")
    yard.jobset(set_id).storage["seed"] = "from outside"
    first = yard.enqueue("count", jobset=set_id)
    second = yard.enqueue("count", jobset=set_id, depends=[first])
    w = yard.worker(concurrency=2).start()
    try:
        second.wait(timeout=10)
    finally:
        w.stop()
    assert (first.result, second.result) == (1, 2)
    assert yard.jobset(set_id).storage.snapshot() == {"runs": 2, "seed": "from outside"}


def test_a_job_without_a_jobset_gets_a_clear_error(yard: Yard) -> None:
    @yard.job
    def lonely(job: JobContext) -> None:
        job.shared["x"] = 1

    handle = yard.enqueue("lonely")
    w = yard.worker().start()
    try:
        handle.wait(timeout=10)
    finally:
        w.stop()
    assert handle.status == "failed"
    assert "belongs to no jobset" in (handle.job.error or "")


def _types(y: Yard) -> None:
    @y.job(queue="left")
    def put_token(job: JobContext, value: str) -> None:
        job.shared["token"] = {"value": value, "writer": job.job.worker}

    @y.job(queue="right")
    def get_token(job: JobContext) -> Any:
        return job.shared["token"]

    @y.job(queue="left")
    def put_own(job: JobContext, i: int) -> None:
        job.shared[f"key{i}"] = i


def test_two_workers_share_a_value(yard: Yard) -> None:
    """A job on one worker writes, a job on another worker (its own Yard and connections)
    reads; both workers also write their own keys at the same time."""
    _types(yard)
    left, right = Yard(yard.url), Yard(yard.url)
    _types(left)
    _types(right)
    set_id = yard.create_jobset("test", "share")
    put = yard.enqueue("put_token", {"value": "s3cret"}, jobset=set_id)
    get = yard.enqueue("get_token", jobset=set_id, depends=[put])
    own = [
        yard.enqueue("put_own", {"i": i}, jobset=set_id, queue="left" if i % 2 else "right")
        for i in range(10)
    ]
    workers = [
        left.worker(name="w-left", queues=["left"], concurrency=2).start(),
        right.worker(name="w-right", queues=["right"], concurrency=2).start(),
    ]
    try:
        get.wait(timeout=15)
        for handle in own:
            handle.wait(timeout=15)
    finally:
        for w in workers:
            w.stop()
        left.close()
        right.close()
    assert get.status == "completed"
    assert get.result == {"value": "s3cret", "writer": "w-left"}
    assert put.job.worker == "w-left" and get.job.worker == "w-right"
    assert {h.job.worker for h in own} == {"w-left", "w-right"}
    stored = yard.jobset(set_id).storage.snapshot()
    assert stored == {
        "token": {"value": "s3cret", "writer": "w-left"},
        **{f"key{i}": i for i in range(10)},
    }
