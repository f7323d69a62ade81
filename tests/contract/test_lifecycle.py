"""The meteor-job state machine on every backend: the spec's ported test cases."""

from __future__ import annotations

import threading
import time

import pytest
from tests.helpers import until

from jobyard import (
    Fatal,
    InvalidInput,
    InvalidTransition,
    LeaseLost,
    Repeat,
    Retry,
    UnknownJobType,
    Yard,
    lifecycle,
    manage,
)


def statuses(yard: Yard, ids: list[int]) -> list[str]:
    return [yard.get(i).job.status for i in ids]


def test_priority_order_high_normal_low(yard: Yard) -> None:
    order: list[str] = []

    @yard.job
    def note(job, tag):  # type: ignore[no-untyped-def]
        order.append(tag)

    low = yard.enqueue("note", {"tag": "low"}, priority="low")
    high = yard.enqueue("note", {"tag": "high"}, priority="high")
    normal = yard.enqueue("note", {"tag": "normal"})
    w = yard.worker(concurrency=1, prefetch=0).start()
    try:
        for h in (low, high, normal):
            h.wait(timeout=10)
    finally:
        w.stop()
    assert order == ["high", "normal", "low"]


def test_dependent_runs_only_after_antecedent(yard: Yard) -> None:
    gate = threading.Event()
    ran: list[str] = []

    @yard.job
    def first(job, **data):  # type: ignore[no-untyped-def]
        gate.wait(10)
        ran.append("first")

    @yard.job
    def second(job):  # type: ignore[no-untyped-def]
        ran.append("second")

    a = yard.enqueue("first")
    b = yard.enqueue("second", depends=[a])
    assert b.status == "waiting"
    w = yard.worker(concurrency=2).start()
    try:
        time.sleep(0.3)
        assert b.status == "waiting" and ran == []
        gate.set()
        b.wait(timeout=10)
    finally:
        w.stop()
    assert ran == ["first", "second"]
    job = b.refresh()
    assert job.status == "completed" and job.depends == [] and job.resolved == [a.id]


def test_dependent_of_finished_antecedents(yard: Yard) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    done = yard.enqueue("noop")
    w = yard.worker().start()
    try:
        done.wait(timeout=10)
        child = yard.enqueue("noop", depends=[done.id])
        child.wait(timeout=10)
        assert child.status == "completed"
        assert child.refresh().resolved == [done.id]
    finally:
        w.stop()
    cancelled = yard.enqueue("noop", paused=True)
    cancelled.cancel()
    assert yard.enqueue("noop", depends=[cancelled]).status == "cancelled"
    failed = yard.enqueue("noop", paused=True)
    failed.cancel()
    failed.remove()
    assert yard.enqueue("noop", depends=[failed.id]).status == "cancelled"
    before = yard.count()
    with pytest.raises(InvalidInput, match="do not exist"):
        yard.enqueue("noop", depends=[999_999])
    assert yard.count() == before


def test_failed_antecedent_cancels_dependents_cascading(yard: Yard) -> None:
    @yard.job
    def boom(job):  # type: ignore[no-untyped-def]
        raise RuntimeError("nope")

    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    a = yard.enqueue("boom")
    b = yard.enqueue("noop", depends=[a])
    c = yard.enqueue("noop", depends=[b])
    w = yard.worker().start()
    try:
        a.wait(timeout=10)
        until(lambda: c.status == "cancelled")
    finally:
        w.stop()
    assert a.status == "failed" and b.status == "cancelled"
    assert "antecedent" in b.log()[-1]["message"]


def test_retry_forever_then_fatal(yard: Yard) -> None:
    tries: list[int] = []

    @yard.job(retry=Retry("forever", wait=0))
    def flaky(job):  # type: ignore[no-untyped-def]
        tries.append(job.attempt)
        if len(tries) < 4:
            raise RuntimeError("again")
        raise Fatal("give up now")

    h = flaky.defer()
    w = yard.worker().start()
    try:
        h.wait(timeout=10)
    finally:
        w.stop()
    job = h.refresh()
    assert job.status == "failed" and len(tries) == 4 and tries == [1, 2, 3, 4]
    assert job.failures[-1]["error"] == "give up now" and len(job.failures) == 4


