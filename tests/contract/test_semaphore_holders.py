"""Semaphores held by a jobset (``holder = "jobset"``) and held around a single call
(``job.semaphore``, port verbs ``semaphore`` / ``semaphore_release``), on every backend:
what the claim's admission step lets through, what a call is granted, what
``jobyard semaphores`` and a waiting job show, and that every way a run ends frees its
call holds (exit, failure, cancel, lease rescue) with a wake-up."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from tests.contract.test_worker_runs import most_at_once

from jobyard import Yard, lifecycle, manage
from jobyard.errors import LeaseLost
from jobyard.views.semaphores import job_detail, semaphores
from jobyard.worker.execute import Outcome
from jobyard.worker.local import LocalPort
from jobyard.worker.port import ClaimRequest

TYPES = ["deploy", "plain", "hold", "reader"]


@pytest.fixture
def y(store_url: str) -> Iterator[Yard]:
    yard = Yard(store_url)
    yard.semaphore("deploy", count=1, holder="jobset")
    yard.semaphore("rw", count=2, holder="jobset")
    yard.semaphore("db", count=1)
    yard.semaphore("files", count=3)
    yard.job(name="deploy", semaphores=["deploy"])(lambda job: None)
    yard.job(name="plain")(lambda job: None)
    yard.job(name="hold", semaphores=["db"])(lambda job: None)
    yard.job(name="reader", semaphores=["files:read"])(lambda job: None)
    try:
        yield yard
    finally:
        yard.close()


def _claim(yard: Yard, limit: int = 10) -> list[int]:
    return [j.id for j in LocalPort(yard).claim(ClaimRequest("w", ["default"], TYPES, limit, 60.0))]


def _done(yard: Yard, ids: list[int]) -> None:
    lifecycle.complete(yard.store, [(yard.get(i).job, None) for i in ids], time.time())


def _row(yard: Yard, name: str) -> dict[str, object]:
    (row,) = [r for r in semaphores(yard) if r["key"] == f"semaphore:{name}"]
    return row


def _hold_rows(yard: Yard) -> int:
    """Rows in semaphore_holds, live or not (call_holds() shows only the live ones)."""
    sql = "SELECT count(*) FROM semaphore_holds"
    if yard.url.startswith("sqlite"):
        conn = sqlite3.connect(yard.url.removeprefix("sqlite:///"))
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    with psycopg.connect(yard.url) as pg:
        row = pg.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


class Caller:
    """A running job asking for call holds through the worker port, as job.semaphore does."""

    def __init__(self, yard: Yard, job_id: int) -> None:
        self.yard, self.port = yard, LocalPort(yard)
        self.job = yard.get(job_id).job
        self.token = uuid.uuid4().hex

    def ask(self, need: str = "db", token: str | None = None) -> bool:
        return self.port.semaphore(self.job.id, self.job.run_id, token or self.token, need)

    def release(self) -> None:
        self.port.semaphore_release(self.job.id, self.job.run_id, [self.token])


def _running_plain(yard: Yard, n: int = 1) -> list[Caller]:
    ids = [yard.enqueue("plain").id for _ in range(n)]
    assert sorted(_claim(yard, n)) == ids
    return [Caller(yard, i) for i in ids]


# -- held by the jobset -----------------------------------------------------------------------


def test_a_jobset_holder_serialises_whole_jobsets(y: Yard) -> None:
    a, b = y.create_jobset("deploy", "a"), y.create_jobset("deploy", "b")
    a1, a2 = (y.enqueue("deploy", jobset=a).id for _ in range(2))
    b1, b2 = (y.enqueue("deploy", jobset=b).id for _ in range(2))
    alone = y.enqueue("deploy").id  # no jobset: its own holder
    assert _claim(y) == [a1, a2]  # both of A at once, in A's one slot
    assert job_detail(y, y.get(b1).job)["waiting"] == (
        f"semaphore deploy (1/1 held by jobset {a} (jobs {a1}, {a2}))"
    )
    row = _row(y, "deploy")
    assert row["holder"] == "jobset" and row["held"] == 1
    assert row["holders"] == [
        {"job": a1, "mode": "slot", "jobset": a},
        {"job": a2, "mode": "slot", "jobset": a},
    ]
    assert row["waiters"] == [b1, b2, alone]
    a3 = y.enqueue("deploy", jobset=a).id  # a late job of A starts inside A's slot
    assert _claim(y) == [a3]
    _done(y, [a1, a2])
    assert _claim(y) == []  # A still has a3 running
    _done(y, [a3])
    assert _claim(y) == [b1, b2]
    assert job_detail(y, y.get(alone).job)["waiting"] == (
        f"semaphore deploy (1/1 held by jobset {b} (jobs {b1}, {b2}))"
    )
    lifecycle.fail(y.store, y.get(b1).job, "boom", time.time(), fatal=True)
    assert _claim(y) == []  # a failure frees nothing while b2 runs
    _done(y, [b2])
    assert _claim(y) == [alone]


def test_read_and_write_keep_their_meaning_per_holder(y: Yard) -> None:
    a, b, c = (y.create_jobset("rw", n) for n in "abc")
    w_a = y.enqueue("plain", jobset=a, semaphores=["rw:write"]).id
    r_b = y.enqueue("plain", jobset=b, semaphores=["rw:read"]).id
    r_a = y.enqueue("plain", jobset=a, semaphores=["rw:read"]).id
    # A writes: it excludes every other holder; its own reader joins its slots.
    assert _claim(y) == [w_a, r_a]
    assert _row(y, "rw")["held"] == 2
    assert job_detail(y, y.get(r_b).job)["waiting"].startswith("semaphore rw (2/2 held by jobset")
    _done(y, [w_a])
    assert _claim(y) == [r_b]  # A holds one read slot now, B takes the other
    w_c = y.enqueue("plain", jobset=c, semaphores=["rw:write"]).id
    assert _claim(y) == []
    _done(y, [r_a])
    assert _claim(y) == []  # B still reads
    _done(y, [r_b])
    assert _claim(y) == [w_c]


# -- held around a call -----------------------------------------------------------------------


def test_a_call_hold_blocks_a_claim_and_frees_on_release(y: Yard) -> None:
    (caller,) = _running_plain(y)
    assert caller.ask("db") is True
    assert caller.ask("db") is True  # asking again with its token: the same hold
    waiter = y.enqueue("hold").id
    assert _claim(y) == []
    assert job_detail(y, y.get(waiter).job)["waiting"] == (
        f"semaphore db (1/1 held by job {caller.job.id} (call))"
    )
    row = _row(y, "db")
    assert row["held"] == 1 and row["waiters"] == [waiter]
    assert row["holders"] == [{"job": caller.job.id, "mode": "slot", "jobset": None, "call": True}]
    listener = LocalPort(y).waiter([])
    try:
        time.sleep(0.05)
        caller.release()
        started = time.monotonic()
        assert listener.wait(5.0)  # the release woke the waiters
        assert time.monotonic() - started < 2.0
    finally:
        listener.close()
    assert y.store.call_holds() == [] and _hold_rows(y) == 0
    assert _claim(y) == [waiter]


def test_a_claimed_slot_blocks_a_call_and_its_own_job_takes_it_again(y: Yard) -> None:
    holder = y.enqueue("hold").id
    assert _claim(y) == [holder]
    (caller,) = _running_plain(y)
    assert caller.ask("db") is False  # waits: its row says so
    row = _row(y, "db")
    assert row["call_waiters"] == [{"job": caller.job.id, "mode": "slot"}]
    # the job holding db by its claim asks for it around a call: no cost, granted at once
    assert Caller(y, holder).ask("db") is True
    assert _row(y, "db")["held"] == 1
    _done(y, [holder])
    assert caller.ask("db") is True
    assert [h.job for h in y.store.call_holds() if h.granted] == [caller.job.id]


def test_call_modes_and_a_waiting_call_writer_goes_first(y: Yard) -> None:
    one, two, writer = _running_plain(y, 3)
    assert one.ask("files:read") and two.ask("files:read")
    assert writer.ask("files:write") is False
    reader = y.enqueue("reader").id
    assert _claim(y) == []  # room for a reader, but a call waits to write first
    assert job_detail(y, y.get(reader).job)["waiting"] == (
        f"semaphore files (2/3 held by jobs {one.job.id} (call), {two.job.id} (call)), "
        f"job {writer.job.id} waits to write first"
    )
    late = _running_plain(y)[0]
    assert late.ask("files:read") is False  # a later call reader does not overtake it either
    one.release()
    assert writer.ask("files:write") is False
    two.release()
    assert writer.ask("files:write") is True
    assert late.ask("files:read") is False
    writer.release()
    assert late.ask("files:read") is True
    assert _claim(y) == [reader]


@pytest.mark.parametrize("end", ["complete", "fail", "cancel", "rescue"])
def test_a_call_hold_is_freed_when_its_run_ends(y: Yard, end: str) -> None:
    (caller,) = _running_plain(y)
    assert caller.ask("db") is True
    waiter = y.enqueue("hold").id
    assert _claim(y) == []
    job, now = caller.job, time.time()
    if end == "complete":
        LocalPort(y).record([(job, Outcome(True))])
    elif end == "fail":
        lifecycle.fail(y.store, job, "boom", now, fatal=True)
    elif end == "cancel":
        y.cancel([job.id])
    else:  # its worker was killed: the lease runs out and any live process rescues it
        assert manage.rescue_expired(y.store, now + 3600, quarantine_after=50) == 1
        assert y.get(job.id).status == "ready"
    requeued = [job.id] if end == "rescue" else []  # it runs again, as a new run
    assert _claim(y) == [*requeued, waiter]
    assert y.store.call_holds() == []  # it counts for nothing once its run ended
    if end in ("cancel", "rescue"):  # and its row went with the run (a wake-up went out)
        assert _hold_rows(y) == 0
    with pytest.raises(LeaseLost):
        caller.ask("db")  # its run is over: nothing more for it


def test_claims_and_calls_never_overfill_across_threads(store_url: str) -> None:
    """Three claimers of jobs naming db and two handlers taking db around calls, at once:
    the spans each recorded while it held a slot (inside the real hold: after the grant,
    before the release) never overlap more than db's count."""
    yards = [Yard(store_url) for _ in range(3)]
    for yard in yards:
        yard.semaphore("db", count=2)
        yard.job(name="hold", semaphores=["db"])(lambda job: None)
        yard.job(name="plain")(lambda job: None)
    spans: list[tuple[float, float]] = []
    guard = threading.Lock()

    def claimer(yard: Yard) -> None:
        port = LocalPort(yard)
        while yard.count(status=("ready", "running"), type="hold"):
            got = port.claim(ClaimRequest("w", ["default"], ["hold"], 2, 60.0))
            start = time.monotonic()
            time.sleep(0.003)
            with guard:
                spans.extend((start, time.monotonic()) for _ in got)
            lifecycle.complete(yard.store, [(j, None) for j in got], time.time())

    def caller(yard: Yard, job_id: int) -> None:
        c = Caller(yard, job_id)
        for _ in range(15):
            token = uuid.uuid4().hex
            while not c.ask("db", token):
                time.sleep(0.002)
            start = time.monotonic()
            time.sleep(0.003)
            with guard:
                spans.append((start, time.monotonic()))
            c.port.semaphore_release(c.job.id, c.job.run_id, [token])

    try:
        yards[0].enqueue_many("hold", [None] * 40)
        plain = [yards[0].enqueue("plain", queue="calls").id for _ in range(2)]
        got = LocalPort(yards[0]).claim(ClaimRequest("c", ["calls"], ["plain"], 2, 600.0))
        assert sorted(j.id for j in got) == plain
        threads = [threading.Thread(target=claimer, args=(y,)) for y in yards]
        threads += [
            threading.Thread(target=caller, args=(yards[i + 1], job_id))
            for i, job_id in enumerate(plain)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert yards[0].count(status="completed", type="hold") == 40
        assert len(spans) == 40 + 30
        assert most_at_once(spans) == 2  # reached, never passed
    finally:
        for yard in yards:
            yard.close()


def test_gated_jobs_are_claimed_only_to_start_at_once(y: Yard) -> None:
    """A claimed job holds its slots from the claim on: a worker asking for prefetch gets
    jobs naming semaphores only among those it starts at once (``start_now``), so none
    holds a slot in a prefetch queue behind handlers waiting in ``job.semaphore``."""
    from jobyard.worker import wire

    plain = [y.enqueue("plain").id for _ in range(3)]
    gated = y.enqueue("hold").id
    port = LocalPort(y)

    def claim(start_now: int | None) -> list[int]:
        request = ClaimRequest("w", ["default"], TYPES, 10, 60.0, start_now=start_now)
        request = wire.claim_in(wire.claim_out(request))  # as a remote worker sends it
        assert request.start_now == start_now
        return [j.id for j in port.claim(request)]

    assert claim(2) == plain  # the gated job comes 4th: it would wait, holding db
    assert y.get(gated).status == "ready"
    first = y.enqueue("hold", priority="high").id
    assert claim(1) == [first]  # first in claim order: it starts at once
    _done(y, [first])
    assert claim(0) == []
    assert claim(None) == [gated]
