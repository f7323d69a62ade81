"""The store's typed methods, per concern, on every backend: callers pass and get Python
values and dataclasses, never rows or JSON text (beyond payloads already checked)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import psycopg
import pytest
from tests.contract.test_store_basics import NOW, insert

from jobyard.joblog import job_log
from jobyard.lifecycle import log_entry
from jobyard.store import JobFilter, Store, open_store
from jobyard.store.base import MISSING, StoredType, Update


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


# -- jobs ----------------------------------------------------------------------------------------


def test_get_log_returns_only_what_is_stored(store: Store) -> None:
    (job_id,) = insert(store)
    assert store.get_log(job_id) == []  # "Job Submitted" is not invented by the store
    store.append_logs([log_entry(job_id, NOW + 1, "hello", data={"k": 1})])
    store.update_jobs([Update(job_id, {"status": "completed", "finished": NOW + 2})])
    entries = store.get_log(job_id)
    assert [(e["message"], e["data"]) for e in entries] == [("hello", {"k": 1})]
    (job,) = store.get_jobs([job_id])
    shown = [e["message"] for e in job_log(job, entries)]
    assert shown == ["Job Submitted", "hello", "Job Completed"]
    assert job_log(None, entries) == entries


def test_dependencies_tombstones_and_counts(store: Store) -> None:
    parent, other = insert(store, 2)
    (child,) = insert(store, status="waiting", depends=[parent, other])
    store.add_dependencies([(child, parent), (child, other), (child, parent)])
    assert [j.id for j in store.dependents([parent])] == [child]
    claimed = store.claim("w", "r", ["default"], None, 2, NOW, NOW + 30)
    done = store.complete_many([(j.id, j.run_id, None) for j in claimed], NOW)
    assert sorted(done) == [(parent, True), (other, True)]  # marked: they have dependents
    store.update_jobs([Update(j.id, {"status": "ready"}) for j in claimed])
    assert store.count_jobs(JobFilter(status=["ready"])) == 2
    store.update_jobs([Update(other, {"status": "completed"})])
    assert store.delete_jobs([other, child], ["completed"], tombstone_at=NOW) == [other]
    assert store.tombstoned([other, child, parent]) == {other}
    assert store.delete_jobs([parent], ["ready"]) == [parent]
    assert store.tombstoned([parent]) == set()  # removed without a tombstone


def test_due_jobs_and_leases(store: Store) -> None:
    assert store.next_due() is None and not store.has_due(NOW)
    (late,) = insert(store, status="waiting", after=NOW + 50, queue="q")
    (soon,) = insert(store, status="waiting", after=NOW + 10, queue="q")
    assert store.next_due() == NOW + 10
    assert not store.has_due(NOW + 5)
    assert store.promote_due(NOW + 20) == [(soon, "q")]
    (job,) = store.claim("w", "r", ["q"], None, 1, NOW + 20, NOW + 30)
    assert job.id == soon and store.running_runs([job.run_id or "", "nope"]) == {job.run_id}
    store.extend_leases([job.run_id or ""], NOW + 100)
    assert store.expired_leases(NOW + 90, 10) == []
    assert store.touch_running(job.id, job.run_id, NOW + 21, NOW + 200)
    assert store.set_progress(job.id, job.run_id, 5, 10, NOW + 22, NOW + 200)
    assert not store.touch_running(job.id, "other", NOW + 21, NOW + 200)
    assert not store.set_progress(late, None, 5, 10, NOW + 22, NOW + 200)
    (expired,) = store.expired_leases(NOW + 250, 10)
    assert (expired.id, expired.progress_completed, expired.progress_total) == (soon, 5, 10)


# -- workers and types ---------------------------------------------------------------------------


def test_workers_registry(store: Store) -> None:
    store.upsert_worker("w1", "host", 42, ["a", "b"], 4, NOW, 30.0)
    store.upsert_worker("w0", "host", 43, ["a"], 1, NOW, 60.0)
    store.heartbeat_worker("w1", NOW + 5, "paused", [3, 1])
    w0, w1 = store.list_workers()
    assert (w1.name, w1.pid, w1.queues, w1.concurrency) == ("w1", 42, ["a", "b"], 4)
    assert (w1.heartbeat, w1.status, w1.running, w1.lease) == (NOW + 5, "paused", [1, 3], 30.0)
    assert (w0.name, w0.running, w0.lease, w0.started) == ("w0", [], 60.0, NOW)
    (job_id,) = insert(store, queue="a")
    store.claim("w1", "r", ["a"], None, 1, NOW, NOW + 30)
    assert store.running_by_worker(["w0", "w1"]) == {"w0": [], "w1": [job_id]}
    assert store.running_by_worker([]) == {}
    store.delete_worker("w1")
    assert [w.name for w in store.list_workers()] == ["w0"]


def test_types_table(store: Store) -> None:
    store.upsert_types([StoredType("t", "python", True, {"queue": "q"})], NOW)
    store.upsert_types([StoredType("s", "script", False, {"path": "s.sh"})], NOW)
    assert store.set_type_enabled("t", False, NOW + 1)
    assert not store.set_type_enabled("missing", True, NOW + 1)
    # A later upsert changes kind and meta, never the enabled state an operator set.
    store.upsert_types([StoredType("t", "python", True, {"queue": "r"})], NOW + 2)
    assert store.list_types() == [
        StoredType("s", "script", False, {"path": "s.sh"}),
        StoredType("t", "python", False, {"queue": "r"}),
    ]
    assert store.delete_type("s") and not store.delete_type("s")
    assert [t.name for t in store.list_types()] == ["t"]


# -- events, schedule ticks, jobsets -------------------------------------------------------------


def test_events_read_by_cursor(store: Store) -> None:
    ids = [
        store.insert_event(NOW + i, "a" if i % 2 else "b", json.dumps({"i": i}), None, 0, [i])
        for i in range(5)
    ]
    first = store.events_after(0, 2)
    assert [e.id for e in first] == ids[:2] and first[1].data == {"i": 1}
    assert [e.id for e in store.events_after(first[-1].id, 10)] == ids[2:]
    assert [e.jobs for e in store.events_after(0, 10, name="a")] == [[1], [3]]
    assert [e.id for e in store.recent_events(2)] == ids[3:]  # the latest, oldest first
    assert [e.name for e in store.recent_events(10, name="b")] == ["b", "b", "b"]


def test_schedule_ticks(store: Store) -> None:
    assert store.last_schedule_tick("t") is None
    assert store.insert_schedule_tick("t", 100, NOW)
    assert not store.insert_schedule_tick("t", 100, NOW)  # each tick fires once
    assert store.insert_schedule_tick("t", 200, NOW)
    (job_id,) = insert(store)
    store.set_schedule_tick_job("t", 200, job_id)
    store.prune_schedule_ticks(1000)  # never a type's latest tick
    assert store.last_schedule_tick("t") == 200
    assert store.insert_schedule_tick("t", 100, NOW)  # the old one was pruned


def test_jobsets_and_their_storage(store: Store) -> None:
    jobset = store.insert_jobset("batch", "nightly", json.dumps({"k": [1]}), NOW)
    row = store.get_jobset(jobset)
    assert row is not None and (row.kind, row.name, row.meta, row.created) == (
        "batch",
        "nightly",
        {"k": [1]},
        NOW,
    )
    assert store.get_jobset(jobset + 1) is None
    assert store.jobset_get_value(jobset, "x") is MISSING
    store.jobset_put(jobset, {"x": "1", "y": json.dumps({"z": None})}, NOW)
    assert store.jobset_get_value(jobset, "y") == {"z": None}
    assert store.jobset_values(jobset) == {"x": 1, "y": {"z": None}}
    assert store.jobset_count(jobset) == 2
    assert store.jobset_delete(jobset, ["x"]) == 1 and store.jobset_delete(jobset, ["x"]) == 0
    assert store.jobset_delete(jobset, ["y", "nope"]) == 1 and store.jobset_count(jobset) == 0


# -- PostgreSQL: explicit row locks, the one-statement claim --------------------------------------


def _blocked_update(url: str, job_id: int) -> bool:
    """Whether another connection's update of the job waits (for a lock) over 0.3 s."""
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SET lock_timeout = '300ms'")
        try:
            other.execute("UPDATE jobs SET priority = 7 WHERE id = %s", (job_id,))
        except psycopg.errors.LockNotAvailable:
            return True
    return False


