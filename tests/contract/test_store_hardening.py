"""Store-level correctness under races and faults (issue #7 §3), on every backend: lease
rescue as a compare-and-set, a mutex enforced at admission, listeners of deleted types,
savepoints for nested transactions, per-transaction durability, driver errors."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import run_cli

from jobyard import Yard, events, lifecycle, manage
from jobyard.admission import Limit, Rules
from jobyard.errors import DatabaseError
from jobyard.scripts import load_script_types, set_enabled, sync_scripts
from jobyard.store.base import Result, Store, Update
from jobyard.worker import registry
from jobyard.worker.runner import Worker


def _claim_one(yard: Yard, lease: float = 30.0, now: float | None = None) -> Any:
    now = time.time() if now is None else now
    (job,) = yard.store.claim("w", "run", ["default"], None, 1, now, now + lease)
    return job


# -- 1. lease rescue re-checks the lease -------------------------------------------------------


def test_a_heartbeat_between_read_and_rescue_keeps_the_job(
    yard: Yard, monkeypatch: pytest.MonkeyPatch
) -> None:
    @yard.job
    def noop(job, **data):  # type: ignore[no-untyped-def]
        return None

    h = yard.enqueue("noop")
    job = _claim_one(yard, lease=-1)
    store = yard.store
    real = store.execute

    def execute(name: str, params: Any = None) -> Result:
        found = real(name, params)
        if name == "expired_leases":
            # The worker's heartbeat lands right after the rescuer read its candidates.
            real(
                "extend_leases",
                {"run_ids": store.list_param([job.run_id]), "lease_expires": time.time() + 60},
            )
        return found

    monkeypatch.setattr(store, "execute", execute)
    assert manage.rescue_expired(store, time.time(), quarantine_after=3) == 0
    after = h.refresh()
    assert after.status == "running" and after.run_id == job.run_id
    assert after.interruptions == 0


# -- 4. nested transactions are savepoints -----------------------------------------------------


def test_a_failed_nested_emit_leaves_none_of_its_jobs(
    yard: Yard, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("first", "second", "third"):
        yard.job(name=name, on=["ev"])(lambda job, **data: None)
    yard.job(name="outer")(lambda job, **data: None)
    real = yard.enqueue
    calls: list[str] = []

    def enqueue(type_name: str, data: Any = None, **options: Any) -> Any:
        calls.append(type_name)
        if len(calls) == 3:  # the emit's third listener: its first two jobs exist by now
            raise RuntimeError("listener broke")
        return real(type_name, data, **options)

    with yard.store.transaction():
        kept = real("outer")
        monkeypatch.setattr(yard, "enqueue", enqueue)
        with pytest.raises(RuntimeError, match="listener broke"):
            yard.emit("ev", {"n": 1})
        monkeypatch.setattr(yard, "enqueue", real)
        after = real("outer")
    assert calls == ["first", "second", "third"]
    assert sorted(j.id for j in yard.jobs()) == [kept.id, after.id]
    assert events.list_events(yard) == []


def test_a_failed_statement_in_a_nested_block_rolls_back_only_that_block(yard: Yard) -> None:
    store = yard.store
    yard.job(name="t")(lambda job: None)
    with store.transaction():
        first = yard.enqueue("t")
        with pytest.raises(DatabaseError, match="no_such_table"), store.transaction():
            yard.enqueue("t")
            store._execute("INSERT INTO no_such_table VALUES (1)", {})
        last = yard.enqueue("t")  # PostgreSQL: the transaction is usable again
    assert sorted(j.id for j in yard.jobs()) == [first.id, last.id]


# -- 5. only claims skip the wait for the disk (PostgreSQL) -----------------------------------


def _sync_commit(store: Store) -> str:
    return str(store._execute("SELECT current_setting('synchronous_commit')", {}).fetchone()[0])


def test_only_claim_transactions_commit_asynchronously(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    yard = Yard(pg_url)
    try:
        yard.job(name="noop")(lambda job, **data: None)
        worker = Worker(yard, name="w-durable", handle_signals=False)
        registry.register(worker)  # the worker's database thread: once relaxed the session
        store = yard.store
        seen: dict[str, str] = {}
        real_execute, real_update = store._execute, store.update_jobs

        def execute(sql: str, params: Any) -> Result:
            # The claim is one statement that relaxes its own commit: it reports the
            # setting it ran under (read inside the statement, after set_config).
            found = real_execute(sql, params)
            if "claimed" in sql:
                seen["claim"] = found.rows[0]["sync_commit"]
            return found

        def update_jobs(updates: Any) -> list[int]:
            seen[seen.pop("next")] = _sync_commit(store)
            return real_update(updates)

        monkeypatch.setattr(store, "_execute", execute)
        monkeypatch.setattr(store, "update_jobs", update_jobs)
        yard.enqueue("noop")
        assert _sync_commit(store) == "on"
        (job,) = store.claim("w", "r", ["default"], None, 1, time.time(), time.time() - 1)
        seen["next"] = "rescue"
        assert manage.rescue_expired(store, time.time(), quarantine_after=3) == 1
        (job,) = store.claim("w", "r2", ["default"], None, 1, time.time(), time.time() + 60)
        seen["next"] = "hand_back"
        assert manage.hand_back(store, [job], time.time(), "test") == [job.id]
        with store.transaction():
            seen["outcome"] = _sync_commit(store)
        assert seen == {"claim": "off", "rescue": "on", "hand_back": "on", "outcome": "on"}
        assert _sync_commit(store) == "on"  # the session itself never changed
    finally:
        yard.close()


# -- 3. listeners of deleted types -------------------------------------------------------------


def _script(folder: Path, name: str, body: str = "echo hi") -> Path:
    path = folder / f"{name}.sh"
    path.write_text(f"#!/bin/sh\n# jobyard: on = ev\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("when", ["worker-loaded", "between-reloads", "listed-stale"])
def test_a_deleted_listener_is_skipped_and_the_emit_goes_on(
    yard: Yard, tmp_path: Path, when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    gone = _script(folder, "gone")
    _script(folder, "kept")
    yard.job(name="alive", on=["ev"])(lambda job, **data: None)
    sync_scripts(yard, folder)
    set_enabled(yard, "gone", True)
    set_enabled(yard, "kept", True)
    assert load_script_types(yard) == ["gone", "kept"]  # as a worker has them
    gone.unlink()
    sync_scripts(yard, folder)  # "gone" is now marked deleted in the store
    if when == "worker-loaded":
        load_script_types(yard)  # the worker's next heartbeat: "gone" is inactive
    elif when == "between-reloads":
        yard.stored_types(refresh=True)  # its cache knows, its types do not yet
    else:  # listed from a cache read just before the delete
        listed = ["alive", "gone", "kept"]
        monkeypatch.setattr(events, "listeners", lambda yard, name: listed)
    for _ in range(2):
        event = yard.emit("ev", {"n": 1})
        made = {j.type for j in yard.store.get_jobs(event.jobs)}
        assert made == {"alive", "kept"}
    if when == "listed-stale":
        assert yard.types["gone"].active is False  # cleaned: a worker stops claiming it
    else:
        assert events.listeners(yard, "ev") == ["alive", "kept"]


# -- 2. mutex script types: a limit of 1 the claim enforces (jobyard.admission) ---------------

MUTEX = Rules.for_types({"m": Limit(1, "skip")})


def _claim_mutex(yard: Yard, worker: str, now: float, lease: float = 60.0) -> tuple[Any, list[int]]:
    """Claim one job of the mutex type "m": (the job or None, ids refused as busy)."""
    with yard.store.transaction():  # refused ones are cancelled before anyone claims them
        got = yard.store.claim_admitted(
            worker, f"r{worker}", ["default"], ["m"], 1, now, now + lease, MUTEX
        )
        if got.refused:
            manage.cancel(yard.store, [r.id for r in got.refused], time.time())  # as LocalPort
    return (got.jobs[0] if got.jobs else None), [r.holder or 0 for r in got.refused]


def test_a_mutex_holder_wins_whatever_the_clocks_say(yard: Yard) -> None:
    yard.job(name="m")(lambda job: None)
    yard.enqueue_many("m", list(range(5)))
    now = time.time()
    a, busy = _claim_mutex(yard, "a", now + 100)  # a's clock is ahead
    assert a is not None and busy == []  # a runs
    b, busy = _claim_mutex(yard, "b", now)  # b's clock is behind: it "started first"
    assert b is None and busy == [a.id]  # still a's: b is skipped
    lifecycle.complete(yard.store, [(a, None)], time.time())
    c, busy = _claim_mutex(yard, "c", now)
    assert c is not None and busy == []  # a finished: free
    c_lease = yard.store.get_jobs([c.id])[0]
    yard.store.update_jobs([Update(c.id, {"lease_expires": now - 1}, ("running",))])
    assert manage.rescue_expired(yard.store, time.time(), quarantine_after=5) == 1
    d, busy = _claim_mutex(yard, "d", now)
    assert d is not None and c_lease.run_id != d.run_id and busy == []  # c rescued: free
    lifecycle.complete(yard.store, [(d, None)], time.time())
    e, busy = _claim_mutex(yard, "e", now)
    assert e is not None and busy == []  # finished: free


def test_two_workers_never_run_a_mutex_type_at_once(yard: Yard) -> None:
    yard.job(name="m")(lambda job: None)
    yard.enqueue_many("m", list(range(60)))
    store = yard.store
    holders: list[int] = []
    overlaps: list[tuple[int, ...]] = []
    ran: list[int] = []
    running: list[list[int]] = []
    guard = threading.Lock()

    def work(name: str, skew: float) -> None:
        while yard.count(status="ready"):
            job, _ = _claim_mutex(yard, name, time.time() + skew)
            if job is None:
                continue  # the other one runs: ours were skipped
            with guard:
                holders.append(job.id)
                if len(holders) > 1:
                    overlaps.append(tuple(holders))
            # The store says so too: this run is the type's only running job.
            with guard:
                running.append([j.id for j in yard.jobs(type="m", status="running")])
            time.sleep(0.002)
            with guard:
                holders.remove(job.id)
                ran.append(job.id)
            lifecycle.complete(store, [(job, None)], time.time())

    threads = [
        threading.Thread(target=work, args=(name, skew), daemon=True)
        for name, skew in (("w1", 30.0), ("w2", 0.0))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert overlaps == []
    assert all(len(ids) == 1 for ids in running), running
    assert ran and yard.count(status="ready") == 0 and yard.count(status="running") == 0
    assert yard.count(status="completed") == len(ran)


# -- 7. dead workers in `jobyard workers` ------------------------------------------------------


def _register(store: Store, name: str, heartbeat: float, lease: float | None) -> None:
    store.execute(
        "upsert_worker",
        {
            "name": name,
            "host": "h",
            "pid": 1,
            "queues": store.encode_json(["default"]),
            "concurrency": 1,
            "started": heartbeat,
            "heartbeat": heartbeat,
            "running": store.encode_json([]),
            "status": "running",
        },
    )
    if lease is not None:
        store.execute("set_worker_lease", {"name": name, "lease": lease})


def _claim_at(yard: Yard, worker: str, now: float, lease: float = 60.0) -> Any:
    jobs = yard.store.claim(worker, f"r{worker}", ["default"], ["m"], 1, now, now + lease)
    return jobs[0] if jobs else None


def test_a_dead_worker_is_gone_after_its_lease_with_only_its_live_jobs(
    yard: Yard, store_url: str
) -> None:
    yard.job(name="m")(lambda job: None)
    store = yard.store
    yard.enqueue_many("m", [1, 2, 3])
    now = time.time()
    first, second, third = (_claim_at(yard, "dead", now) for _ in range(3))
    _register(store, "dead", now - 6, lease=5)  # kill -9'd 6 s ago; its lease is 5 s
    _register(store, "live", now - 1, lease=60)
    _register(store, "old", now - 20, lease=None)  # a row from before leases were kept
    # Its last heartbeat said it ran all three; since then the first completed (a late
    # outcome) and the second was rescued and is running on the live worker.
    store.execute(
        "heartbeat_worker",
        {
            "name": "dead",
            "heartbeat": now - 6,
            "status": "running",
            "running": store.encode_json([first.id, second.id, third.id]),
        },
    )
    lifecycle.complete(store, [(first, None)], now)
    store.update_jobs([Update(second.id, {"lease_expires": now - 1}, ("running",))])
    assert manage.rescue_expired(store, now, quarantine_after=5) == 1
    (again,) = store.claim("live", "rl", ["default"], ["m"], 1, now, now + 60)
    assert again.id == second.id
    rows = {w["name"]: w for w in _workers(store, now, 30)}
    dead, live, old = rows["dead"], rows["live"], rows["old"]
    assert (dead["alive"], dead["status"], dead["running"]) == (False, "gone", [third.id])
    assert (live["alive"], live["status"], live["running"]) == (True, "running", [second.id])
    assert (old["alive"], old["lease"]) == (True, 30)  # the reader's lease stands in
    later = {w["name"]: w for w in _workers(store, now + 15, 30)}
    assert later["old"]["alive"] is False and later["old"]["status"] == "gone"
    # The CLI shows the same (it used to say "running" for 3 leases, then "gone?" with all
    # three jobs).
    env = {**os.environ, "JOBYARD_DB": store_url, "COLUMNS": "200"}
    shown = {w["name"]: w for w in json.loads(run_cli(env, "workers", "--json").stdout)}
    assert (shown["dead"]["status"], shown["dead"]["running"]) == ("gone", [third.id])
    assert (shown["live"]["status"], shown["live"]["running"]) == ("running", [second.id])


def _workers(store: Store, now: float, lease: float) -> list[dict[str, Any]]:
    """The workers view (jobyard.views.shapes.worker_views) over this store's rows."""
    from jobyard.views import worker_views

    rows = store.list_workers()
    running = store.running_by_worker([r.name for r in rows])
    return [w.to_dict() for w in worker_views(rows, running, now, lease)]
