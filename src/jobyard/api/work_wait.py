"""``POST /api/v1/work/wait``: the long poll idle remote workers wait on.

One store waiter per server process (a thread on the store's own wake-ups: LISTEN on
PostgreSQL, the wake sockets on SQLite) wakes every waiting request at once, so a hundred
idle workers cost one listener, not a hundred, and no database read at all."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from starlette.concurrency import run_in_threadpool

from jobyard.api import errors as api_errors
from jobyard.api.auth import WORK
from jobyard.api.endpoint import Call, Endpoints
from jobyard.i18n import _
from jobyard.store.core import Waiter
from jobyard.yard import Yard

ENDPOINTS = Endpoints("work")
MAX_WAIT = 30.0


class Waker:
    def __init__(self, yard: Yard) -> None:
        self.yard = yard
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: Waiter | None = None
        self._stop = threading.Event()
        self._start = asyncio.Lock()
        self.wakeups = 0  # how often the store said "work may be there" (the tests look)

    async def _ensure(self) -> asyncio.Event:
        async with self._start:
            if self._event is None:
                self._loop = asyncio.get_running_loop()
                self._waiter = await run_in_threadpool(self.yard.store.waiter, [])
                self._event = asyncio.Event()
                threading.Thread(target=self._listen, name="jobyard-work-wait", daemon=True).start()
        return self._event

    def _listen(self) -> None:
        assert self._waiter is not None and self._loop is not None
        while not self._stop.is_set():
            try:
                woke = self._waiter.wait(1.0)
            except Exception:  # a passing database error: listen again in a moment
                self._stop.wait(1.0)
                continue
            if woke and not self._stop.is_set():
                with contextlib.suppress(RuntimeError):  # the loop is closing
                    self._loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        self.wakeups += 1
        fired, self._event = self._event, asyncio.Event()
        if fired is not None:
            fired.set()

    async def wait(self, timeout: float) -> bool:
        event = await self._ensure()
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        self._stop.set()
        if self._waiter is not None:
            self._waiter.close()


def waker(call: Call) -> Waker:
    extra = call.state.extra
    if "waker" not in extra:
        extra["waker"] = Waker(call.state.yard)
        call.state.on_shutdown.append(extra["waker"].close)
    found: Waker = extra["waker"]
    return found


WAIT_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "queues": {"type": "array", "items": {"type": "string"}},
        "timeout": {"type": "number", "minimum": 0, "maximum": MAX_WAIT},
    },
}


@ENDPOINTS.post(
    "/api/v1/work/wait",
    roles=WORK,
    body=WAIT_BODY,
    body_required=False,
    response={"type": "object"},
)
async def wait(call: Call) -> Any:
    """Wait up to ``timeout`` seconds (at most 30) until work may be available: ``woke``
    says whether it may (claim then) or the time ran out."""
    body = call.body if isinstance(call.body, dict) else {}
    timeout = body.get("timeout", 1.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise api_errors.invalid(_("timeout must be a number of seconds"), "timeout")
    if not 0 <= timeout <= MAX_WAIT:  # also NaN
        raise api_errors.invalid(
            _("timeout must be 0 to {MAX_WAIT:g} seconds", MAX_WAIT=MAX_WAIT), "timeout"
        )
    return {"woke": await waker(call).wait(float(timeout))}
