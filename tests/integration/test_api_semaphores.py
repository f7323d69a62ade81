"""Semaphores over real HTTP: a job's ``semaphores``, 422 for an unknown one, the
``waiting`` field and ``GET /api/v1/semaphores``."""

from __future__ import annotations

import httpx
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth
from jobyard.worker.local import LocalPort
from jobyard.worker.port import ClaimRequest


def test_semaphores_over_http(yard: Yard) -> None:
    yard.semaphore("db", count=1)
    yard.job(name="t")(lambda job: None)
    with serving(create_app(yard, NoAuth(), max_body=64 * 1024)) as url:
        bad = httpx.post(f"{url}/api/v1/jobs", json={"type": "t", "semaphores": ["nope"]})
        assert bad.status_code == 422 and "unknown semaphore 'nope'" in bad.text
        ids = [
            httpx.post(f"{url}/api/v1/jobs", json={"type": "t", "semaphores": ["db"]}).json()["id"]
            for _ in range(2)
        ]
        LocalPort(yard).claim(ClaimRequest("w", ["default"], ["t"], 5, 60.0))
        job = httpx.get(f"{url}/api/v1/jobs/{ids[1]}").json()
        assert job["semaphores"] == ["db"]
        assert job["waiting"] == f"semaphore db (1/1 held by job {ids[0]})"
        (row,) = httpx.get(f"{url}/api/v1/semaphores").json()["semaphores"]
        assert row["holders"] == [{"job": ids[0], "mode": "slot", "jobset": None}]
        assert row["waiters"] == [ids[1]] and row["held"] == 1
        assert "/api/v1/semaphores" in httpx.get(f"{url}/api/v1/openapi.json").json()["paths"]
    assert yard.count() == 2  # the refused one was not created
