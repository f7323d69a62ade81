"""Job counts for the dashboard, served stale-while-revalidate: counting a million rows
takes longer than a page may (the TTFB target is 100 ms), so a page reads the last counts
at once and, when they are older than ``max_age``, one background thread counts again.
The first call of a process waits for a count (there is nothing to show before it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Counter = Callable[[], dict[str, int]]


class StaleCounts:
    def __init__(self, count: Counter, max_age: float = 3.0) -> None:
        self._count = count
        self.max_age = max_age
        self._lock = threading.Lock()
        self._value: dict[str, int] | None = None
        self._at = 0.0
        self._refreshing = False

    def get(self) -> tuple[dict[str, int], float]:
        """The counts and when they were taken (epoch seconds)."""
        with self._lock:
            value, at = self._value, self._at
            stale = value is None or time.time() - at > self.max_age
            start = stale and value is not None and not self._refreshing
            if start:
                self._refreshing = True
        if value is None:
            return self._refresh()
        if start:
            threading.Thread(target=self._refresh_quietly, daemon=True).start()
        return value, at

    def _refresh(self) -> tuple[dict[str, int], float]:
        try:
            value, at = self._count(), time.time()
            with self._lock:
                self._value, self._at = value, at
            return value, at
        finally:
            with self._lock:
                self._refreshing = False

    def _refresh_quietly(self) -> None:
        try:
            self._refresh()
        except Exception:  # a passing database error: the next page view tries again
            return
