"""Transition events and their cursor reader (jobyard.feed), on both backends."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from typing import Any

import pytest
from tests.helpers import until

from jobyard import Retry, Yard, lifecycle, manage
from jobyard.errors import DatabaseError, InvalidInput
from jobyard.events import list_events
from jobyard.feed import Feed
from jobyard.model import Job
from jobyard.store.base import JobEvent

_runs = itertools.count()


@pytest.fixture(autouse=True)
def _types(yard: Yard) -> None:
    register(yard)


def register(yard: Yard) -> None:
    """Python types (handlers unused: jobs are claimed and finished by hand here)."""
    for name in ("a", "b", "c", "p", "t", "w", "f", "old", "new", "x", "y", "s"):
        yard.job(name=name)(lambda job, **data: None)


def claim(yard: Yard, type_name: str) -> Job:
    now = time.time()
    jobs = yard.store.claim("w", f"run{next(_runs)}", ["default"], [type_name], 1, now, now + 30)
    assert jobs, f"no ready {type_name} job"
    return jobs[0]


def settled(
    yard: Yard, count: int, kinds: list[str] | None = None, created: bool = False
) -> list[JobEvent]:
    """The first events once ``count`` are readable (job.created left out unless asked).
    On PostgreSQL an event is readable once every older transaction (in any database of
    the server) has ended: a moment."""
    feed = Feed(yard.store)

    def read() -> list[JobEvent]:
        events = feed.read(limit=1000, kinds=kinds)[0]
        return [e for e in events if created or e.name != "job.created"]

    until(lambda: len(read()) >= count)
    return read()


def seen(yard: Yard, count: int) -> list[tuple[str, int, str, str]]:
    return [(e.name, e.job_id, e.type, e.status) for e in settled(yard, count)]


def test_each_transition_is_one_event_in_order(yard: Yard) -> None:
    a = yard.enqueue("a", retry=Retry(1, wait=0))
    job = claim(yard, "a")
    assert yard.store.set_progress(job.id, job.run_id, 5, 10, time.time(), 30)
    assert lifecycle.fail(yard.store, job, "boom", time.time()) == "ready"
    lifecycle.complete(yard.store, [(claim(yard, "a"), 1)], time.time())
    b = yard.enqueue("b")
    yard.pause(b.id)
    yard.resume(b.id)
    yard.cancel(b.id)
    c = yard.enqueue("c")
    assert lifecycle.fail(yard.store, claim(yard, "c"), "bad", time.time(), fatal=True)
    yard.restart(c.id)
    assert seen(yard, 11) == [
        ("job.started", a.id, "a", "running"),
        ("job.progress", a.id, "a", "running"),
        ("job.retrying", a.id, "a", "ready"),
        ("job.started", a.id, "a", "running"),
        ("job.completed", a.id, "a", "completed"),
        ("job.paused", b.id, "b", "paused"),
        ("job.resumed", b.id, "b", "ready"),
        ("job.cancelled", b.id, "b", "cancelled"),
        ("job.started", c.id, "c", "running"),
        ("job.failed", c.id, "c", "failed"),
        ("job.restarted", c.id, "c", "ready"),
    ]
    made = [(e.name, e.job_id, e.status) for e in settled(yard, 3, ["job.created"], True)]
    assert made == [
        ("job.created", a.id, "ready"),
        ("job.created", b.id, "ready"),
        ("job.created", c.id, "ready"),
    ]
    events = settled(yard, 3, kinds=["job.retrying", "job.failed", "job.progress"])
    assert [e.data for e in events] == [{"completed": 5, "total": 10}, None, None]
    assert [f["error"] for f in yard.get(a.id).failures] == ["boom"]  # on the job row
    assert list_events(yard) == []  # the emit log (the triggers' events) is its own log


def test_a_handed_back_run_is_requeued_and_a_rescued_one_interrupted(yard: Yard) -> None:
    t = yard.enqueue("t", retry=Retry(2, wait=0))
    assert manage.hand_back(yard.store, [claim(yard, "t")], time.time(), "shutdown") == [t.id]
    job = yard.store.claim("w", "gone", ["default"], ["t"], 1, time.time(), time.time() - 1)[0]
    assert manage.rescue_expired(yard.store, time.time(), quarantine_after=5) == 1
    names = [(e.name, e.data) for e in settled(yard, 4)]
    assert names[:3] == [("job.started", None), ("job.requeued", None), ("job.started", None)]
    assert names[3] == ("job.interrupted", None)  # not a failure: no error
    assert job.id == t.id


def test_progress_is_at_most_one_event_a_second_per_job(yard: Yard) -> None:
    yard.enqueue("p")
    job = claim(yard, "p")
    now = time.time()
    for done in range(1, 20):  # a chatty handler: one event for the first second
        yard.store.set_progress(job.id, job.run_id, done, 100, now + done / 100, 30)
    yard.store.set_progress(job.id, job.run_id, 50, 100, now + 1.5, 30)
    lifecycle.complete(yard.store, [(job, None)], time.time())
    events = settled(yard, 3)  # started, the progress events, completed
    assert [e.data["completed"] for e in events if e.name == "job.progress"] == [1, 50]


def test_a_finished_hook_that_raises_undoes_the_outcome_and_its_event(yard: Yard) -> None:
    def broken(event: str, jobs: Any) -> None:
        raise RuntimeError("trigger broke")

    yard.enqueue("t")
    job = claim(yard, "t")
    yard.store.finished_hooks.append(broken)
    with pytest.raises(RuntimeError, match="trigger broke"):
        lifecycle.complete(yard.store, [(job, 1)], time.time())
    yard.store.finished_hooks.remove(broken)
    assert yard.get(job.id).status == "running"
    lifecycle.complete(yard.store, [(job, 1)], time.time())
    # No event of the undone outcome: the job completed once, so did its events.
    assert [name for name, *_ in seen(yard, 2)] == ["job.started", "job.completed"]


def test_the_feed_resumes_from_a_cursor_without_gaps_or_repeats(yard: Yard) -> None:
    """Writers in several threads (several transactions at once); a reader going by small
    pages while they write sees every event exactly once, each job's in order."""
    yard.enqueue_many("w", [{"n": i} for i in range(60)])
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            now = time.time()
            jobs = yard.store.claim("w", f"r{next(_runs)}", ["default"], ["w"], 3, now, now + 30)
            if not jobs:
                return
            lifecycle.complete(yard.store, [(j, None) for j in jobs], time.time())

    writers = [threading.Thread(target=work) for _ in range(3)]
    for thread in writers:
        thread.start()
    feed, cursor, got = Feed(yard.store), 0, []
    while any(t.is_alive() for t in writers):
        events, cursor = feed.read(cursor, limit=7)
        got.extend(events)
    for thread in writers:
        thread.join()

    def drained() -> bool:
        nonlocal cursor
        events, cursor = feed.read(cursor, limit=1000)
        got.extend(events)
        return len(got) >= 180

    until(drained)
    assert [e.id for e in got] == [e.id for e in feed.read(0, limit=1000)[0]]
    assert len({e.id for e in got}) == len(got) == 180
    for job_id in {e.job_id for e in got}:
        names = [e.name for e in got if e.job_id == job_id]
        assert names == ["job.created", "job.started", "job.completed"]
    assert feed.read(cursor)[0] == []


