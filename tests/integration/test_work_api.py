"""The remote-worker verbs over real HTTP (jobyard.api.work, api.work_wait): the long poll
wakes on new work, a retried claim gets back what its lost first try leased (not more),
outcomes name runs by reference and only the claimer's count, and what runs at once is the
server's to say. Tokens of role worker named "w" act as workers "w" and "w/..."."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import create_app
from jobyard.api.auth import Principal
from jobyard.store.workers import StoredType


class WorkerAuth:
    """``Bearer NAME`` is a worker token named NAME."""

    enabled = True

    def authenticate(self, request: Any) -> Principal | None:
        name = request.headers.get("authorization", "").removeprefix("Bearer ")
        return Principal(name, "worker", "token") if name else None  # type: ignore[arg-type]

    def audit(self, *args: object) -> None:
        return None


@pytest.fixture
def api(yard: Yard) -> Iterator[tuple[str, Yard]]:
    yard.migrate()
    yard.job(name="t")(lambda job, **d: None)
    yard.sync_types()
    with serving(create_app(yard, WorkerAuth())) as base:
        yield base, yard


def post(base: str, path: str, body: Any, who: str = "w") -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/work/{path}",
        json=body,
        headers={"Authorization": f"Bearer {who}"},
        timeout=40,
    )


def claim_body(run: str, limit: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "worker": "w/1",
        "queues": ["default"],
        "types": ["t"],
        "limit": limit,
        "lease": 30,
        "run": run,
        **extra,
    }


def test_the_long_poll_wakes_on_new_work(api: tuple[str, Yard]) -> None:
    base, yard = api
    t0 = time.monotonic()
    r = post(base, "wait", {"queues": ["default"], "timeout": 0.5})
    assert r.status_code == 200 and r.json() == {"woke": False}
    assert 0.45 <= time.monotonic() - t0 < 5
    got: list[Any] = []
    waiting = threading.Thread(
        target=lambda: got.append(post(base, "wait", {"queues": ["default"], "timeout": 20}))
    )
    t0 = time.monotonic()
    waiting.start()
    time.sleep(0.5)
    yard.enqueue("t")
    waiting.join(25)
    assert got and got[0].json() == {"woke": True}
    assert time.monotonic() - t0 < 5  # woken by the enqueue, not by the timeout
    for bad in (-1, 31, "1", True):
        r = post(base, "wait", {"timeout": bad})
        assert r.status_code in (400, 422) and "timeout" in r.text


def test_a_retried_claim_gets_the_same_jobs(api: tuple[str, Yard]) -> None:
    base, yard = api
    yard.enqueue_many("t", [None] * 5)
    first = post(base, "claim", claim_body("abc123")).json()["jobs"]
    assert len(first) == 2
    # the answer was lost; the worker sends the same claim again
    again = post(base, "claim", claim_body("abc123", retry=True)).json()["jobs"]
    assert [j["id"] for j in again] == [j["id"] for j in first]
    assert yard.count(status="running") == 2
    # another worker's retry under that run id gets nothing of them
    other = post(base, "claim", {**claim_body("abc123", retry=True), "worker": "v"}, who="v")
    assert {j["id"] for j in other.json()["jobs"]}.isdisjoint(j["id"] for j in first)
    fresh = post(base, "claim", claim_body("def456")).json()["jobs"]
    assert len(fresh) == 1 and not {j["id"] for j in fresh} & {j["id"] for j in first}
    bad = post(base, "claim", claim_body("no.dots"))
    assert bad.status_code in (400, 422) and "run id" in bad.text


def test_outcomes_name_runs_and_count_only_for_their_claimer(api: tuple[str, Yard]) -> None:
    base, yard = api
    yard.enqueue_many("t", [None] * 3)
    a, b = post(base, "claim", claim_body("r1")).json()["jobs"]
    ok = {"ok": True, "result": 7, "error": "", "fatal": False}
    # another worker naming a's run is refused; a stale run records nothing
    r = post(
        base,
        "record",
        {"outcomes": [{"ref": {"id": a["id"], "run": a["run_id"]}, "outcome": ok}]},
        who="v",
    )
    assert r.status_code == 403
    r = post(
        base, "record", {"outcomes": [{"ref": {"id": a["id"], "run": "zzz.1"}, "outcome": ok}]}
    )
    assert r.status_code == 200 and yard.get(a["id"]).job.status == "running"
    # the claimer records a and claims the next in one call; retried, nothing doubles
    body = {
        "outcomes": [{"ref": {"id": a["id"], "run": a["run_id"]}, "outcome": ok}],
        "claim_next": claim_body("r2", limit=5),
    }
    nxt = post(base, "record", body).json()["jobs"]
    assert yard.get(a["id"]).job.status == "completed" and yard.get(a["id"]).job.result == 7
    assert len(nxt) == 1
    again = post(base, "record", {**body, "retry": True}).json()["jobs"]
    assert [j["id"] for j in again] == [j["id"] for j in nxt]
    # done / fail by path name the run; a wrong run is a 409
    r = post(base, f"{b['id']}/fail", {"run": "nope.1", "error": "x"})
    assert r.status_code == 409
    r = post(base, f"{b['id']}/fail", {"run": b["run_id"], "error": "bad", "fatal": True})
    assert r.status_code == 200 and yard.get(b["id"]).job.status == "failed"


def test_the_server_decides_what_runs_at_once(api: tuple[str, Yard]) -> None:
    base, yard = api
    # a worker claiming with a "skip" limit of its own would cancel other workers' jobs
    yard.enqueue_many("t", [None] * 2)
    first = post(base, "claim", claim_body("s1", limit=1)).json()["jobs"]
    body = claim_body("s2", limit=1, limits={"t": {"size": 1, "when_full": "skip"}})
    second = post(base, "claim", body).json()["jobs"]
    assert len(first) == len(second) == 1
    assert yard.count(status="cancelled") == 0
    # the stored limit applies, whatever the claim says
    yard.registry.set_limit("t", 2)
    yard.enqueue("t")
    assert post(base, "claim", claim_body("s3", limit=5)).json()["jobs"] == []
    script = StoredType("nightly", "script", True, {"path": "x.sh", "mutex": True})
    yard.store.upsert_types([script], time.time())
    yard.stored_types(refresh=True)
    assert yard.registry.stored_limits(["nightly", "t"])["nightly"].size == 1
