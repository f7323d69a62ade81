"""The SSE stream over real HTTP: a job's life as events, resuming with Last-Event-ID
without loss or repeats, filters, heartbeats, one database reader for many clients."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.apiserver import serving
from tests.helpers import until

from jobyard import Yard, lifecycle
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth


@pytest.fixture
def served(yard: Yard) -> Iterator[tuple[str, Any]]:
    yard.migrate()
    for name in ("t", "other"):
        yard.job(name=name)(lambda job, **data: None)
    yard.sync_types()
    app = create_app(yard, NoAuth(), extra={"fanout_options": {"poll": 0.05, "heartbeat": 0.3}})
    with serving(app) as url:
        yield url, app


class Reader:
    """Reads an SSE stream in a thread; ``events`` are (id, name, data) tuples."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.comments = 0
        self.status = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", url, headers=headers, timeout=30) as r:
            self.status = r.status_code
            block: dict[str, str] = {}
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.comments += 1
                elif line == "":
                    if "data" in block and "id" in block:
                        self.events.append(
                            (int(block["id"]), block["event"], json.loads(block["data"]))
                        )
                    block = {}
                else:
                    key, _, value = line.partition(": ")
                    block[key] = value

    def close(self) -> None:
        self._stop.set()


def life(yard: Yard) -> int:
    h = yard.enqueue("t")
    now = time.time()
    (job,) = yard.store.claim("w", "r1", ["default"], ["t"], 1, now, now + 30)
    yard.store.set_progress(job.id, job.run_id, 5, 10, time.time(), time.time() + 30)
    lifecycle.complete(yard.store, [(job, 7)], time.time())
    return h.id


def test_a_client_sees_a_job_live_then_resumes_without_loss(
    served: tuple[str, Any], yard: Yard
) -> None:
    base, _ = served
    r = Reader(f"{base}/api/v1/stream")
    until(lambda: r.status == 200 and r.comments >= 0, timeout=5)
    time.sleep(0.3)  # the stream has joined the fan-out
    job_id = life(yard)
    until(lambda: len(r.events) >= 4, timeout=10)
    assert [(n, d["job"]) for _, n, d in r.events[:4]] == [
        ("job.created", job_id),
        ("job.started", job_id),
        ("job.progress", job_id),
        ("job.completed", job_id),
    ]
    r.close()
    last_seen = r.events[1][0]  # pretend the connection broke after "started"
    second = life(yard)  # more happens while disconnected
    again = Reader(f"{base}/api/v1/stream", {"Last-Event-ID": str(last_seen)})
    until(lambda: len(again.events) >= 6, timeout=10)
    names = [(n, d["job"]) for _, n, d in again.events[:6]]
    assert names == [
        ("job.progress", job_id),
        ("job.completed", job_id),
        ("job.created", second),
        ("job.started", second),
        ("job.progress", second),
        ("job.completed", second),
    ]
    ids = [i for i, _, _ in again.events]
    assert ids == sorted(set(ids))  # nothing twice
    again.close()


def test_filters_and_heartbeats(served: tuple[str, Any], yard: Yard) -> None:
    base, _ = served
    only = Reader(f"{base}/api/v1/stream?after=0&type=other&kinds=job.completed")
    other = yard.enqueue("other")
    life(yard)
    now = time.time()
    (job,) = yard.store.claim("w", "r9", ["default"], ["other"], 1, now, now + 30)
    lifecycle.complete(yard.store, [(job, None)], time.time())
    until(lambda: len(only.events) >= 1 and only.comments >= 2, timeout=10)
    time.sleep(0.3)
    assert [(n, d["job"]) for _, n, d in only.events] == [("job.completed", other.id)]
    only.close()


def test_jobset_filter(served: tuple[str, Any], yard: Yard) -> None:
    base, _ = served
    js = yard.create_jobset("demo", "one")
    inside = yard.enqueue("t", jobset=js)
    yard.enqueue("t")
    r = Reader(f"{base}/api/v1/stream?after=0&jobset={js}")
    until(lambda: len(r.events) >= 1, timeout=10)
    time.sleep(0.3)
    assert [(n, d["job"]) for _, n, d in r.events] == [("job.created", inside.id)]
    r.close()


def test_many_clients_share_one_reader(served: tuple[str, Any], yard: Yard) -> None:
    base, app = served
    readers = [Reader(f"{base}/api/v1/stream") for _ in range(50)]
    until(lambda: all(r.status == 200 for r in readers), timeout=15)
    fan = app.state.jobyard.extra["fanout"]
    until(lambda: len(fan.subscribers) == 50, timeout=10)
    before, t0 = fan.reads, time.monotonic()
    life(yard)
    until(lambda: all(len(r.events) >= 4 for r in readers), timeout=15)
    elapsed = time.monotonic() - t0
    reads = fan.reads - before
    assert reads <= elapsed / 0.05 + 5  # one reader polling, not one per client
    for r in readers:
        r.close()


@pytest.mark.parametrize(
    ("headers", "query"),
    [({"Last-Event-ID": "abc"}, ""), ({}, "?after=-1"), ({}, "?job=0"), ({}, "?after=x")],
)
def test_bad_cursors_are_400(served: tuple[str, Any], headers: dict[str, str], query: str) -> None:
    base, _ = served
    r = httpx.get(f"{base}/api/v1/stream{query}", headers=headers)
    assert r.status_code == 400 and r.json()["error"]["message"]
