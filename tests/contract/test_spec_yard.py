"""The spec builder behind every Yard entry point, on every backend: enqueue, enqueue_many
and rerun refuse option names they do not know, listing the known ones, before writing."""

from __future__ import annotations

import time

import pytest
from tests.helpers import until

from jobyard import InvalidInput, Yard, types
from jobyard.errors import TypeDisabled
from jobyard.feed import Feed
from jobyard.scripts.meta import set_enabled
from jobyard.spec import OPTIONS


def known() -> str:
    return ", ".join(sorted(OPTIONS))


def test_enqueue_and_enqueue_many_refuse_unknown_options(yard: Yard) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(InvalidInput, match=f"unknown enqueue option\\(s\\) qeue; known: {known()}"):
        yard.enqueue("noop", qeue="x")
    with pytest.raises(InvalidInput, match="unknown enqueue option\\(s\\) prio"):
        yard.enqueue_many("noop", [1, 2], prio=1)
    assert yard.count() == 0


def test_rerun_refuses_options_it_would_ignore(yard: Yard) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    h = noop.defer()
    w = yard.worker().start()
    try:
        h.wait(timeout=20)
    finally:
        w.stop()
    with pytest.raises(InvalidInput, match=r"unknown rerun option\(s\) queue; known: repeat"):
        yard.rerun(h.id, queue="elsewhere")  # was silently ignored: the copy kept its queue
    assert yard.count() == 1
    again = yard.rerun(h.id, repeat=1)
    assert again.job.repeats == 1 and yard.count() == 2


def test_enqueues_of_the_default_spec_share_a_template_but_not_their_times_or_data(
    yard: Yard,
) -> None:
    """``enqueue`` without options reuses one row template per type (the hot path): each
    job still gets its own data, created and due times, status and job.created event."""

    @yard.job
    def noop(job, x=None):  # type: ignore[no-untyped-def]
        return None

    handles = []
    for i in range(3):
        handles.append(yard.enqueue("noop", {"x": i}))
        time.sleep(0.005)
    jobs = [h.job for h in handles]
    assert [j.data for j in jobs] == [{"x": 0}, {"x": 1}, {"x": 2}]
    assert len({j.id for j in jobs}) == 3
    assert jobs[0].created < jobs[1].created < jobs[2].created
    assert all(j.after == j.created and j.updated == j.created for j in jobs)
    assert all(j.status == "ready" and j.queue == "default" for j in jobs)
    # an enqueue with options in between is built afresh and leaves the template alone
    other = yard.enqueue("noop", {"x": 9}, queue="q2", priority=3, delay=60)
    assert (other.job.queue, other.job.priority, other.job.status) == ("q2", 3, "waiting")
    after = yard.enqueue("noop", None).job
    assert (after.queue, after.priority, after.status, after.data) == ("default", 0, "ready", None)
    created = {h.id for h in handles} | {other.id, after.id}

    def seen() -> set[int]:  # PostgreSQL shows events once older transactions ended
        return {e.job_id for e in Feed(yard.store).read(limit=100, kinds=["job.created"])[0]}

    until(lambda: seen() == created)


def test_a_long_lived_yard_sees_its_type_disabled_elsewhere_and_registered_again(
    yard: Yard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default spec is cached, but not past the stored types' cache time: a web
    process enqueueing a type an operator disabled meanwhile is refused, not served a
    stale spec; a type registered again in the process takes over at once."""
    monkeypatch.setattr(types, "TYPES_TTL", 0.2)

    @yard.job(queue="a")
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    yard.sync_types()
    assert yard.enqueue("noop").job.queue == "a"  # the spec is cached now
    other = Yard(yard.store.url)
    try:
        set_enabled(other, "noop", False)
    finally:
        other.close()
    time.sleep(0.3)
    with pytest.raises(TypeDisabled):
        yard.enqueue("noop")
    assert yard.count() == 1
    set_enabled(yard, "noop", True)

    @yard.job(name="noop", queue="b")
    def noop_again(job):  # type: ignore[no-untyped-def]
        return None

    assert yard.enqueue("noop").job.queue == "b"