def _claim_one(yard: Yard, lease: float = 30.0) -> object:
    now = time.time()
    (job,) = yard.store.claim("w", "run", ["default"], None, 1, now, now + lease)
    return job


def test_exponential_backoff_doubles(yard: Yard) -> None:
    @yard.job(retry=Retry(5, wait=10, backoff="exponential"))
    def flaky(job):  # type: ignore[no-untyped-def]
        return None

    h = flaky.defer()
    waits = []
    for _ in range(4):
        job = _claim_one(yard)
        now = time.time()
        assert lifecycle.fail(yard.store, job, "x", now) == "waiting"  # type: ignore[arg-type]
        waits.append(round(h.refresh().after - now, 6))
        yard.store.update_jobs([manage.Update(h.id, {"status": "ready", "after": 0})])
    assert waits == [10, 20, 40, 80]
    assert h.refresh().retries == 1


def test_retry_until_ends_in_failure(yard: Yard) -> None:
    @yard.job(retry=Retry("forever", wait=0.2, until=time.time() + 1.5))
    def flaky(job):  # type: ignore[no-untyped-def]
        raise RuntimeError("still broken")

    h = flaky.defer()
    w = yard.worker().start()
    try:
        h.wait(timeout=10)
    finally:
        w.stop()
    job = h.refresh()
    assert job.status == "failed"
    assert 2 <= len(job.failures) <= 9


def test_work_timeout_then_retry_succeeds(yard: Yard) -> None:
    @yard.job(timeout=0.5, retry=Retry(1, wait=0))
    def stuck(job):  # type: ignore[no-untyped-def]
        if job.attempt == 1:
            time.sleep(2)
        return "second time lucky"

    h = stuck.defer()
    w = yard.worker(concurrency=2).start()
    try:
        h.wait(timeout=10)
    finally:
        w.stop()
    job = h.refresh()
    assert job.status == "completed" and job.result == "second time lucky"
    assert job.failures[0]["error"] == "timed out after 0.5 s" and job.attempts == 2


def test_500_jobs_cancelled_then_removed(yard: Yard) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    ids = yard.enqueue_many("noop", [{"i": i} for i in range(500)])
    assert sorted(yard.cancel(ids)) == ids
    assert yard.count(status="cancelled") == 500
    assert sorted(yard.remove(yard.matching(status="cancelled"))) == ids
    assert yard.count() == 0


def test_repeat_with_wait_until(yard: Yard) -> None:
    @yard.job
    def tick(job):  # type: ignore[no-untyped-def]
        return job.id

    until_ts = time.time() + 1.2
    h = yard.enqueue("tick", repeat=Repeat("forever", wait=0.3, until=until_ts))
    w = yard.worker().start()
    try:
        time.sleep(2.0)
    finally:
        w.stop()
    runs = yard.jobs(type="tick", limit=None)
    completed = [j for j in runs if j.status == "completed"]
    assert 3 <= len(completed) <= 5
    assert all(j.status == "completed" for j in runs)
    assert sorted(j.repeated for j in runs) == list(range(len(runs)))
    assert h.refresh().status == "completed"


def test_cancel_then_restart_zero_retries_keeps_attempts(yard: Yard) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return "ok"

    h = yard.enqueue("noop", paused=True)
    h.cancel()
    assert h.status == "cancelled"
    h.restart(retries=0)
    job = h.refresh()
    assert job.status == "ready" and job.attempts == 0 and job.retries == 0
    w = yard.worker().start()
    try:
        h.wait(timeout=10)
    finally:
        w.stop()
    job = h.refresh()
    assert job.status == "completed" and job.attempts == 1 and job.result == "ok"


