"""The worker port (issue #8 §1): the worker and every handler reach the store only through
``WorkerPort``; a worker's JobContext buffers its writes, so an async handler's log() never
blocks the event loop on a database transaction."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import until

from jobyard import LeaseLost, Yard
from jobyard.scripts import set_enabled, sync_scripts
from jobyard.worker.local import LocalPort
from jobyard.worker.port import WorkerPort
from jobyard.worker.runner import Worker

SRC = Path(__file__).resolve().parents[2] / "src" / "jobyard"


class RecordingPort:
    """A port that forwards to another and notes every verb called (thread-safe)."""

    def __init__(self, inner: WorkerPort, slow: dict[str, float] | None = None) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.slow = slow or {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        verb = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append(name)
            time.sleep(self.slow.get(name, 0.0))
            return verb(*args, **kwargs)

        return call


class NoStore:
    """The worker's view of a Yard: its types and config, and no store at all."""

    def __init__(self, yard: Yard) -> None:
        object.__setattr__(self, "_yard", yard)

    def __getattr__(self, name: str) -> Any:
        if name == "store":
            raise AssertionError("the worker side touched yard.store")
        return getattr(self._yard, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._yard, name, value)


def _script(folder: Path, name: str, body: str) -> None:
    path = folder / f"{name}.sh"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_the_worker_and_its_handlers_use_only_the_port(yard: Yard, tmp_path: Path) -> None:
    @yard.job
    def shares(job, n):  # type: ignore[no-untyped-def]
        job.log("sync handler", data={"n": n})
        job.progress(1, 2)
        job.shared["n"] = n
        job.shared.put_many({"m": n + 1})
        job.shared.update({"k": 1}, delete=["m"])  # as converge writes back: at once
        del job.shared["k"]
        job.emit("shared", {"n": n})
        return dict(job.shared)

    @yard.job(on=["shared"])
    async def listens(job, n):  # type: ignore[no-untyped-def]
        await job.alog("async handler")
        await job.aprogress(2, 2)
        job.log("sync call from async")
        return n * 10

    folder = tmp_path / "scripts"
    folder.mkdir()
    _script(folder, "echoes", 'echo "hello from a script"')
    sync_scripts(yard, folder)
    set_enabled(yard, "echoes", True)
    port = RecordingPort(LocalPort(yard))
    w = Worker(NoStore(yard), port=port, heartbeat=0.2, handle_signals=False)  # type: ignore[arg-type]
    w.start()
    try:
        first = yard.enqueue("shares", {"n": 4}, jobset=yard.create_jobset("test", "s"))
        script = yard.enqueue("echoes")
        assert first.wait(timeout=15).status == "completed", first.job.error
        assert first.result == {"n": 4}
        assert script.wait(timeout=15).status == "completed", script.job.error
        until(lambda: len(yard.jobs(type="listens", status="completed")) == 1)
        time.sleep(0.5)  # a heartbeat or two
    finally:
        w.stop()
    (listener,) = yard.jobs(type="listens")
    assert listener.result == 40 and listener.progress_completed == 2
    messages = [e["message"] for e in yard.store.get_log(listener.id)]
    assert "async handler" in messages and "sync call from async" in messages
    assert "sync handler" in [e["message"] for e in first.log]
    assert "hello from a script" in [e["message"] for e in script.log]
    assert yard.store.execute("list_workers").fetchall() == []  # unregistered
    used = set(port.calls)
    assert {"register", "claim", "record", "beat", "housekeeping", "types", "waiter"} <= used
    assert {"log", "progress", "emit", "kv_put", "kv_delete", "kv_all", "kv_update"} <= used
    assert {"script_ran", "unregister"} <= used


# Where the worker side must not reach the store itself: only local.py may.
_PORTED = [
    *sorted(p for p in (SRC / "worker").glob("*.py") if p.name != "local.py"),
    SRC / "context.py",
    *(SRC / "scripts" / f"{n}.py" for n in ("runner", "loader", "output", "calls")),
]
_STORE_USE = re.compile(
    r"\.store\.\w|\byard\.store\b|\.execute(many)?\(|\.(en|de)code_json\(|\.list_param\("
)  # (jobyard.limits.encode_json, a size check, is no store codec)


@pytest.mark.parametrize("path", _PORTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_store_access_outside_the_local_port(path: Path) -> None:
    code = [
        line
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith(("from ", "import ", "#"))
    ]
    found = [line.strip() for line in code if _STORE_USE.search(line)]
    assert found == [], f"{path.name} reaches the store directly: {found}"


def test_an_async_handlers_log_does_not_block_the_loop(yard: Yard) -> None:
    """A slow log write (0.5 s) happens in the worker's database thread: the handler's
    own coroutines keep ticking, and the entries are stored before the outcome."""

    @yard.job
    async def chatty(job):  # type: ignore[no-untyped-def]
        ticks: list[float] = []

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(ticker())
        began = time.monotonic()
        job.log("one")
        await job.alog("two")
        job.progress(1, 3)
        took = time.monotonic() - began
        await asyncio.sleep(0.8)  # the background write (slow) happens meanwhile
        task.cancel()
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        return {"took": took, "gap": max(gaps)}

    port = RecordingPort(LocalPort(yard), slow={"log": 0.5, "progress": 0.5})
    w = Worker(yard, port=port, handle_signals=False)
    w.start()
    try:
        h = yard.enqueue("chatty").wait(timeout=15)
    finally:
        w.stop()
    assert h.status == "completed", h.job.error
    assert h.result["took"] < 0.1 and h.result["gap"] < 0.2, h.result
    assert port.calls.count("log") >= 1
    assert [e["message"] for e in h.log if e["message"] in ("one", "two")] == ["one", "two"]
    assert h.progress["total"] == 3  # the buffered progress was written (completion fills it)


def test_a_buffered_log_of_a_lost_run_raises_lease_lost(yard: Yard) -> None:
    """Buffered or not, a run that is no longer ours is told so: at the latest when the
    worker writes its buffer, the next log() raises LeaseLost."""
    raised = threading.Event()

    @yard.job
    def loops(job):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                job.log("still here")
            except LeaseLost:
                raised.set()
                return None
            time.sleep(0.02)
        return None

    # A long heartbeat: the buffered write, not the heartbeat, must notice.
    w = Worker(yard, heartbeat=30, lease=90, handle_signals=False)
    w.start()
    try:
        h = yard.enqueue("loops")
        until(lambda: h.status == "running")
        until(lambda: len(h.log) > 2)
        h.cancel()
        assert raised.wait(5)
    finally:
        w.stop()
    assert h.status == "cancelled"
