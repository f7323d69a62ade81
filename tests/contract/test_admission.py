"""The claim's admission step (jobyard.admission) on every backend: a type's ``limit`` holds
across workers, types without one are unaffected (and take the fast path), a mutex script
type is a limit of 1 that skips."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jobyard import Yard, lifecycle
from jobyard.admission import Limit, Rules
from jobyard.errors import InvalidInput
from jobyard.worker.local import LocalPort
from jobyard.worker.port import ClaimRequest


def _types(yard: Yard, *names: str) -> None:
    for name in names:
        yard.job(name=name)(lambda job: None)


def _request(worker: str, types: list[str], limit: int, **limits: Limit) -> ClaimRequest:
    return ClaimRequest(worker, ["default", "other"], types, limit, 60.0, limits=limits)


@pytest.fixture
def yards(store_url: str) -> Iterator[list[Yard]]:
    """Three yards on one database, as three worker processes would have."""
    made = [Yard(store_url) for _ in range(3)]
    try:
        yield made
    finally:
        for y in made:
            y.close()


def test_a_limit_holds_across_three_claimers(yards: list[Yard]) -> None:
    first = yards[0]
    _types(first, "x", "y")
    first.enqueue_many("x", list(range(40)))
    first.enqueue_many("y", list(range(20)), queue="other")
    seen: list[int] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def work(yard: Yard, name: str) -> None:
        port = LocalPort(yard)
        try:
            while yard.count(status=("ready", "running"), type="x"):
                jobs = port.claim(_request(name, ["x", "y"], 4, x=Limit(3)))
                # Read from the store right after the claim committed, not from timing.
                with guard:
                    seen.append(yard.count(status="running", type="x"))
                time.sleep(0.003)
                if jobs:
                    lifecycle.complete(yard.store, [(j, None) for j in jobs], time.time())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            yard.store.close()

    threads = [threading.Thread(target=work, args=(y, f"w{i}")) for i, y in enumerate(yards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert seen and max(seen) <= 3
    assert 3 in seen  # the limit is used, not just respected
    assert first.count(status="completed", type="x") == 40
    assert first.count(status="completed", type="y") == 20  # no-limit type: all ran too


def test_a_full_type_neither_blocks_nor_slows_the_others(yard: Yard) -> None:
    store = yard.store
    _types(yard, "x", "y")
    yard.enqueue_many("x", list(range(50)), priority="critical")  # a backlog ahead of y
    yard.enqueue_many("y", list(range(10)))
    now = time.time()
    rules = Rules.for_types({"x": Limit(2)})
    got = store.claim_admitted("w", "r1", ["default"], ["x", "y"], 6, now, now + 60, rules)
    assert [j.type for j in got.jobs] == ["x", "x", "y", "y", "y", "y"] and got.refused == []
    again = store.claim_admitted("w", "r2", ["default"], ["x", "y"], 6, now, now + 60, rules)
    assert [j.type for j in again.jobs] == ["y"] * 6  # x is full: it waits, ready
    assert yard.count(status="ready", type="x") == 48
    assert yard.count(status="running", type="y") == 10  # y has no limit: all at once


def test_a_mutex_is_a_limit_of_one_that_skips(yard: Yard) -> None:
    _types(yard, "m")
    yard.enqueue_many("m", list(range(3)))
    port = LocalPort(yard)
    mutex = Limit(1, "skip")
    (a,) = port.claim(_request("w1", ["m"], 1, m=mutex))
    assert port.claim(_request("w2", ["m"], 5, m=mutex)) == []
    skipped = [j for j in yard.jobs(type="m") if j.id != a.id]
    assert {j.status for j in skipped} == {"cancelled"} and {j.attempts for j in skipped} == {0}
    for j in skipped:
        (line,) = [e for e in yard.store.get_log(j.id) if e["message"].startswith("skipped")]
        assert line["message"].startswith(f"skipped: m is a mutex type and job {a.id} is still")
        assert line["level"] == "warning" and line["data"] == {"skipped": True, "busy": a.id}
    lifecycle.complete(yard.store, [(a, None)], time.time())
    yard.enqueue("m")
    assert len(port.claim(_request("w2", ["m"], 5, m=mutex))) == 1  # free again


def _statements(store: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    run = store._run

    def counting(conn: Any, sql: str, params: Any) -> Any:
        seen.append(sql)
        return run(conn, sql, params)

    monkeypatch.setattr(store, "_run", counting)
    return seen


def test_without_limits_the_claim_takes_the_fast_path(
    yard: Yard, monkeypatch: pytest.MonkeyPatch
) -> None:
    _types(yard, "x", "y")
    yard.enqueue_many("y", list(range(5)))
    yard.enqueue("x")
    port = LocalPort(yard)
    store = yard.store
    store.get_jobs([1])  # connected and migrated before counting
    yard.semaphores.effective()  # read once, then cached (none are defined)
    seen = _statements(store, monkeypatch)
    jobs = port.claim(_request("w", ["y", "x"], 3))
    assert len(jobs) == 3
    admission_sql = {store._queries[n] for n in ("admit_candidates", "running_by_type")}
    assert not admission_sql & set(seen)
    if store.dialect == "postgres":
        assert len(seen) == 1  # the one-statement claim
    # A limit on a type of the request: the admission path, and only then.
    seen.clear()
    assert len(port.claim(_request("w", ["y", "x"], 1, x=Limit(1)))) == 1
    assert admission_sql <= set(seen)


def test_a_job_type_limit_is_validated_and_offered_to_admission() -> None:
    yard = Yard("sqlite://:memory:")
    try:
        limited = yard.job(name="lim", limit=2)(lambda job: None)
        free = yard.job(name="free")(lambda job: None)
        assert limited.admission_limit() == Limit(2) and free.admission_limit() is None
        for bad in (0, -1, True, 2.5, "3"):
            with pytest.raises(InvalidInput, match="limit must be a whole number"):
                yard.job(name="bad", limit=bad)(lambda job: None)
        worker = yard.worker(name="w", handle_signals=False)
        request = worker._claim_request(4)
        assert dict(request.limits) == {"lim": Limit(2)}
    finally:
        yard.close()
