"""Jobs finished per minute over the last hour, for the dashboard's chart.

Kept in memory per app and advanced by cursor over the transition events (jobyard.feed):
each refresh reads only what is new (bounded pages), so the chart costs the same on a
table of a thousand jobs or a million. A new process backfills from at most
``BACKFILL`` events back. Minutes are whole UTC minutes; the oldest fall off."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from jobyard import views
from jobyard.yard import Yard

MINUTES = 60
BACKFILL = 50_000
MIN_INTERVAL = 2.0  # seconds between two reads of the events
PAGE = 5_000
MAX_PAGES = 40  # per refresh: a burst is caught up over a few refreshes
KINDS = ("job.completed", "job.failed")


@dataclass(frozen=True)
class Bar:
    minute: int  # epoch minute
    completed: int
    failed: int


class Throughput:
    def __init__(self, yard: Yard) -> None:
        self.yard = yard
        self._lock = threading.Lock()
        self._cursor: int | None = None
        self._buckets: dict[int, list[int]] = {}
        self._read_at = 0.0

    def refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < MIN_INTERVAL:
                return
            self._read_at = time.monotonic()
            if self._cursor is None:
                self._cursor = max(views.latest_transition(self.yard) - BACKFILL, 0)
            oldest = int(time.time() // 60) - MINUTES + 1
            for _ in range(MAX_PAGES):
                events, cursor = views.transitions_after(self.yard, self._cursor, PAGE, KINDS)
                for e in events:
                    minute = int(e.time // 60)
                    if minute >= oldest:
                        bucket = self._buckets.setdefault(minute, [0, 0])
                        bucket[0 if e.name == "job.completed" else 1] += 1
                self._cursor = cursor
                if len(events) < PAGE:
                    break
            for minute in [m for m in self._buckets if m < oldest]:
                del self._buckets[minute]

    def bars(self) -> list[Bar]:
        self.refresh()
        now = int(time.time() // 60)
        with self._lock:
            return [
                Bar(m, *self._buckets.get(m, [0, 0])) for m in range(now - MINUTES + 1, now + 1)
            ]
