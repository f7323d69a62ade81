"""The store primitives, the same on every backend (plus what only PostgreSQL can show:
SKIP LOCKED, delivery of wake-ups at commit, a caller's own connection)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from jobyard import Yard
from jobyard.errors import DatabaseError
from jobyard.feed import Feed
from jobyard.joblog import read_log
from jobyard.lifecycle import JobSpec, log_entry, new_job
from jobyard.store import JobFilter, Store, open_store, queries
from jobyard.store.base import NewRow, Update

NOW = 1_700_000_000.0


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


def job_row(
    store: Store,
    *,
    type: str = "t",
    queue: str = "default",
    status: str = "ready",
    priority: int = 0,
    after: float = 0.0,
    data: Any = None,
    props: dict[str, Any] | None = None,
    depends: list[int] | None = None,
    jobset: int | None = None,
    now: float = NOW,
) -> NewRow:
    """A row as the policy builds it; job data arrives JSON-encoded, as from the Yard."""
    spec = JobSpec(
        type=type,
        queue=queue,
        priority=priority,
        after=after,
        props=props or {},
        depends=depends or [],
        jobset=jobset,
    )
    return new_job(spec, status, now), json.dumps(data, ensure_ascii=False)


def insert(store: Store, n: int = 1, **kw: Any) -> list[int]:
    return store.insert_jobs([job_row(store, **kw) for _ in range(n)])


def run_thread(target: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


# -- named queries -----------------------------------------------------------------------------


def test_every_dialect_defines_the_same_queries() -> None:
    assert list(queries.load("postgres")) == list(queries.load("sqlite"))


# -- insert, get, query ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 120])  # one statement, a pipelined batch, a bulk COPY
def test_insert_returns_ids_in_order_and_logs_submission(store: Store, n: int) -> None:
    rows = [job_row(store, data={"i": i}) for i in range(n)]
    ids = store.insert_jobs(rows)
    assert len(ids) == n and ids == sorted(set(ids))
    jobs = store.get_jobs(list(reversed(ids)))
    assert [j.id for j in jobs] == list(reversed(ids))  # in the order asked
    assert [j.data for j in reversed(jobs)] == [{"i": i} for i in range(n)]
    first = jobs[-1]
    assert (first.type, first.queue, first.status, first.priority) == ("t", "default", "ready", 0)
    assert (first.created, first.updated, first.after) == (NOW, NOW, NOW)
    assert first.props == {} and first.depends == [] and first.failures == []
    assert first.result is None and first.attempts == 0 and first.run_id is None
    for job_id in (ids[0], ids[-1]):
        (entry,) = read_log(store, job_id)
        assert (entry["message"], entry["level"], entry["time"]) == ("Job Submitted", "info", NOW)
    assert store.insert_jobs([]) == []
    assert store.get_jobs([]) == [] and store.get_jobs([10**9]) == []


PAYLOADS: list[Any] = [
    {"b": 1, "a": 2, "ä": [1, 2.5, None, True, False]},  # key order and unicode kept
    'nul \x00 tab \t newline \n backslash \\ quote " emoji \U0001f680',
    1e16,  # stays a float (jsonb would hand back the integer)
    -0.0,
    2**70,
    0.1,
    [],
    {},
    None,
    "",
    {"nested": {"z": {"y": [{"x": "\u2028"}]}}},
]


@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
def test_json_round_trips_exactly(store: Store, bulk: bool) -> None:
    copies = 60 if bulk else 1
    rows = [job_row(store, data=p, props={"p": p, "b": 0}) for p in PAYLOADS for _ in range(copies)]
    ids = store.insert_jobs(rows) if bulk else [store.insert_jobs([r])[0] for r in rows]
    jobs = store.get_jobs(ids[::copies])
    for job, payload in zip(jobs, PAYLOADS, strict=True):
        assert json.dumps(job.data) == json.dumps(payload)  # same values, order and types
        assert json.dumps(job.props) == json.dumps({"p": payload, "b": 0})
        if isinstance(payload, float):
            assert type(job.data) is float
            assert math.copysign(1, job.data) == math.copysign(1, payload)
    failures = [{"error": "boom \x00 \u00e9", "time": 1.5, "attempt": 1}]
    assert store.update_jobs([Update(ids[0], {"failures": failures, "result": PAYLOADS[0]})])
    (job,) = store.get_jobs([ids[0]])
    assert job.failures == failures
    assert json.dumps(job.result) == json.dumps(PAYLOADS[0])


def test_query_filters_order_and_count(store: Store) -> None:
    a = insert(store, 3, type="a", queue="q1", jobset=7)
    b = insert(store, 2, type="b", queue="q2", status="paused")
    c = insert(store, 1, type="a", queue="q2", status="failed")
    everything = a + b + c

    def ids(**kw: Any) -> list[int]:
        return [j.id for j in store.query_jobs(JobFilter(**kw))]

    assert ids() == sorted(everything, reverse=True)
    assert ids(type=["a"]) == sorted(a + c, reverse=True)
    assert ids(status=["paused", "failed"]) == sorted(b + c, reverse=True)
    assert ids(queue=["q2"], type=["a"]) == c
    assert ids(jobset=7) == sorted(a, reverse=True)
    assert ids(ids=[a[0], c[0], 10**9]) == [c[0], a[0]]
    assert ids(limit=2) == sorted(everything, reverse=True)[:2]
    assert ids(before_id=b[0]) == sorted(a, reverse=True)
    assert store.count_jobs(JobFilter()) == 6
    assert store.count_jobs(JobFilter(status=["ready"], type=["a"])) == 3
    assert store.count_jobs(JobFilter(status=["cancelled"])) == 0


def test_update_is_conditional(store: Store) -> None:
    (job_id,) = insert(store)
    now = NOW + 1
    (job,) = store.claim("w", "run", ["default"], None, 1, now, now + 30)
    assert store.update_jobs([Update(job_id, {"priority": 5}, statuses=("ready",))]) == []
    assert store.update_jobs([Update(job_id, {"priority": 5}, run_id="other")]) == []
    changed = store.update_jobs(
        [Update(job_id, {"priority": 5, "run_id": None}, ("running",), job.run_id)]
    )
    assert changed == [job_id]
    (job,) = store.get_jobs([job_id])
    assert job.priority == 5 and job.run_id is None
    with pytest.raises(KeyError):
        store.update_jobs([Update(job_id, {"no_such_column": 1})])


def test_delete_only_in_given_statuses_with_deps_and_logs(store: Store) -> None:
    done, ready = insert(store, 2)
    store.update_jobs([Update(done, {"status": "completed"})])
    store.executemany("insert_dep", [{"job_id": done, "dep_id": ready}])
    assert store.delete_jobs([done, ready], ["completed", "failed"]) == [done]
    assert store.get_jobs([done, ready])[0].id == ready
    assert read_log(store, done) == [] and len(read_log(store, ready)) == 1
    assert store.dependents([ready]) == []
    assert store.delete_jobs([], ["completed"]) == []


# -- claims ------------------------------------------------------------------------------------


def test_claim_order_and_filters(store: Store) -> None:
    def one(**kw: Any) -> int:
        return insert(store, **kw)[0]

    low = one(priority=10)
    late = one(priority=0, after=NOW + 5)
    early = one(priority=0)
    high = one(priority=-10)
    one(queue="elsewhere")
    other_type = one(type="other")
    one(after=NOW + 500)  # not due yet
    one(status="paused")
    now = NOW + 10
    order = []  # one at a time: which job is taken first is the contract
    for n in range(4):
        (job,) = store.claim("w1", f"r{n}", ["default", "extra"], ["t"], 1, now, now + 30)
        assert (job.status, job.worker, job.run_id) == ("running", "w1", f"r{n}.{job.id}")
        assert (job.attempts, job.started, job.lease_expires) == (1, now, now + 30)
        order.append(job.id)
    assert order == [high, early, late, low]
    assert store.claim("w1", "r5", ["default"], ["t"], 10, now, now + 30) == []
    (job,) = store.claim("w2", "r6", ["default"], None, 10, now, now + 30)
    assert job.id == other_type
    assert store.claim("w2", "r7", ["default"], [], 10, now, now + 30) == []


@pytest.mark.parametrize("n", [2, 49, 50, 1000])
def test_a_bulk_enqueue_of_one_spec_keeps_every_row_in_order(store: Store, n: int) -> None:
    """One spec for every row (yard.enqueue_many): the backends insert it in one statement
    (SQLite: json_each; PostgreSQL: unnest below 50 rows, COPY text from 50 on)."""
    spec = JobSpec(
        type="t\tab", queue="q\\1", priority=3, props={"k": "tab\t nl\n bs\\ é"},
        depends=[], jobset=None, semaphores=[],
    )  # fmt: skip
    job = new_job(spec, "ready", NOW)
    payloads = [PAYLOADS[i % len(PAYLOADS)] for i in range(n)]
    payloads = [p for p in payloads if not (isinstance(p, str) and "\x00" in p)] or [1, 2]
    payloads = (payloads * n)[:n]
    rows = [(job, json.dumps(p, ensure_ascii=False)) for p in payloads]
    ids = store.insert_and_notify(rows)
    assert ids == sorted(ids) and len(set(ids)) == n
    jobs = store.get_jobs(ids)
    assert [j.id for j in jobs] == ids
    for got, payload in zip(jobs, payloads, strict=True):
        assert json.dumps(got.data) == json.dumps(payload)
        assert (got.type, got.queue, got.priority, got.status) == ("t\tab", "q\\1", 3, "ready")
        assert got.props == {"k": "tab\t nl\n bs\\ é"}
        assert got.created == NOW
    created: list[Any] = []
    deadline = time.monotonic() + 10  # PostgreSQL: seen once no older transaction is open
    while len(created) < n and time.monotonic() < deadline:
        created = Feed(store).read(0, 10 * n, kinds=["job.created"])[0]
        time.sleep(0.05 if len(created) < n else 0)
    assert [e.job_id for e in created] == ids
    assert {(e.type, e.queue, e.status) for e in created} == {("t\tab", "q\\1", "ready")}


def test_claim_many_takes_the_first_in_claim_order(store: Store) -> None:
    ids = [insert(store, priority=p)[0] for p in (3, 1, 2, 0, 5)]
    now = NOW + 1
    claimed = store.claim("w1", "r1", ["default"], None, 3, now, now + 30)
    assert sorted(j.id for j in claimed) == sorted([ids[3], ids[1], ids[2]])


def test_claim_respects_limit_and_queues(store: Store) -> None:
    q1 = insert(store, 5, queue="q1")
    q2 = insert(store, 5, queue="q2", priority=-1)
    now = NOW + 1
    first = store.claim("w", "r", ["q1", "q2", "q1"], None, 3, now, now + 30)
    assert sorted(j.id for j in first) == q2[:3]
    rest = store.claim("w", "r", ["q1"], None, 100, now, now + 30)
    assert sorted(j.id for j in rest) == q1


def test_concurrent_claims_never_take_a_job_twice(store: Store) -> None:
    ids = insert(store, 300)
    taken: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def claimer(n: int) -> None:
        try:
            while True:
                now = time.time()
                jobs = store.claim(f"w{n}", f"r{n}", ["default"], None, 7, now, now + 30)
                if not jobs:
                    return
                taken[n].extend(j.id for j in jobs)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [run_thread(claimer, n) for n in range(4)]
    for t in threads:
        t.join(60)
    assert not errors
    every = [i for part in taken for i in part]
    assert sorted(every) == ids  # each job exactly once
    assert store.count_jobs(JobFilter(status=["running"])) == 300


def test_skip_locked_claim_does_not_wait_for_another_claimer(pg_url: str) -> None:
    store = open_store(pg_url)
    first, second = insert(store, 2)
    holding, release = threading.Event(), threading.Event()
    got: list[int] = []

    def slow_claimer() -> None:
        with store.transaction():
            got.extend(j.id for j in store.claim("a", "ra", ["default"], None, 1, NOW, NOW + 30))
            holding.set()
            release.wait(10)

    t = run_thread(slow_claimer)
    assert holding.wait(10)
    started = time.monotonic()
    claimed = store.claim("b", "rb", ["default"], None, 2, NOW, NOW + 30)
    assert time.monotonic() - started < 1.0
    assert [j.id for j in claimed] == [second] and got == [first]
    release.set()
    t.join(10)
    store.close()


# -- leases, progress, promotion ---------------------------------------------------------------


def test_leases(store: Store) -> None:
    a, b = insert(store, 2)
    now = NOW + 1
    ja, jb = store.claim("w", "r", ["default"], None, 2, now, now + 10)
    store.execute(
        "extend_leases", {"run_ids": store.list_param([ja.run_id]), "lease_expires": now + 50}
    )
    leases = {j.id: j.lease_expires for j in store.get_jobs([a, b])}
    assert leases == {a: now + 50, b: now + 10}
    running = store.execute("running_runs", {"run_ids": store.list_param([ja.run_id, "gone.1"])})
    assert [r[0] for r in running.fetchall()] == [ja.run_id]
    expired = store.execute("expired_leases", {"now": now + 20, "limit": 10}).fetchall()
    assert [store.row_to_job(r).id for r in expired] == [b]
    assert len(store.execute("expired_leases", {"now": now + 60, "limit": 1}).fetchall()) == 1
    touch = {"id": b, "run_id": jb.run_id, "now": now + 2, "lease_expires": now + 5}
    assert store.execute("touch_running", touch).rowcount == 1
    assert store.get_jobs([b])[0].lease_expires == now + 10  # never shortened
    assert store.execute("touch_running", {**touch, "run_id": "other"}).rowcount == 0
    progress = {**touch, "completed": 3, "total": 4, "lease_expires": now + 70}
    assert store.execute("set_progress", progress).rowcount == 1
    job = store.get_jobs([b])[0]
    assert (job.progress_completed, job.progress_total, job.lease_expires) == (3, 4, now + 70)


def test_complete_many_counts_only_runs_still_owned(store: Store) -> None:
    insert(store, 3)
    now = NOW + 1
    jobs = store.claim("w", "r", ["default"], None, 3, now, now + 10)
    rows = [
        {
            "id": j.id,
            "run_id": j.run_id if i else "stale",
            "result": store.encode_json(i),
            "now": now,
        }
        for i, j in enumerate(jobs)
    ]
    assert store.executemany("complete_simple", rows) == 2
    statuses = [(j.status, j.result) for j in store.get_jobs([j.id for j in jobs])]
    assert statuses == [("running", None), ("completed", 1), ("completed", 2)]


def next_due(store: Store) -> float | None:
    row = store.execute("next_due").fetchone()  # no row, or a NULL, when nothing is due
    return None if row is None else row[0]


def test_promote_due_and_next_due(store: Store) -> None:
    soon = insert(store, status="waiting", after=NOW + 5)[0]
    later = insert(store, status="waiting", after=NOW + 50, queue="q2")[0]
    blocked = insert(store, status="waiting", depends=[soon])[0]
    assert store.execute("has_due", {"now": NOW + 1}).fetchone() is None
    assert next_due(store) == NOW + 5
    assert store.execute("has_due", {"now": NOW + 6}).fetchone() is not None
    rows = store.execute("promote_due", {"now": NOW + 6}).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(soon, "default")]
    assert next_due(store) == NOW + 50
    rows = store.execute("promote_due", {"now": NOW + 60}).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(later, "q2")]
    assert next_due(store) is None
    assert store.get_jobs([blocked])[0].status == "waiting"


# -- logs, dependencies, tombstones, workers, types --------------------------------------------


@pytest.mark.parametrize("n", [2, 150])
def test_logs_keep_order_and_data(store: Store, n: int) -> None:
    (job_id,) = insert(store)
    data = [{"i": i, "s": "\x00\t", "z": None} if i % 2 else None for i in range(n)]
    store.append_logs(
        [log_entry(job_id, NOW + i, f"m{i}", "warning", "run.1", data[i]) for i in range(n)]
    )
    log = read_log(store, job_id)
    assert log[0]["message"] == "Job Submitted"
    assert [e["message"] for e in log[1:]] == [f"m{i}" for i in range(n)]
    assert [e["data"] for e in log[1:]] == data
    assert (log[1]["time"], log[1]["run"], log[1]["level"]) == (NOW, "run.1", "warning")


def test_dependencies_and_tombstones(store: Store) -> None:
    parent, child, other = insert(store, 3)
    deps = [{"job_id": child, "dep_id": parent}, {"job_id": other, "dep_id": parent}]
    store.executemany("insert_dep", deps)
    store.executemany("insert_dep", deps[:1])  # a duplicate is ignored
    store.execute("mark_has_dependents", {"ids": store.list_param([parent])})
    assert store.get_jobs([parent])[0].has_dependents
    assert sorted(j.id for j in store.dependents([parent])) == [child, other]
    assert store.dependents([child]) == []
    store.executemany("insert_tombstone", [{"id": 5000, "now": NOW}, {"id": 5001, "now": NOW}])
    store.executemany("insert_tombstone", [{"id": 5000, "now": NOW + 1}])
    rows = store.execute("tombstones", {"ids": store.list_param([5000, 5001, 5002])}).fetchall()
    assert sorted(r[0] for r in rows) == [5000, 5001]


def test_workers_and_types(store: Store) -> None:
    worker = {
        "name": "w1",
        "host": "h",
        "pid": 42,
        "queues": store.encode_json(["default", "worker:w1"]),
        "concurrency": 4,
        "started": NOW,
        "heartbeat": NOW,
        "running": store.encode_json([]),
        "status": "running",
    }
    store.execute("upsert_worker", worker)
    store.execute("upsert_worker", {**worker, "pid": 43})
    beat = {"name": "w1", "heartbeat": NOW + 5, "status": "paused"}
    store.execute("heartbeat_worker", {**beat, "running": store.encode_json([3, 1])})
    (row,) = store.execute("list_workers").fetchall()
    assert (row["name"], row["pid"], row["heartbeat"], row["status"]) == (
        "w1",
        43,
        NOW + 5,
        "paused",
    )
    assert store.decode_json(row["queues"]) == ["default", "worker:w1"]
    assert store.decode_json(row["running"]) == [3, 1]
    store.execute("delete_worker", {"name": "w1"})
    assert store.execute("list_workers").fetchall() == []

    meta = {"queue": "q", "on": ["x"], "schedule": None}
    types = [
        {"name": n, "kind": "python", "enabled": 1, "now": NOW, "meta": store.encode_json(meta)}
        for n in "ba"
    ]
    store.executemany("upsert_type", types)
    store.execute("set_type_enabled", {"name": "b", "enabled": 0, "now": NOW + 1})
    rows = store.execute("list_types").fetchall()
    assert [(r["name"], r["enabled"], r["updated"]) for r in rows] == [
        ("a", 1, NOW),
        ("b", 0, NOW + 1),
    ]
    assert store.decode_json(rows[0]["meta"]) == meta


# -- wake-ups ----------------------------------------------------------------------------------


def test_notify_wakes_a_waiter_within_100ms(store: Store) -> None:
    waiter = store.waiter(["default"])
    try:
        assert waiter.wait(0.05) is False
        woke: list[float] = []
        t = run_thread(lambda: woke.append(time.monotonic()) if waiter.wait(5) else None)
        time.sleep(0.2)
        sent = time.monotonic()
        store.notify(["default"])
        t.join(5)
        assert woke and woke[0] - sent < 0.1
        assert waiter.wait(0.05) is False  # one wake-up per notification
        for _ in range(5):
            store.notify(["default"])
        time.sleep(0.1)
        assert waiter.wait(1) is True
        assert waiter.wait(0.05) is False  # a burst is drained at once
    finally:
        waiter.close()


def _wait_ends(waiter: Any, timeout: float) -> bool:
    """A closed waiter's wait returns False (or, on SQLite, raises OSError)."""
    try:
        return bool(waiter.wait(timeout))
    except OSError:
        return False