@pytest.mark.parametrize("lock", [False, True])
def test_postgres_reads_lock_rows_only_when_asked(pg_url: str, lock: bool) -> None:
    store = open_store(pg_url)
    try:
        (parent,) = insert(store)
        (child,) = insert(store, status="waiting", depends=[parent])
        store.add_dependencies([(child, parent)])
        for read, locked_id in (
            (lambda: store.get_jobs([parent], lock=lock), parent),
            (lambda: store.dependents([parent], lock=lock), child),
        ):
            with store.transaction():
                assert read()
                assert _blocked_update(pg_url, locked_id) is lock
    finally:
        store.close()


def test_postgres_claim_outside_a_transaction_is_one_statement(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(pg_url)
    try:
        insert(store, 2)
        store.get_jobs([1])  # connected and migrated
        sent: list[str] = []
        conn = store._conn()
        real = conn.execute

        def execute(query: object, *args: object, **kwargs: object) -> object:
            sent.append(str(query))
            return real(query, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(conn, "execute", execute)
        real_cursor = conn.cursor

        def cursor(*args: object, **kwargs: object) -> object:
            sent.append("statement")
            return real_cursor(*args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(conn, "cursor", cursor)
        jobs = store.claim("w", "r", ["default"], None, 2, time.time(), time.time() + 30)
        assert len(jobs) == 2
        assert sent == ["statement"]  # no BEGIN, SET LOCAL or COMMIT round trips
    finally:
        store.close()