@pytest.mark.parametrize(
    ("level", "done", "back"), [("normal", 2, 3), ("hard", 1, 4), ("soft", 5, 0)]
)
def test_shutdown_levels(yard: Yard, level: str, done: int, back: int) -> None:
    release = threading.Event()
    holder: dict[str, object] = {}

    @yard.job
    def step(job, i):  # type: ignore[no-untyped-def]
        if i == 0:
            holder["w"].stop(level, wait=False)  # type: ignore[attr-defined]
            return i
        release.wait(10)
        return i

    ids = [yard.enqueue("step", {"i": i}, priority=-i if i == 0 else i).id for i in range(5)]
    w = yard.worker(concurrency=2, prefetch=3)
    holder["w"] = w
    w.start()
    time.sleep(0.3)
    release.set()
    w._thread.join(10)  # type: ignore[union-attr]
    jobs = yard.store.get_jobs(ids)
    assert sum(j.status == "completed" for j in jobs) == done
    given_back = [j for j in jobs if j.status == "ready"]
    assert len(given_back) == back
    assert all(j.attempts == 0 for j in given_back)


def test_batch_handler_gets_five_jobs(yard: Yard) -> None:
    calls: list[int] = []

    @yard.job(batch=5)
    def many(jobs):  # type: ignore[no-untyped-def]
        calls.append(len(jobs))
        return [j.data["n"] * 2 for j in jobs]

    ids = yard.enqueue_many("many", [{"n": n} for n in range(5)])
    w = yard.worker(concurrency=1, prefetch=5).start()
    try:
        until(lambda: yard.count(status="completed") == 5)
    finally:
        w.stop()
    assert calls == [5]
    assert sorted(j.result for j in yard.store.get_jobs(ids)) == [0, 2, 4, 6, 8]


def test_operations_in_wrong_status_name_it(yard: Yard) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    h = yard.enqueue("noop")
    with pytest.raises(InvalidTransition, match="it is ready; restart is allowed only when"):
        h.restart()
    with pytest.raises(InvalidTransition, match="resume"):
        h.resume()
    with pytest.raises(InvalidTransition, match="remove"):
        h.remove()
    with pytest.raises(InvalidTransition, match="rerun"):
        h.rerun()
    h.pause()
    with pytest.raises(InvalidTransition, match="paused"):
        h.pause()
    h.resume()
    assert h.status == "ready"


def test_late_calls_after_cancel_are_refused(yard: Yard) -> None:
    from jobyard.context import JobContext

    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    h = yard.enqueue("noop")
    job = _claim_one(yard)
    ctx = JobContext(yard, job, 30)  # type: ignore[arg-type]
    ctx.progress(3, 10)
    ctx.log("half way", level="success")
    assert h.progress == {"completed": 3, "total": 10, "percent": 30.0}
    h.cancel()
    with pytest.raises(LeaseLost):
        ctx.progress(4, 10)
    with pytest.raises(LeaseLost):
        ctx.log("too late")
    assert lifecycle.complete(yard.store, [(job, 1)], time.time()) == []  # type: ignore[list-item]
    assert h.status == "cancelled"


def test_expired_lease_is_rescued_then_quarantined(yard: Yard) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    h = yard.enqueue("noop")
    for n in range(1, 3):
        _claim_one(yard, lease=-1)
        assert manage.rescue_expired(yard.store, time.time(), quarantine_after=3) == 1
        job = h.refresh()
        assert job.status == "ready" and job.interruptions == n
    _claim_one(yard, lease=-1)
    manage.rescue_expired(yard.store, time.time(), quarantine_after=3)
    job = h.refresh()
    assert job.status == "failed" and "quarantined" in (job.error or "")


