"""One event loop per process, in a daemon thread, for every site's shell and connection.

A sync action runs in a worker thread and waits here; an async action awaits a wrapped
future. SSH connections live on this loop, so one connection per site serves every action
of the process (asyncssh objects belong to the loop that made them). Started on first use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def shared_loop() -> asyncio.AbstractEventLoop:
    """The process's shell loop (started if needed)."""
    global _loop
    found = _loop
    if found is not None and not found.is_closed():
        return found  # without the lock: every command of every action thread asks
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="jobyard-sites", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def call(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the shell loop and wait for it (from any thread but that loop's)."""
    return asyncio.run_coroutine_threadsafe(coro, shared_loop()).result()


async def acall(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` run on the shell loop, from another event loop."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, shared_loop()))