def test_follow_waits_for_new_events_and_retries_on_database_errors(
    yard: Yard, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    feed = Feed(yard.store, poll=0.02, backoff=0.01)
    real = yard.store.job_events_after
    outage = iter([True, True])

    def flaky(*args: Any, **kwargs: Any) -> list[JobEvent]:
        if next(outage, False):
            raise DatabaseError("database 'x': connection refused")
        return real(*args, **kwargs)

    monkeypatch.setattr(yard.store, "job_events_after", flaky)
    got: list[JobEvent] = []
    stop = threading.Event()

    def consume() -> None:
        for event in feed.follow(after=0, stop=stop):
            got.append(event)

    reader = threading.Thread(target=consume)
    reader.start()
    yard.enqueue("f")
    lifecycle.complete(yard.store, [(claim(yard, "f"), None)], time.time())
    until(lambda: len(got) == 3)
    stop.set()
    reader.join(timeout=5)
    assert [e.name for e in got] == ["job.created", "job.started", "job.completed"]
    assert sum("connection refused" in r.message for r in caplog.records) == 2


def test_follow_from_now_skips_the_past_and_afollow_reads_too(yard: Yard) -> None:
    yard.enqueue("old")
    lifecycle.complete(yard.store, [(claim(yard, "old"), None)], time.time())
    feed = Feed(yard.store, poll=0.02)
    until(lambda: len(feed.read()[0]) == 3)
    now_on = feed.latest()

    async def two() -> list[str]:
        stop, names = asyncio.Event(), []
        async for event in feed.afollow(after=now_on, stop=stop):
            names.append(f"{event.name} {event.type}")
            if len(names) == 3:
                stop.set()
        return names

    yard.enqueue("new")
    lifecycle.complete(yard.store, [(claim(yard, "new"), None)], time.time())
    assert asyncio.run(two()) == ["job.created new", "job.started new", "job.completed new"]


def test_from_now_loses_no_event_of_a_transaction_open_at_that_moment(
    yard: Yard, backend: str
) -> None:
    """PostgreSQL: a transaction that began before "now" and commits after it has a smaller
    xid than events already committed; "from now on" must not start past its events."""
    if backend == "sqlite":
        pytest.skip("SQLite has one writer: no transaction commits while another is open")
    opened, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with yard.store.transaction():
            yard.enqueue("old")  # its xid is taken here, before the fast writer's
            opened.set()
            release.wait(10)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert opened.wait(10)
    yard.enqueue("new")  # committed at once, with a bigger xid
    feed = Feed(yard.store, poll=0.02)
    now_on = feed.latest()
    release.set()
    writer.join()

    def names() -> set[str]:
        return {e.type for e in feed.read(now_on, limit=100)[0]}

    until(lambda: "old" in names(), timeout=5)


def test_a_handler_that_raises_is_logged_and_the_feed_goes_on(
    yard: Yard, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("x", "y"):
        yard.enqueue(name)
        lifecycle.complete(yard.store, [(claim(yard, name), None)], time.time())
    stop, handled = threading.Event(), []

    def handler(event: JobEvent) -> None:
        handled.append(event.name)
        if len(handled) == 6:
            stop.set()
        if event.type == "x":
            raise ValueError("observer broke")

    with caplog.at_level(logging.ERROR, logger="jobyard.feed"):
        Feed(yard.store, poll=0.01).deliver(handler, after=0, stop=stop)
    assert handled == ["job.created", "job.started", "job.completed"] * 2
    assert sum("event handler failed" in r.message for r in caplog.records) == 3


def test_a_slow_consumer_holds_no_transaction(yard: Yard, backend: str) -> None:
    """A consumer sleeping in its loop: enqueues from elsewhere go through meanwhile."""
    if backend != "sqlite":
        pytest.skip("SQLite's single writer is where a held transaction would show")
    yard.enqueue("s")
    lifecycle.complete(yard.store, [(claim(yard, "s"), None)], time.time())
    other = Yard(yard.url)
    register(other)
    sleeping, waits = threading.Event(), []

    def consume() -> None:
        stop = threading.Event()
        for _ in Feed(yard.store).follow(after=0, stop=stop):
            assert not yard.store._conn().in_transaction
            sleeping.set()
            time.sleep(1.5)
            stop.set()

    reader = threading.Thread(target=consume)
    reader.start()
    try:
        assert sleeping.wait(5)
        for _ in range(5):
            start = time.monotonic()
            other.enqueue("s")
            waits.append(time.monotonic() - start)
    finally:
        reader.join(timeout=10)
        other.close()
    assert max(waits) < 0.5


@pytest.mark.parametrize(("after", "limit"), [(2**63, 10), (-1, 10), (1.5, 10), (0, 0), (0, 10**9)])
def test_a_cursor_out_of_range_is_a_clear_error(yard: Yard, after: Any, limit: Any) -> None:
    with pytest.raises(InvalidInput, match=r"invalid (cursor|limit)"):
        Feed(yard.store).read(after, limit)