def test_unknown_type_is_a_clear_error_and_never_dropped(yard: Yard) -> None:
    @yard.job
    def known(job):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(UnknownJobType, match="known types: known"):
        yard.enqueue("nope")
    other = Yard(yard.url)

    @other.job
    def alien(job):  # type: ignore[no-untyped-def]
        return None

    h = other.enqueue("alien")
    w = yard.worker().start()  # knows only "known"
    try:
        time.sleep(0.5)
    finally:
        w.stop()
    assert h.status == "ready"
    other.close()


def test_bad_input_writes_nothing(yard: Yard) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    bad = [
        {"priority": "urgent"},
        {"retries": -1},
        {"retries": 1.5},
        {"repeat": {"wait": 1, "schedule": "* * * * *"}},
        {"repeat": {"schedule": "61 * * * *"}},
        {"after": "yesterday-ish"},
        {"delay": -3},
        {"retry": {"bogus": 1}},
        {"color": "blue"},
    ]
    for options in bad:
        with pytest.raises(InvalidInput):
            yard.enqueue("noop", {"x": 1}, **options)
    with pytest.raises(InvalidInput, match="JSON"):
        yard.enqueue("noop", {"x": object()})
    with pytest.raises(InvalidInput, match="over the limit"):
        yard.enqueue("noop", {"x": "y" * (yard.config.max_data_bytes + 1)})
    with pytest.raises(InvalidInput, match="minute field"):
        Repeat(schedule="61 * * * *").normalized()
    assert yard.count() == 0


def test_rerun_copies_completed_job(yard: Yard) -> None:
    @yard.job
    def add(job, a, b):  # type: ignore[no-untyped-def]
        return a + b

    h = add.defer(a=1, b=2)
    w = yard.worker().start()
    try:
        h.wait(timeout=10)
        again = h.rerun()
        again.wait(timeout=10)
    finally:
        w.stop()
    assert again.id != h.id and again.result == 3 and again.job.repeats == 0
    log = [e["message"] for e in h.log()]
    assert log[0] == "Job Submitted" and log[-1] == "Job Completed"


def test_async_handler_and_its_timeout(yard: Yard) -> None:
    import asyncio

    @yard.job
    async def fast(job, n):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.01)
        return n * 10

    @yard.job(timeout=0.2)
    async def slow(job):  # type: ignore[no-untyped-def]
        await asyncio.sleep(5)

    a, b = fast.defer(n=4), slow.defer()
    w = yard.worker().start()
    try:
        a.wait(timeout=10)
        b.wait(timeout=10)
    finally:
        w.stop()
    assert a.result == 40
    assert b.status == "failed" and b.job.error == "timed out after 0.2 s"


def test_delay_holds_job_back(yard: Yard) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return time.time()

    start = time.time()
    h = yard.enqueue("noop", delay=0.5)
    assert h.status == "waiting"
    w = yard.worker().start()
    try:
        h.wait(timeout=10)
    finally:
        w.stop()
    assert h.result >= start + 0.5
    assert h.result < start + 3


def test_emit_triggers_listeners_and_bounds_loops(yard: Yard) -> None:
    from jobyard.events import MAX_DEPTH, list_events

    seen: list[object] = []

    @yard.job(on="ping")
    def pong(job, **data):  # type: ignore[no-untyped-def]
        seen.append(data)
        job.emit("ping", data)  # a loop: ping → pong → ping ...

    yard.sync_types()
    first = yard.emit("ping", {"n": 1})
    assert len(first.jobs) == 1
    w = yard.worker().start()
    try:
        until(lambda: len(list_events(yard, "ping", limit=1000)) >= MAX_DEPTH, timeout=20)
        time.sleep(0.3)
    finally:
        w.stop()
    events = list_events(yard, "ping", limit=1000)
    assert len(events) == MAX_DEPTH
    assert [e.depth for e in events] == list(range(MAX_DEPTH))
    failed = yard.jobs(status="failed")
    assert len(failed) == 1 and "reached the limit" in (failed[0].error or "")
    assert seen == [{"n": 1}] * MAX_DEPTH