def test_close_interrupts_a_blocked_wait(
    store: Store, backend: str, request: pytest.FixtureRequest
) -> None:
    waiter = store.waiter(["default"])
    done: list[float] = []
    t = run_thread(lambda: done.append(time.monotonic()) if not _wait_ends(waiter, 2) else None)
    time.sleep(0.2)
    closed = time.monotonic()
    waiter.close()
    t.join(5)
    assert done and done[0] - closed < 1.0
    waiter.close()  # twice is fine
    assert _wait_ends(waiter, 0.01) is False


def test_notify_is_delivered_at_commit_and_only_for_wanted_queues(pg_url: str) -> None:
    store = open_store(pg_url)
    waiter = store.waiter(["default", "mail"])
    try:
        with store.transaction():
            store.notify(["mail"])
            assert waiter.wait(0.2) is False  # not before the commit
        assert waiter.wait(1) is True
        store.notify(["reports"])
        assert waiter.wait(0.2) is False  # not one of our queues
        store.notify(["reports", "mail"])
        assert waiter.wait(1) is True
        with pytest.raises(RuntimeError), store.transaction():
            store.notify(["default"])
            raise RuntimeError
        assert waiter.wait(0.2) is False  # rolled back: never sent
        store.notify([f"q{i:05d}" for i in range(2000)])  # too long for one payload
        assert waiter.wait(1) is True
    finally:
        waiter.close()
        store.close()


