"""Store-level correctness under races and faults (issue #7 §3), on every backend: lease
rescue as a compare-and-set, a database-enforced mutex, listeners of deleted types,
savepoints for nested transactions, per-transaction durability, driver errors."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jobyard import Yard, manage
from jobyard.store.base import Result


def _claim_one(yard: Yard, lease: float = 30.0, now: float | None = None) -> Any:
    now = time.time() if now is None else now
    (job,) = yard.store.claim("w", "run", ["default"], None, 1, now, now + lease)
    return job


# -- 1. lease rescue re-checks the lease -------------------------------------------------------


def test_a_heartbeat_between_read_and_rescue_keeps_the_job(
    yard: Yard, monkeypatch: pytest.MonkeyPatch
) -> None:
    @yard.job
    def noop(job):  # type: ignore[no-untyped-def]
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
