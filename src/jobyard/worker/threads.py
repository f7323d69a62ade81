"""Threads for sync handlers, lighter than one executor future per job.

Handler threads pull work from one queue and push outcomes to a deque; the event loop is
poked once per burst of outcomes, not once per job.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

Work = tuple[Any, Callable[..., Any], tuple[Any, ...]]


class HandlerThreads:
    def __init__(
        self,
        count: int,
        loop: asyncio.AbstractEventLoop,
        on_results: Callable[[list[tuple[Any, Any]]], None],
        name: str = "jobyard-job",
    ) -> None:
        self._loop = loop
        self._on_results = on_results
        self._inbox: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._outbox: deque[tuple[Any, Any]] = deque()
        self._poked = False
        self._lock = threading.Lock()
        # When each piece of work really started (monotonic): a job's timeout counts from
        # here, not from when it was queued to a thread that may still be busy.
        self._started: dict[Any, float] = {}
        # Daemon threads: a handler stuck after a hard shutdown must not keep us alive.
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True)
            for i in range(count)
        ]
        for t in self._threads:
            t.start()

    def submit(self, key: Any, fn: Callable[..., Any], *args: Any) -> None:
        self._inbox.put((key, fn, args))

    def started_at(self, key: Any) -> float | None:
        return self._started.get(key)

    def _serve(self) -> None:
        while True:
            work = self._inbox.get()
            if work is None:
                return
            key, fn, args = work
            self._started[key] = time.monotonic()
            try:
                result = fn(*args)
            except BaseException as exc:  # the thread must outlive any work: report it
                result = exc
            finally:
                self._started.pop(key, None)
            self._outbox.append((key, result))
            with self._lock:
                if self._poked:
                    continue
                self._poked = True
            try:
                self._loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop is gone: the worker has stopped
                return

    def _deliver(self) -> None:
        with self._lock:
            self._poked = False
        results = []
        while self._outbox:
            results.append(self._outbox.popleft())
        if results:
            self._on_results(results)

    def close(self) -> None:
        for _ in self._threads:
            self._inbox.put(None)