def test_waiter_survives_a_dropped_connection(pg_url: str, pg_admin: Any) -> None:
    store = open_store(pg_url)
    waiter = store.waiter(["default"])
    try:
        pid = waiter._conn.info.backend_pid  # type: ignore[attr-defined]
        pg_admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert waiter.wait(2) is True  # reconnected: reports a (possibly missed) wake-up
        assert waiter.wait(0.05) is False
        store.notify(["default"])
        assert waiter.wait(1) is True
    finally:
        waiter.close()
        store.close()


# -- transactions and migrations ---------------------------------------------------------------


def test_rollback_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        one = insert(store)
        many = insert(store, 100)
        store.append_logs([log_entry(one[0], NOW, "x")] * 60)
        assert store.count_jobs(JobFilter()) == 101  # visible inside
        raise RuntimeError("abort")
    assert store.count_jobs(JobFilter()) == 0
    assert read_log(store, one[0]) == [] and read_log(store, many[-1]) == []
    assert len(insert(store, 2)) == 2  # the store is usable afterwards


def test_reads_in_a_transaction_serialise_read_modify_write(store: Store) -> None:
    (job_id,) = insert(store, props={"n": 0})
    dependent = insert(store, status="waiting", props={"n": 0})[0]
    store.executemany("insert_dep", [{"job_id": dependent, "dep_id": job_id}])
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            with store.transaction():
                (job,) = store.get_jobs([job_id], lock=True)
                (dep,) = store.dependents([job_id], lock=True)
                time.sleep(0.2)
                store.update_jobs([Update(job_id, {"props": {"n": job.props["n"] + 1}})])
                store.update_jobs([Update(dep.id, {"props": {"n": dep.props["n"] + 1}})])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [run_thread(bump) for _ in range(2)]
    for t in threads:
        t.join(30)
    assert not errors
    assert [j.props["n"] for j in store.get_jobs([job_id, dependent])] == [2, 2]


