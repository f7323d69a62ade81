"""The events table: an append-only log read by cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobyard.store.core import StoreCore


@dataclass
class Event:
    id: int
    time: float
    name: str
    data: Any
    source_job: int | None
    depth: int
    jobs: list[int]


class EventsMixin(StoreCore):
    def insert_event(
        self,
        now: float,
        name: str,
        data_json: str,
        source_job: int | None,
        depth: int,
        jobs: Sequence[int],
    ) -> int:
        """Record an event (its data as the JSON text the caller checked); returns its id."""
        params = {
            "time": now,
            "name": name,
            "data": data_json,
            "source_job": source_job,
            "depth": depth,
            "jobs": self.encode_json(list(jobs)),
        }
        return int(self.execute("insert_event", params).fetchone()[0])

    def events_after(self, cursor: int, limit: int, name: str | None = None) -> list[Event]:
        """Events with ids above ``cursor`` (of one name if given), oldest first: a reader
        keeps the last id it saw as its cursor."""
        params = {"name": name, "after_id": cursor, "limit": limit}
        return [self._event(r) for r in self.execute("list_events", params).fetchall()]

    def recent_events(self, limit: int, name: str | None = None) -> list[Event]:
        """The latest ``limit`` events (of one name if given), oldest first."""
        rows = self.execute("recent_events", {"name": name, "limit": limit}).fetchall()
        return [self._event(r) for r in reversed(rows)]

    def _event(self, row: Any) -> Event:
        decode = self.decode_json
        return Event(
            int(row["id"]),
            float(row["time"]),
            str(row["name"]),
            decode(row["data"]),
            row["source_job"],
            int(row["depth"]),
            decode(row["jobs"]),
        )
