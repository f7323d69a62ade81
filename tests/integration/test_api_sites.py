"""The sites, batches and nodes endpoints over real HTTP on both backends: secrets hidden,
a batch's grid and its re-run of failed pairs (409 while it runs), the nodes seen."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth
from jobyard.views.site_shapes import HIDDEN, site_view


@pytest.fixture(params=["sqlite", "postgres"])
def any_yard(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Yard]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'b.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    yard = Yard(url)
    yard.migrate()
    yield yard
    yard.close()


def test_sites_batches_grid_and_rerun(any_yard: Yard) -> None:
    yard = any_yard
    yard.sites.add("a", "app", note="<script>alert(1)</script>", db_password="hunter2")
    yard.sites.add("b", "app", host="10.0.0.9", user="deploy", port=2222, env={"API_TOKEN": "t"})
    broken = {"b"}
    gate = threading.Event()

    @yard.action("app")
    def first(ctx: Any) -> None:
        gate.wait(10)
        ctx.fail("b is broken" if ctx.site.name in broken else None)

    @yard.action("app")
    def second(ctx: Any) -> None:
        ctx.report("second ran")

    yard.sites.add("b", host="")  # its shell runs here: the test has no sshd for it
    worker = yard.worker(concurrency=4, poll=0.05).start()
    try:
        with serving(create_app(yard, NoAuth())) as base:
            inv = httpx.get(f"{base}/api/v1/sites").json()
            by_name = {s["name"]: s for s in inv["sites"]}
            assert by_name["a"]["variables"]["note"] == "<script>alert(1)</script>"
            assert by_name["a"]["variables"]["db_password"] == HIDDEN
            assert by_name["b"]["variables"]["env"] == {"API_TOKEN": HIDDEN}
            assert inv["roles"] == {"app": ["a", "b"]}
            assert "hunter2" not in httpx.get(f"{base}/api/v1/sites").text

            batch = yard.batch(["first", "second"])
            r = httpx.post(f"{base}/api/v1/batches/{batch.id}/rerun")
            assert r.status_code == 409 and "still running" in r.text
            gate.set()
            batch.wait(20)
            listed = httpx.get(f"{base}/api/v1/batches").json()["batches"]
            assert [b["id"] for b in listed] == [batch.id]
            assert (listed[0]["state"], listed[0]["ok"], listed[0]["failed"]) == ("failed", 3, 1)
            grid = httpx.get(f"{base}/api/v1/batches/{batch.id}").json()
            assert [s["action"] for s in grid["steps"]] == ["first", "second"]
            assert grid["failed_pairs"] == [["first", "b"]]
            cell = grid["sites"][1]["cells"][0]
            assert cell["failed"] and cell["error"] == "b is broken" and cell["runs"] == 1
            assert (cell["status"], cell["outcome"]) == ("completed", "failed")

            broken.clear()
            r = httpx.post(f"{base}/api/v1/batches/{batch.id}/rerun")
            assert r.status_code == 201 and len(r.json()["jobs"]) == 1, r.text
            batch.wait(20)
            grid = httpx.get(f"{base}/api/v1/batches/{batch.id}").json()
            assert grid["state"] == "ok" and grid["failed_pairs"] == []
            assert grid["sites"][1]["cells"][0]["runs"] == 2

            other = yard.create_jobset("nodes", "x")
            r = httpx.get(f"{base}/api/v1/batches/{other}")
            assert r.status_code == 422 and "not a batch" in r.text
            assert httpx.get(f"{base}/api/v1/batches/99999").status_code == 404
            assert httpx.get(f"{base}/api/v1/batches?limit=0").status_code == 400
    finally:
        worker.stop()


def test_nodes_seen_with_workers_queue_and_recent_jobs(any_yard: Yard) -> None:
    yard = any_yard

    @yard.job
    def ping(job, n: int = 0) -> int:  # type: ignore[no-untyped-def]
        return n

    yard.sync_types()
    worker = yard.worker(name="web1-worker", queues=["node:web1"], poll=0.05).start()
    try:
        _, ids = yard.submit("ping", ["web1", "web2"], {"n": 1})
        yard.get(ids[0]).wait(10)
        with serving(create_app(yard, NoAuth())) as base:
            nodes = {n["name"]: n for n in httpx.get(f"{base}/api/v1/nodes").json()["nodes"]}
        assert nodes["web1"]["alive"] and nodes["web1"]["workers"][0]["name"] == "web1-worker"
        assert nodes["web1"]["recent"][0]["status"] == "completed"
        assert not nodes["web2"]["alive"] and nodes["web2"]["queue"]["ready"] == 1
    finally:
        worker.stop()


def test_site_view_hides_key_material() -> None:
    shown = site_view(
        {"name": "s", "roles": [], "host": "h", "identity": "-----BEGIN OPENSSH PRIVATE KEY-----"}
    )
    assert shown["connection"]["identity"] == HIDDEN and shown["where"] == "h:22"
    assert site_view({"name": "s", "identity": "/keys/id"})["connection"]["identity"] == "/keys/id"
