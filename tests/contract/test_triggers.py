"""Lifecycle events as triggers: job.completed / job.failed / job.cancelled (and :TYPE)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from tests.helpers import until

from jobyard import Retry, Yard, events, lifecycle, manage
from jobyard.events import MAX_DEPTH, FinishHook, list_events
from jobyard.joblog import read_log
from jobyard.model import Job

_runs = itertools.count()


def claim(yard: Yard, type_name: str, lease: float = 30.0) -> Job:
    """Take the oldest ready job of a type, as a worker would."""
    now = time.time()
    jobs = yard.store.claim("w", f"run{next(_runs)}", ["default"], [type_name], 1, now, now + lease)
    assert jobs, f"no ready {type_name} job"
    return jobs[0]


def types(yard: Yard, **on: list[str]) -> None:
    """Python types (handlers unused: jobs are claimed and finished by hand here)."""
    for name, listens in on.items():
        yard.job(name=name, on=listens)(lambda job, **data: None)


def test_nobody_listening_costs_no_event(yard: Yard, monkeypatch: pytest.MonkeyPatch) -> None:
    types(yard, work=[], other=["some.event"])

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("emit called with no listener")

    monkeypatch.setattr(events, "emit", refuse)
    for _ in range(3):
        yard.enqueue("work")
    lifecycle.complete(yard.store, [(claim(yard, "work"), 1)], time.time())
    assert lifecycle.fail(yard.store, claim(yard, "work"), "x", time.time(), fatal=True)
    yard.cancel(yard.matching(status="ready"))
    assert list_events(yard) == []
    assert yard.count() == 3


def test_when_backup_fails_run_alert(yard: Yard) -> None:
    types(yard, backup=[], other=[], alert=["job.failed:backup"])
    yard.sync_types()
    backup = yard.enqueue("backup", {"disk": "/dev/sda"}, retry=Retry(1, wait=0))
    other = yard.enqueue("other")
    now = time.time()
    # A failure with a retry left is not "failed for good": no event.
    assert lifecycle.fail(yard.store, claim(yard, "backup"), "disk full", now) == "ready"
    assert lifecycle.fail(yard.store, claim(yard, "other"), "nope", now, fatal=True) == "failed"
    assert yard.jobs(type="alert") == []
    assert lifecycle.fail(yard.store, claim(yard, "backup"), "disk full", now) == "failed"
    (alert,) = yard.jobs(type="alert")
    assert alert.data == {"id": backup.id, "type": "backup", "error": "disk full"}
    assert alert.props == {"event": "job.failed:backup", "depth": 1}
    (event,) = list_events(yard)
    assert (event.name, event.source_job, event.jobs) == (
        "job.failed:backup",
        backup.id,
        [alert.id],
    )
    assert other.id not in [e.source_job for e in list_events(yard)]


def test_completed_generic_and_typed_listeners(yard: Yard) -> None:
    types(yard, add=[], other=[], audit=["job.completed"], after_add=["job.completed:add"])
    add = yard.enqueue("add")
    other = yard.enqueue("other")
    lifecycle.complete(yard.store, [(claim(yard, "add"), {"sum": 5})], time.time())
    lifecycle.complete(yard.store, [(claim(yard, "other"), None)], time.time())
    audits = sorted(yard.jobs(type="audit"), key=lambda j: j.id)
    assert [a.data for a in audits] == [
        {"id": add.id, "type": "add", "result": {"sum": 5}},
        {"id": other.id, "type": "other", "result": None},
    ]
    (after,) = yard.jobs(type="after_add")
    assert after.data == {"id": add.id, "type": "add", "result": {"sum": 5}}
    names = sorted(e.name for e in list_events(yard))
    assert names == ["job.completed", "job.completed", "job.completed:add"]


def test_a_repeating_or_depended_on_job_completing_also_emits(yard: Yard) -> None:
    types(yard, step=[], audit=["job.completed"])
    first = yard.enqueue("step")
    yard.enqueue("step", depends=[first])  # so the first one takes the "involved" path
    lifecycle.complete(yard.store, [(claim(yard, "step"), 1)], time.time())
    (audit,) = yard.jobs(type="audit")
    assert audit.data == {"id": first.id, "type": "step", "result": 1}


def test_cancel_emits_for_the_job_and_its_cancelled_dependents(yard: Yard) -> None:
    types(yard, build=[], deploy=[], watch=["job.cancelled"])
    build = yard.enqueue("build")
    deploy = yard.enqueue("deploy", depends=[build])
    assert yard.cancel(build.id) == [build.id]
    watched = sorted(j.data["id"] for j in yard.jobs(type="watch"))
    assert watched == sorted([build.id, deploy.id])
    assert all(set(j.data) == {"id", "type"} for j in yard.jobs(type="watch"))


def test_quarantined_job_emits_failed(yard: Yard) -> None:
    types(yard, crashy=[], alert=["job.failed:crashy"])
    crashy = yard.enqueue("crashy")
    claim(yard, "crashy", lease=-1)  # its worker died: the lease is already over
    assert manage.rescue_expired(yard.store, time.time(), quarantine_after=1) == 1
    (alert,) = yard.jobs(type="alert")
    assert alert.data["id"] == crashy.id and "quarantined" in alert.data["error"]


def test_a_trigger_that_fails_on_failures_is_bounded(yard: Yard) -> None:
    types(yard, boom=[], fixer=["job.failed"])
    yard.enqueue("boom")
    lifecycle.fail(yard.store, claim(yard, "boom"), "first", time.time(), fatal=True)
    for _ in range(MAX_DEPTH + 5):  # every fixer fails too: job.failed → fixer → ...
        ready = yard.jobs(type="fixer", status="ready")
        if not ready:
            break
        lifecycle.fail(yard.store, claim(yard, "fixer"), "again", time.time(), fatal=True)
    fixers = sorted(yard.jobs(type="fixer", limit=None), key=lambda j: j.id)
    assert len(fixers) == MAX_DEPTH
    assert [f.props["depth"] for f in fixers] == list(range(1, MAX_DEPTH + 1))
    assert all(f.status == "failed" for f in fixers)  # the refused emit undid nothing
    messages = [e["message"] for e in read_log(yard.store, fixers[-1].id)]
    assert any("Event not emitted" in m and "reached the limit" in m for m in messages)


def test_listened_names_follow_the_stored_types_cache(yard: Yard) -> None:
    types(yard, work=[])
    (hook,) = yard.store.finished_hooks
    assert isinstance(hook, FinishHook)
    assert hook.names() == frozenset()
    meta = yard.store.encode_json({"on": ["job.completed:work"]})
    row = {"name": "notify", "kind": "script", "enabled": 1, "now": time.time(), "meta": meta}
    yard.store.execute("upsert_type", row)  # another process adds a listener ...
    assert hook.names() == frozenset()  # ... unseen until the cache renews (a few seconds)
    yard.stored_types(refresh=True)
    assert hook.names() == {"job.completed:work"}
    work = yard.enqueue("work")
    lifecycle.complete(yard.store, [(claim(yard, "work"), "ok")], time.time())
    (notify,) = yard.jobs(type="notify")
    assert notify.data == {"id": work.id, "type": "work", "result": "ok"}
    yard.store.execute("set_type_enabled", {"name": "notify", "enabled": 0, "now": time.time()})
    yard.stored_types(refresh=True)
    assert hook.names() == frozenset()  # a disabled type listens to nothing


def test_worker_runs_the_alert_when_backup_fails(yard: Yard) -> None:
    alerts: list[dict[str, Any]] = []

    @yard.job
    def backup(job):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    @yard.job(on=["job.failed:backup"])
    def alert(job, **data):  # type: ignore[no-untyped-def]
        alerts.append(data)

    failed = yard.enqueue("backup")
    w = yard.worker(concurrency=2).start()
    try:
        until(lambda: alerts, timeout=10)
    finally:
        w.stop()
    assert alerts == [{"id": failed.id, "type": "backup", "error": "RuntimeError: disk full"}]
