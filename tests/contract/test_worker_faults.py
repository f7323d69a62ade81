"""Worker correctness under faults (issue #7 §3), on every backend.

Handlers that exit, outcomes that cannot be written, duplicate outcomes, timed-out threads,
lost leases: each must cost at most the job concerned, never the worker or other jobs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any

import pytest
from tests.helpers import until

from jobyard import Repeat, Yard, lifecycle
from jobyard.context import JobContext
from jobyard.model import Job
from jobyard.worker import registry

# -- 1. BaseException inside a handler ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_system_exit_fails_only_that_job(yard: Yard, kind: str) -> None:
    if kind == "sync":

        @yard.job
        def bad(job):  # type: ignore[no-untyped-def]
            sys.exit(2)  # e.g. argparse on bad input

    else:

        @yard.job(name="bad")
        async def bad_async(job):  # type: ignore[no-untyped-def]
            raise SystemExit(2)

    @yard.job
    def good(job):  # type: ignore[no-untyped-def]
        return "fine"

    w = yard.worker(concurrency=1).start()
    try:
        first = yard.enqueue("bad").wait(timeout=10)
        later = [yard.enqueue("good").wait(timeout=10) for _ in range(3)]
    finally:
        w.stop()
    assert first.status == "failed" and first.job.error == "SystemExit: 2"
    assert [h.status for h in later] == ["completed"] * 3
    assert [h.result for h in later] == ["fine"] * 3


def test_base_exception_in_batch_handler_fails_the_batch(yard: Yard) -> None:
    @yard.job(batch=2)
    def pair(jobs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    @yard.job
    def good(job):  # type: ignore[no-untyped-def]
        return 1

    w = yard.worker(concurrency=1).start()
    try:
        bad = yard.enqueue("pair").wait(timeout=10)
        later = yard.enqueue("good").wait(timeout=10)
    finally:
        w.stop()
    assert bad.status == "failed" and bad.job.error == "KeyboardInterrupt"
    assert later.status == "completed"


# -- 4. outcomes are matched by (job id, run id) -------------------------------------------------


def claim_one(yard: Yard, run_id: str = "run1") -> Job:
    now = time.time()
    jobs = yard.store.claim("w", run_id, ["default"], None, 1, now, now + 30)
    assert len(jobs) == 1
    return jobs[0]


def test_duplicate_outcome_in_a_batch_repeats_once(yard: Yard) -> None:
    @yard.job
    def tick(job):  # type: ignore[no-untyped-def]
        return None

    h = yard.enqueue("tick", repeat=Repeat(repeats=5, wait=60))
    job = claim_one(yard)
    done = lifecycle.complete(yard.store, [(job, None), (job, None), (job, None)], time.time())
    assert done == [h.id]
    nxt = [j for j in yard.jobs() if j.id != h.id]
    assert len(nxt) == 1 and nxt[0].repeated == 1  # one next run: the chain did not fork


def test_outcome_of_an_older_run_is_not_announced(yard: Yard) -> None:
    """The same job twice in a batch under two runs: only the current run counts."""

    @yard.job
    def tick(job):  # type: ignore[no-untyped-def]
        return None

    h = yard.enqueue("tick", repeat=Repeat(repeats=5, wait=60))
    job = claim_one(yard, "current")
    stale = Job(**{**job.__dict__, "run_id": "stale"})
    done = lifecycle.complete(yard.store, [(stale, "old"), (job, "new")], time.time())
    assert done == [h.id] and h.result == "new"
    assert len([j for j in yard.jobs() if j.id != h.id]) == 1


# -- 5. a timed-out sync job keeps its thread: later jobs must not pay for it ----------------------


def test_timed_out_thread_does_not_time_out_later_jobs(yard: Yard) -> None:
    @yard.job
    def stubborn(job):  # type: ignore[no-untyped-def]
        time.sleep(3)  # ignores its timeout: the thread stays busy

    @yard.job
    def quick(job, n):  # type: ignore[no-untyped-def]
        return n

    w = yard.worker(concurrency=1).start()
    try:
        slow = yard.enqueue("stubborn", timeout=0.5)
        until(lambda: slow.status == "running")
        time.sleep(0.1)
        quick_ones = [yard.enqueue("quick", {"n": i}, timeout=1) for i in range(3)]
        slow.wait(timeout=10)
        for h in quick_ones:
            h.wait(timeout=15)
    finally:
        w.stop()
    assert slow.status == "failed" and slow.job.error == "timed out after 0.5 s"
    assert [h.status for h in quick_ones] == ["completed"] * 3
    assert [h.result for h in quick_ones] == [0, 1, 2]


# -- leases on a healthy worker ------------------------------------------------------------------


def test_job_longer_than_its_lease_is_not_rescued(yard: Yard) -> None:
    runs: list[float] = []

    @yard.job
    def long(job):  # type: ignore[no-untyped-def]
        runs.append(time.time())
        time.sleep(3)
        return "done"

    workers = [yard.worker(name=f"w{i}", concurrency=2, lease=1).start() for i in range(2)]
    try:
        h = yard.enqueue("long").wait(timeout=20)
    finally:
        for w in workers:
            w.stop()
    assert h.status == "completed" and h.result == "done"
    assert len(runs) == 1 and h.job.interruptions == 0 and h.job.attempts == 1


# -- 2. outcomes waiting to be recorded keep their lease ---------------------------------------


def test_outcome_waiting_to_be_recorded_keeps_its_lease(
    yard: Yard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording is cut off for 3 leases while heartbeats work: the finished job must not
    be rescued (by this worker's own housekeeping) and run again."""
    runs: list[float] = []
    cut_until = [0.0]

    @yard.job
    def once(job):  # type: ignore[no-untyped-def]
        runs.append(time.time())
        cut_until[0] = time.monotonic() + 3

    w = yard.worker(concurrency=1, lease=1)
    real = w._record

    def flaky(batch: Any, claim: int = 0) -> Any:
        if time.monotonic() < cut_until[0]:
            raise ConnectionError("database out of reach")
        return real(batch, claim)

    monkeypatch.setattr(w, "_record", flaky)
    monkeypatch.setattr(w, "_reachable", lambda job: time.monotonic() >= cut_until[0], False)
    w.start()
    try:
        h = yard.enqueue("once").wait(timeout=15)
    finally:
        w.stop()
    assert h.status == "completed" and len(runs) == 1 and h.job.interruptions == 0


