"""Semaphores, site caps and the global cap in the claim's admission step, on every
backend: counts hold across claimers, read/write modes, jobset scope, what a waiting job
shows, wake-ups on release, and bad input refused with one clear line."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobyard import Yard, lifecycle
from jobyard.config import load_config
from jobyard.errors import ConfigError, InvalidInput
from jobyard.views.semaphores import job_detail, semaphores
from jobyard.worker.local import LocalPort
from jobyard.worker.port import ClaimRequest

TYPES = ["hold", "reader", "writer", "plain"]


def _setup(yard: Yard) -> None:
    yard.semaphore("db", count=2)
    yard.semaphore("rw", count=3)
    yard.semaphore("batch", count=1, scope="jobset")
    yard.job(name="hold", semaphores=["db"])(lambda job: None)
    yard.job(name="reader", semaphores=["rw:read"])(lambda job: None)
    yard.job(name="writer", semaphores="rw:write")(lambda job: None)
    yard.job(name="plain")(lambda job: None)


def _claim(yard: Yard, limit: int = 10, queues: tuple[str, ...] = ("default",)) -> list[int]:
    request = ClaimRequest("w", list(queues), TYPES, limit, 60.0)
    return [j.id for j in LocalPort(yard).claim(request)]


def _done(yard: Yard, ids: list[int]) -> None:
    jobs = [yard.get(i).job for i in ids]
    lifecycle.complete(yard.store, [(j, None) for j in jobs], time.time())


@pytest.fixture
def yards(store_url: str) -> Iterator[list[Yard]]:
    made = [Yard(store_url) for _ in range(3)]
    for y in made:
        _setup(y)
    try:
        yield made
    finally:
        for y in made:
            y.close()


def test_a_count_holds_across_three_claimers(yards: list[Yard]) -> None:
    yards[0].enqueue_many("hold", [None] * 30)
    yards[0].enqueue_many("plain", [None] * 10)
    seen: list[int] = []
    guard = threading.Lock()

    def work(yard: Yard) -> None:
        while yard.count(status=("ready", "running"), type="hold"):
            ids = _claim(yard, 4)
            with guard:
                seen.append(yard.count(status="running", type="hold"))
            time.sleep(0.003)
            if ids:
                _done(yard, ids)

    threads = [threading.Thread(target=work, args=(y,)) for y in yards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert yards[0].count(status="completed") == 40
    assert max(seen) == 2  # reached, never passed


def test_a_writer_waits_for_the_readers_and_holds_back_later_ones(yards: list[Yard]) -> None:
    y = yards[0]
    r1, r2, w, r3 = (y.enqueue(t).id for t in ("reader", "reader", "writer", "reader"))
    assert _claim(y) == [r1, r2]  # r3 stays behind the waiting writer
    assert job_detail(y, y.get(w).job)["waiting"] == "semaphore rw (2/3 held by jobs 1, 2)"
    _done(y, [r1])
    assert _claim(y) == []
    _done(y, [r2])
    assert _claim(y) == [w]
    assert job_detail(y, y.get(r3).job)["waiting"] == "semaphore rw (3/3 held by job 3)"
    (row,) = [r for r in semaphores(y) if r["name"] == "rw"]
    assert row["held"] == 3 and row["holders"] == [{"job": w, "mode": "write", "jobset": None}]
    assert row["waiters"] == [r3]
    _done(y, [w])
    assert _claim(y) == [r3]


def test_a_jobset_scope_counts_per_jobset(yards: list[Yard]) -> None:
    y = yards[0]
    a, b = y.create_jobset("t", "a"), y.create_jobset("t", "b")
    ids = [y.enqueue("plain", jobset=js, semaphores=["batch"]).id for js in (a, a, b, b)]
    assert _claim(y) == [ids[0], ids[2]]
    assert job_detail(y, y.get(ids[1]).job)["waiting"] == (
        f"semaphore batch of jobset {a} (1/1 held by job {ids[0]})"
    )
    _done(y, [ids[0]])
    assert _claim(y) == [ids[1]]


def test_site_caps_per_site_and_per_jobset(yards: list[Yard]) -> None:
    y = yards[0]
    js = y.create_jobset("batch", "x")
    s1 = [y.enqueue("plain", site="s1", site_max_jobs=1).id for _ in range(3)]
    s2 = [y.enqueue("plain", site="s2", jobset=js, site_cap=2).id for _ in range(3)]
    free = y.enqueue("plain").id
    assert sorted(_claim(yards[1])) == sorted([s1[0], s2[0], s2[1], free])
    assert job_detail(y, y.get(s1[1]).job)["waiting"] == f"site s1 (1/1 held by job {s1[0]})"
    assert y.get(s2[2]).job.semaphores == ["@site/jobset=2"]
    with pytest.raises(InvalidInput, match="need a site"):
        y.enqueue("plain", site_cap=2)


def test_the_global_cap_counts_every_running_job(store_url: str) -> None:
    y = Yard(store_url, max_active=3)
    try:
        _setup(y)
        y.enqueue_many("plain", [None] * 5)
        y.enqueue_many("hold", [None] * 2, queue="other")
        first = _claim(y, 10, ("default", "other"))
        assert len(first) == 3
        waiting = [j for j in y.jobs(status="ready") if j.id not in first]
        assert job_detail(y, waiting[0])["waiting"] == (
            "the global cap max_active (3/3 jobs running)"
        )
        _done(y, first[:1])
        assert len(_claim(y, 10, ("default", "other"))) == 1
    finally:
        y.close()


def test_a_release_wakes_a_waiter_of_another_queue(yards: list[Yard]) -> None:
    y, other = yards[0], yards[1]
    holder = y.enqueue("hold", queue="a").id
    y.enqueue("hold", queue="a")
    waiter_job = y.enqueue("hold", queue="b").id
    assert len(_claim(y, 10, ("a",))) == 2
    assert _claim(other, 10, ("b",)) == []
    waiter = LocalPort(other).waiter(["b"])
    try:
        time.sleep(0.05)
        port = LocalPort(y)
        from jobyard.worker.execute import Outcome

        port.record([(y.get(holder).job, Outcome(True, None))])
        started = time.monotonic()
        assert waiter.wait(5.0)
        assert time.monotonic() - started < 2.0
        assert _claim(other, 10, ("b",)) == [waiter_job]
    finally:
        waiter.close()


def test_bad_semaphores_are_refused_with_one_clear_line(yard: Yard, tmp_path: Path) -> None:
    yard.job(name="plain")(lambda job: None)
    with pytest.raises(InvalidInput, match="unknown semaphore 'nope'; define it with"):
        yard.enqueue("plain", semaphores=["nope"])
    with pytest.raises(InvalidInput, match="job type 'typed': unknown semaphore 'nope'"):
        yard.job(name="typed", semaphores=["nope"])(lambda job: None)
    assert "typed" not in yard.types
    with pytest.raises(InvalidInput, match="mode after ':' must be 'read' or 'write'"):
        yard.enqueue("plain", semaphores=["db:rread"])
    for count in (0, -1, 1.5, "2", True):
        with pytest.raises(InvalidInput, match="count must be a whole number >= 1"):
            yard.semaphore("db", count=count)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="scope must be 'global' or 'jobset'"):
        yard.semaphore("db", scope="site")
    for body, says in (
        ("[semaphores.db]\ncount = 0\n", r"\[semaphores.db\] count must be a whole number"),
        ('[semaphores.db]\ncount = "two"\n', r"\[semaphores.db\] count must be a whole number"),
        ("[semaphores.db]\ncont = 2\n", r"\[semaphores.db\] unknown key\(s\) cont"),
        ("[semaphores]\ndb = 2\n", r"\[semaphores.db\] must be a table"),
        ("[limits]\nmax_active = 0\n", r"\[limits\] max_active must be a whole number >= 1"),
    ):
        path = tmp_path / "jobyard.toml"
        path.write_text(body)
        with pytest.raises(ConfigError, match=says):
            load_config(str(path))
    # nothing half-made: the refused enqueues left no job behind
    assert yard.count() == 0