def test_migrations_are_idempotent(store: Store) -> None:
    versions = {v for v, _, _ in queries.migrations(store.dialect)}
    assert store.applied_migrations() == versions
    assert store.migrate() == []
    assert store.migrate() == []


def test_migrate_reports_what_it_applied(empty_store_url: str, backend: str) -> None:
    store = open_store(empty_store_url)
    names = [f"{v:04d}_{n}" for v, n, _ in queries.migrations(store.dialect)]
    assert store.migrate() == names
    assert store.migrate() == []
    store.close()


def test_concurrent_first_use_creates_the_schema_once(
    empty_store_url: str, backend: str, request: pytest.FixtureRequest
) -> None:
    stores = [open_store(empty_store_url) for _ in range(4)]
    barrier = threading.Barrier(4)
    counts: list[int] = []
    errors: list[BaseException] = []

    def first_use(s: Store) -> None:
        try:
            barrier.wait(10)
            counts.append(s.count_jobs(JobFilter()))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [run_thread(first_use, s) for s in stores]
    for t in threads:
        t.join(60)
    assert not errors and counts == [0, 0, 0, 0]
    check = open_store(empty_store_url)
    rows = check.execute("list_types").fetchall()  # the schema is there
    assert rows == []
    names = check._execute("SELECT version FROM schema_migrations ORDER BY version", {})
    assert [r[0] for r in names.fetchall()] == sorted(
        v for v, _, _ in queries.migrations(check.dialect)
    )
    check.close()


