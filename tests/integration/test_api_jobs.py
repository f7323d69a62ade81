"""The job endpoints over real HTTP: the same rules as the Python API, cursor paging,
management operations, and every kind of bad input refused with a JSON 4xx and nothing
written."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth


@pytest.fixture
def api(yard: Yard) -> Iterator[tuple[str, Yard]]:
    yard.migrate()

    @yard.job
    def hello(job, name: str = "x") -> str:  # type: ignore[no-untyped-def]
        return name

    yard.sync_types()
    with serving(create_app(yard, NoAuth(), max_body=64 * 1024)) as url:
        yield url, yard


def test_create_read_and_page(api: tuple[str, Yard]) -> None:
    base, yard = api
    r = httpx.post(
        f"{base}/api/v1/jobs",
        json={"type": "hello", "data": {"name": "n1"}, "priority": "high", "props": {"who": "ann"}},
    )
    assert r.status_code == 201
    job = r.json()
    assert (job["type"], job["status"], job["props"]) == ("hello", "ready", {"who": "ann"})
    assert yard.get(job["id"]).job.priority == job["priority"]
    ids = httpx.post(f"{base}/api/v1/jobs/bulk", json={"type": "hello", "items": list(range(5))})
    assert ids.status_code == 201 and len(ids.json()["ids"]) == 5
    seen, cursor = [], None
    while True:
        page = httpx.get(
            f"{base}/api/v1/jobs", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 6
    one = httpx.get(f"{base}/api/v1/jobs/{job['id']}").json()
    assert one["data"] == {"name": "n1"}
    log = httpx.get(f"{base}/api/v1/jobs/{job['id']}/log").json()
    assert log["entries"][0]["message"] == "Job Submitted" and log["next"] is None
    # the handler's parameters hold over HTTP too: 422 naming the parameter, nothing written
    before = yard.count()
    for data, word in (({"nme": "x"}, "'nme'"), ({"name": 5}, "'name'")):
        r = httpx.post(f"{base}/api/v1/jobs", json={"type": "hello", "data": data})
        assert r.status_code == 422 and word in r.json()["error"]["message"], r.text
        assert r.json()["error"]["field"] == f"data.{next(iter(data))}"
    assert yard.count() == before


def test_filters(api: tuple[str, Yard]) -> None:
    base, yard = api
    a = yard.enqueue("hello", queue="a").id
    yard.enqueue("hello", queue="b")
    yard.pause(a)
    got = httpx.get(f"{base}/api/v1/jobs", params={"status": "paused"}).json()["jobs"]
    assert [j["id"] for j in got] == [a]
    got = httpx.get(f"{base}/api/v1/jobs", params={"queue": "a,b"}).json()["jobs"]
    assert len(got) == 2


def test_nodes_make_a_jobset(api: tuple[str, Yard]) -> None:
    base, yard = api
    r = httpx.post(f"{base}/api/v1/jobs", json={"type": "hello", "nodes": ["web1", "web2"]})
    assert r.status_code == 201
    js = httpx.get(f"{base}/api/v1/jobsets/{r.json()['jobset']}").json()
    assert js["total"] == 2 and js["meta"] == {"type": "hello", "nodes": ["web1", "web2"]}
    assert sorted(yard.get(i).job.queue for i in js["jobs"]) == ["node:web1", "node:web2"]
    first = js["jobs"][0]
    r = httpx.post(f"{base}/api/v1/jobs/{first}/redirect", json={"node": "web3"})
    assert r.status_code == 200 and r.json()["queue"] == "node:web3"
    r = httpx.post(f"{base}/api/v1/jobs/{first}/redirect", json={"node": ""})
    assert r.status_code == 422
    before = yard.count()
    r = httpx.post(f"{base}/api/v1/jobs", json={"type": "hello", "nodes": ["a", "a"]})
    assert r.status_code == 422 and "more than once" in r.text
    assert yard.count() == before


def test_operations_and_their_conflicts(api: tuple[str, Yard]) -> None:
    base, yard = api
    j = yard.enqueue("hello").id
    assert httpx.post(f"{base}/api/v1/jobs/{j}/pause").json() == {"ids": [j]}
    r = httpx.post(f"{base}/api/v1/jobs/{j}/pause")
    assert r.status_code == 409 and "cannot pause" in r.json()["error"]["message"]
    assert httpx.post(f"{base}/api/v1/jobs/{j}/resume").status_code == 200
    assert httpx.post(f"{base}/api/v1/jobs/{j}/cancel").status_code == 200
    assert yard.get(j).job.status == "cancelled"
    r = httpx.post(f"{base}/api/v1/jobs/{j}/restart", json={"retries": 2})
    assert r.status_code == 200 and yard.get(j).job.status == "ready"
    r = httpx.post(f"{base}/api/v1/jobs/{j}/cancel", json={"retries": 2})
    assert r.status_code == 422 and r.json()["error"]["field"] == "retries"
    assert httpx.post(f"{base}/api/v1/jobs/{j}/remove").status_code == 409  # not finished
    assert httpx.post(f"{base}/api/v1/jobs/{j}/cancel").status_code == 200
    assert httpx.post(f"{base}/api/v1/jobs/{j}/remove").status_code == 200
    assert httpx.get(f"{base}/api/v1/jobs/{j}").status_code == 404


def test_types_events_workers(api: tuple[str, Yard]) -> None:
    base, _ = api
    assert [t["name"] for t in httpx.get(f"{base}/api/v1/types").json()["types"]] == ["hello"]
    r = httpx.patch(f"{base}/api/v1/types/hello", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = httpx.post(f"{base}/api/v1/jobs", json={"type": "hello"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "type_disabled"
    assert httpx.patch(f"{base}/api/v1/types/nope", json={"enabled": True}).status_code == 422
    r = httpx.patch(f"{base}/api/v1/types/hello", json={"schedule": "* * * * *"})
    assert r.status_code == 422  # a Python type's schedule lives in its code
    r = httpx.patch(f"{base}/api/v1/types/hello", json={"limit": 3})
    assert r.status_code == 200 and r.json()["limit"] == 3
    assert httpx.patch(f"{base}/api/v1/types/hello", json={"limit": 0}).status_code in (400, 422)
    r = httpx.patch(f"{base}/api/v1/types/hello", json={"limit": "2"})
    assert r.status_code in (400, 422) and "limit" in r.text
    r = httpx.patch(f"{base}/api/v1/types/hello", json={"limit": None})
    assert r.status_code == 200 and r.json()["limit"] is None
    ev = httpx.post(f"{base}/api/v1/events", json={"event": "deploy.done", "data": {"v": 1}})
    assert ev.status_code == 201 and ev.json()["name"] == "deploy.done"
    assert httpx.get(f"{base}/api/v1/events").json()["events"][-1]["data"] == {"v": 1}
    assert httpx.get(f"{base}/api/v1/workers").json() == {"workers": []}


BAD = [
    (b"{not json", "application/json", 400),
    (b'{"type": "hello", "priority": NaN}', "application/json", 400),
    (b'{"type": "hello", "delay": 1e999}', "application/json", 400),
    (b"[1, 2]", "application/json", 422),
    (b'{"type": 5}', "application/json", 422),
    (b'{"type": "hello", "bogus": 1}', "application/json", 422),
    (b'{"type": "hello", "priority": "urgent"}', "application/json", 422),
    (b'{"type": "hello", "delay": -5}', "application/json", 422),
    (b'{"type": "hello", "depends": [99999]}', "application/json", 422),
    (b'{"type": "hel\\u0000lo"}', "application/json", 422),
    (b'{"type": "nope"}', "application/json", 422),
    (b'{"type": "hello", "props": "x"}', "application/json", 422),
    (b'{"type": "hello", "retries": true}', "application/json", 422),
    (b'{"type": "hello", "data": "\\ud800"}', "application/json", 422),
    (b'{"type": "hello"}', "text/plain", 415),
    (b"\xff\xfe", "application/json", 400),
]


@pytest.mark.parametrize(("raw", "ctype", "status"), BAD)
def test_bad_bodies_are_refused_and_write_nothing(
    api: tuple[str, Yard], raw: bytes, ctype: str, status: int
) -> None:
    base, yard = api
    r = httpx.post(f"{base}/api/v1/jobs", content=raw, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and "Traceback" not in r.text
    assert yard.count() == 0


def test_oversized_body_is_413(api: tuple[str, Yard]) -> None:
    base, yard = api
    big = {"type": "hello", "data": "x" * 100_000}
    r = httpx.post(f"{base}/api/v1/jobs", json=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert yard.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs?cursor=abc",
        "/api/v1/jobs?cursor=-1",
        "/api/v1/jobs?limit=0",
        "/api/v1/jobs?limit=99999",
        "/api/v1/jobs?status=exploded",
        "/api/v1/jobs/0",
        "/api/v1/jobs/99999999999999999999",
        "/api/v1/jobs/abc",
        "/api/v1/jobs?limit=1&limit=2",
        "/api/v1/jobs/1/log?cursor=zz",
    ],
)
def test_bad_queries_are_400(api: tuple[str, Yard], path: str) -> None:
    base, _ = api
    r = httpx.get(base + path)
    assert r.status_code == 400, (path, r.status_code, r.text)
    assert r.json()["error"]["message"]