# -- 3. one outcome that cannot be written costs only its own job --------------------------------


def test_unwritable_outcome_fails_alone(yard: Yard, monkeypatch: pytest.MonkeyPatch) -> None:
    store = yard.store
    real = store.append_logs

    def picky(entries: Any) -> None:  # a per-row failure, like a NUL on PostgreSQL
        if any("POISON" in str(e.get("message")) for e in entries):
            raise RuntimeError("row rejected")
        real(entries)

    monkeypatch.setattr(store, "append_logs", picky)
    runs: list[int] = []

    @yard.job
    def work(job, n):  # type: ignore[no-untyped-def]
        runs.append(n)
        time.sleep(0.2)  # finish together: one batch to record
        if n == 0:
            raise ValueError("POISON")
        return n

    ids = [yard.enqueue("work", {"n": n}).id for n in range(4)]
    w = yard.worker(concurrency=4).start()
    try:
        handles = [yard.get(i).wait(timeout=15) for i in ids]
    finally:
        w.stop()
    bad, *good = handles
    assert bad.status == "failed"
    assert bad.job.error == "could not record outcome: RuntimeError: row rejected"
    assert [h.status for h in good] == ["completed"] * 3 and [h.result for h in good] == [1, 2, 3]
    assert sorted(runs) == [0, 1, 2, 3]  # nothing ran twice


def test_nul_in_an_error_does_not_sink_other_outcomes(yard: Yard) -> None:
    runs: list[int] = []

    @yard.job
    def work(job, n):  # type: ignore[no-untyped-def]
        runs.append(n)
        time.sleep(0.2)
        if n == 0:
            raise ValueError("bad\x00byte")  # PostgreSQL text cannot hold a NUL
        return n

    ids = [yard.enqueue("work", {"n": n}).id for n in range(4)]
    w = yard.worker(concurrency=4).start()
    try:
        handles = [yard.get(i).wait(timeout=15) for i in ids]
    finally:
        w.stop()
    bad, *good = handles
    assert bad.status == "failed"
    assert bad.job.error == "ValueError: bad\\x00byte"  # its real error, NUL escaped
    assert [h.status for h in good] == ["completed"] * 3
    assert sorted(runs) == [0, 1, 2, 3]