# -- PostgreSQL: a caller's own connection, clear errors --------------------------------------


@pytest.fixture
def pg_yard(pg_url: str) -> Iterator[Yard]:
    y = Yard(pg_url)

    @y.job
    def noop(job: Any, **data: Any) -> None:
        return None

    try:
        yield y
    finally:
        y.close()


def test_enqueue_joins_the_callers_transaction(pg_url: str, pg_yard: Yard) -> None:
    waiter = pg_yard.store.waiter(["default"])
    try:
        with psycopg.connect(pg_url) as conn:
            handle = pg_yard.enqueue("noop", {"x": 1}, conn=conn)
            many = pg_yard.enqueue_many("noop", [{"i": i} for i in range(80)], conn=conn)
            assert pg_yard.count() == 0  # other connections cannot see it yet
            assert waiter.wait(0.2) is False  # nor be woken for it
            conn.commit()
        assert waiter.wait(1) is True
        assert pg_yard.count() == 81
        assert pg_yard.get(handle.id).job.data == {"x": 1}
        assert read_log(pg_yard.store, many[-1])[0]["message"] == "Job Submitted"

        with psycopg.connect(pg_url) as conn:
            gone = pg_yard.enqueue("noop", conn=conn)
            dependent = pg_yard.enqueue("noop", depends=[gone], conn=conn)
            assert dependent.id > gone.id
            conn.rollback()
        assert pg_yard.count() == 81
        assert waiter.wait(0.2) is False
        with pytest.raises(Exception, match="no job"):
            pg_yard.get(gone.id)
    finally:
        waiter.close()


