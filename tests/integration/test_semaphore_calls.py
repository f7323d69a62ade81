"""``with job.semaphore(...)`` in handlers run by a real worker, on both backends: the
held part of two concurrent jobs never overlaps (the rest does), a timeout raises
SemaphoreTimeout and fails the job with its message, the async form in an async handler,
a remote worker over HTTP, and bad arguments refused with one clear line."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from tests.apiserver import serving
from tests.contract.test_worker_runs import most_at_once
from tests.pgfixtures import BACKENDS

from jobyard import InvalidInput, SemaphoreTimeout, Yard
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth
from jobyard.worker.remote import HttpPort, NoStore

Spans = dict[str, list[tuple[float, float]]]


@pytest.fixture(params=BACKENDS)
def y(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Yard]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/calls.db"
    else:
        url = str(request.getfixturevalue("pg_url"))
    yard = Yard(url)
    yard.semaphore("db", count=1)
    try:
        yield yard
    finally:
        yard.close()


def _types(yard: Yard, spans: Spans) -> None:
    guard = threading.Lock()

    def note(kind: str, start: float) -> None:
        with guard:
            spans.setdefault(kind, []).append((start, time.monotonic()))

    @yard.job(name="migrate")
    def migrate(job, prepare=0.3, inside=0.3, timeout=None, mode=None):  # type: ignore[no-untyped-def]
        start = time.monotonic()
        time.sleep(prepare)  # no slot needed here
        with job.semaphore("db", mode=mode, timeout=timeout) as hold:
            entered = time.monotonic()
            time.sleep(inside)  # only this part holds it
            note("inside", entered)
        note("whole", start)
        return round(hold.waited, 3)

    @yard.job(name="amigrate")
    async def amigrate(job, inside=0.3):  # type: ignore[no-untyped-def]
        start = time.monotonic()
        await asyncio.sleep(0.2)
        async with job.semaphore("db", mode="write", timeout=30):
            entered = time.monotonic()
            await asyncio.sleep(inside)
            note("ainside", entered)
        note("awhole", start)


def test_two_jobs_never_overlap_inside_the_block(y: Yard) -> None:
    spans: Spans = {}
    _types(y, spans)
    handles = [y.enqueue("migrate") for _ in range(3)]
    w = y.worker(concurrency=4).start()
    try:
        results = [h.wait(timeout=30, raise_on_failure=True).result for h in handles]
    finally:
        w.stop()
    assert most_at_once(spans["inside"]) == 1  # the held part: one at a time
    assert most_at_once(spans["whole"]) == 3  # the jobs themselves ran at once
    assert sorted(results)[-1] >= 0.4  # the last one waited for two holders
    log = [e["message"] for e in y.get(handles[results.index(max(results))].id).log]
    assert "waiting for semaphore db" in log
    assert any(m.startswith("took semaphore db after") for m in log)
    assert y.store.call_holds() == []  # every `with` gave its slot back


def test_a_timeout_raises_and_fails_the_job_with_its_message(y: Yard) -> None:
    spans: Spans = {}
    _types(y, spans)

    @y.job(name="catches")
    def catches(job):  # type: ignore[no-untyped-def]
        try:
            with job.semaphore("db", timeout=0):
                return "granted"
        except SemaphoreTimeout as exc:  # a handler may catch it and go on
            return [exc.name, exc.timeout, isinstance(exc, TimeoutError)]

    holder = y.enqueue("migrate", {"prepare": 0, "inside": 2.0})
    w = y.worker(concurrency=2).start()
    try:
        deadline = time.monotonic() + 10
        while not y.store.call_holds():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        late = y.enqueue("migrate", {"prepare": 0, "timeout": 0.3, "mode": "write"}, retries=0)
        job = late.wait(timeout=20)
        assert time.monotonic() - started < 1.9  # gave up before the holder let go
        caught = y.enqueue("catches").wait(timeout=20, raise_on_failure=True).result
        holder.wait(timeout=20, raise_on_failure=True)
    finally:
        w.stop()
    assert caught == ["db", 0.0, True]
    assert job.status == "failed"
    assert job.failures[-1]["error"] == (
        "SemaphoreTimeout: no free slot of semaphore 'db' within 0.3 s"
    )
    assert "waiting for semaphore db (write)" in [e["message"] for e in y.get(late.id).log]
    assert y.store.call_holds() == []  # its place in line was given up too


def test_the_async_form_in_async_handlers(y: Yard) -> None:
    spans: Spans = {}
    _types(y, spans)
    handles = [y.enqueue("amigrate") for _ in range(3)]
    w = y.worker(concurrency=3).start()
    try:
        for h in handles:
            h.wait(timeout=30, raise_on_failure=True)
    finally:
        w.stop()
    assert most_at_once(spans["ainside"]) == 1
    assert most_at_once(spans["awhole"]) == 3


def test_bad_arguments_are_one_clear_line(y: Yard) -> None:
    errors: list[str] = []

    @y.job(name="bad")
    def bad(job):  # type: ignore[no-untyped-def]
        for kwargs in (
            {"name": "nope"},
            {"name": "db", "timeout": -1},
            {"name": "db", "timeout": float("nan")},
            {"name": "db", "timeout": float("inf")},
            {"name": "db", "timeout": "5"},
            {"name": "db", "timeout": True},
            {"name": "db", "mode": "both"},
            {"name": "bad name!"},
        ):
            try:
                with job.semaphore(**kwargs):
                    errors.append(f"granted {kwargs}")
            except InvalidInput as exc:
                errors.append(str(exc))
        return len(errors)

    w = y.worker().start()
    try:
        assert y.enqueue("bad").wait(timeout=20, raise_on_failure=True).result == 8
    finally:
        w.stop()
    assert errors[0].startswith("job.semaphore: unknown semaphore 'nope'; define it with")
    assert all("\n" not in e and "granted" not in e for e in errors)
    for e in errors[1:6]:
        assert e.startswith("semaphore timeout must be a number of seconds >= 0 or None")
    assert "mode must be 'read', 'write' or None" in errors[6]
    assert errors[7].startswith("invalid semaphore name 'bad name!'")
    assert y.store.call_holds() == []


def test_a_remote_worker_holds_a_semaphore_around_a_call(y: Yard) -> None:
    """The remote worker's Yard never opens the database: job.semaphore goes to the
    server (``/api/v1/work/{id}/semaphore``), which decides as for a local worker."""
    y.migrate()
    spans: Spans = {}
    remote_yard = Yard(y.url)
    remote_yard._store = NoStore("test")  # type: ignore[assignment]
    _types(remote_yard, spans)
    _types(y, {})  # the server knows the types (to enqueue them)
    y.sync_types()
    with serving(create_app(y, NoAuth())) as base:
        port = HttpPort(base, None, retry_for=5)
        handles = [y.enqueue("migrate", {"prepare": 0.2, "inside": 0.3}) for _ in range(2)]
        w = remote_yard.worker(concurrency=2, port=port, housekeeping=False).start()
        try:
            for h in handles:
                h.wait(timeout=30, raise_on_failure=True)
        finally:
            w.stop()
    assert most_at_once(spans["inside"]) == 1 and most_at_once(spans["whole"]) == 2
    assert y.store.call_holds() == []


def test_the_http_verbs_are_checked_per_object(y: Yard) -> None:
    """Only the worker holding a run asks for (or gives up) its call holds: another
    worker's token is 403, a wrong run 409, a bad token or need 422."""
    import httpx
    from tests.integration.test_work_api import WorkerAuth

    from jobyard.worker.local import LocalPort
    from jobyard.worker.port import ClaimRequest

    y.migrate()
    y.job(name="t")(lambda job: None)
    job_id = y.enqueue("t").id
    (job,) = LocalPort(y).claim(ClaimRequest("w/1", ["default"], ["t"], 1, 60.0))
    with serving(create_app(y, WorkerAuth())) as base:

        def post(path: str, body: object, who: str = "w") -> httpx.Response:
            url = f"{base}/api/v1/work/{job_id}/{path}"
            return httpx.post(url, json=body, headers={"Authorization": f"Bearer {who}"})

        ask = {"run": job.run_id, "token": "a" * 32, "need": "db"}
        assert post("semaphore", ask, who="other").status_code == 403
        assert post("semaphore", {**ask, "run": "x.1"}).status_code == 409
        assert post("semaphore", {**ask, "token": "no"}).status_code == 422
        bad = post("semaphore", {**ask, "need": "nope"})
        assert bad.status_code == 422 and "unknown semaphore 'nope'" in bad.text
        assert post("semaphore", ask).json() == {"granted": True}
        assert [h.job for h in y.store.call_holds()] == [job_id]
        release = {"run": job.run_id, "tokens": ["a" * 32]}
        assert post("semaphore/release", release, who="other").status_code == 403
        assert [h.job for h in y.store.call_holds()] == [job_id]  # still held
        assert post("semaphore/release", release).json() == {"ok": True}
        assert y.store.call_holds() == []