# -- 6. a worker cut off from the database gives up its jobs before they are rescued -------------


def renewal_fails(yard: Yard, monkeypatch: pytest.MonkeyPatch) -> None:
    store = yard.store
    real = store.execute

    def execute(name: str, params: Any = None) -> Any:
        if name == "extend_leases":
            raise ConnectionError("database out of reach")
        return real(name, params)

    monkeypatch.setattr(store, "execute", execute)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_worker_that_cannot_renew_abandons_its_jobs(
    yard: Yard, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    stopped: list[float] = []
    started = time.monotonic()
    if kind == "sync":

        @yard.job
        def long(job):  # type: ignore[no-untyped-def]
            while time.monotonic() - started < 3 and not job.cancelled:
                time.sleep(0.02)
            stopped.append(time.monotonic() - started)
            return "should be dropped"

    else:

        @yard.job(name="long")
        async def long_async(job):  # type: ignore[no-untyped-def]
            try:
                await asyncio.sleep(3)
            finally:
                stopped.append(time.monotonic() - started)
            return "should be dropped"

    @yard.job
    def quick(job):  # type: ignore[no-untyped-def]
        return "ok"

    renewal_fails(yard, monkeypatch)
    caplog.set_level(logging.WARNING, "jobyard.worker")
    w = yard.worker(concurrency=1, lease=1, housekeeping=False).start()
    try:
        h = yard.enqueue("long")
        started = time.monotonic()
        until(lambda: stopped, timeout=10)
        later = yard.enqueue("quick").wait(timeout=10)
    finally:
        w.stop()
    assert stopped[0] < 2  # stopped at about its lease, not run to its end (3 s)
    assert h.status == "running"  # its outcome was dropped: rescue decides what comes next
    assert later.status == "completed"
    assert any("abandoning it" in r.getMessage() for r in caplog.records)


def test_heartbeat_judges_only_the_runs_it_listed(yard: Yard) -> None:
    """Jobs claimed after the heartbeat listed its leases are not taken for cancelled."""

    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
        return None

    gone_h, yard_h = yard.enqueue("noop"), yard.enqueue("noop")
    listed = claim_one(yard, "listed")
    fresh = claim_one(yard, "fresh")
    yard.cancel(gone_h.id)  # the listed run is cancelled elsewhere meanwhile
    assert {listed.id, fresh.id} == {gone_h.id, yard_h.id}
    w = yard.worker(housekeeping=False)
    ctxs = {j.id: JobContext(yard, j, 30) for j in (listed, fresh)}
    w.running = {j.id: (j, ctxs[j.id], None) for j in (listed, fresh)}
    registry.beat(w, [listed])
    assert ctxs[listed.id].cancelled is True
    assert ctxs[fresh.id].cancelled is False  # claimed after the listing: not judged


def test_huge_or_unencodable_errors_are_recorded_as_their_own(yard: Yard) -> None:
    @yard.job
    def shout(job, kind):  # type: ignore[no-untyped-def]
        if kind == "huge":
            raise RuntimeError("x" * 2_000_000)
        raise RuntimeError("half a pair \ud800 here")

    huge = yard.enqueue("shout", {"kind": "huge"}, retries=0)
    lone = yard.enqueue("shout", {"kind": "surrogate"}, retries=0)
    w = yard.worker(concurrency=2).start()
    try:
        huge.wait(timeout=15)
        lone.wait(timeout=15)
    finally:
        w.stop()
    assert huge.status == "failed" and lone.status == "failed"
    assert huge.job.error.startswith("RuntimeError: xxxx")
    assert len(huge.job.error.encode()) <= 64 * 1024
    assert lone.job.error == "RuntimeError: half a pair \\ud800 here"