def test_enqueue_on_an_autocommit_connection_is_still_atomic(pg_url: str, pg_yard: Yard) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with conn.transaction():
            pg_yard.enqueue("noop", conn=conn)
            assert pg_yard.count() == 0
        assert pg_yard.count() == 1
        ids = pg_yard.enqueue_many("noop", [1, 2, 3], conn=conn)
        assert pg_yard.count() == 4 and len(ids) == 3
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_a_dropped_connection_is_replaced(pg_url: str, pg_admin: Any) -> None:
    store = open_store(pg_url)
    insert(store)
    pid = store._conn().info.backend_pid  # type: ignore[attr-defined]
    pg_admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.1)
    # A read on a connection the server ended is retried once on a fresh one.
    assert store.count_jobs(JobFilter()) == 1
    store.close()


def test_unopenable_database_says_which_and_why(pg_url: str) -> None:
    parts = urlsplit(pg_url)
    netloc = f"{parts.username}:s3cret@{parts.hostname}:{parts.port}"
    url = urlunsplit(parts._replace(netloc=netloc, path="/jobyard_no_such_db"))
    with pytest.raises(DatabaseError) as info:
        Yard(url).count()
    message = str(info.value)
    assert "jobyard_no_such_db" in message and "does not exist" in message
    assert "s3cret" not in message and "***" in message


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError) as info:
        open_store("postgresql://someone:pw@127.0.0.1:1/db").count_jobs(JobFilter())
    message = str(info.value)
    assert "127.0.0.1:1/db" in message and "refused" in message.lower() and "pw@" not in message
    with pytest.raises(DatabaseError, match="bogus"):
        open_store("postgresql://u@127.0.0.1:5432/db?bogus=1")
