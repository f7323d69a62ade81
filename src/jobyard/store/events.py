"""The events tables, append-only logs read by cursor: ``events`` (what was emitted, and
the jobs each emit created) and ``job_events`` (job transitions, written by the
database's triggers in the transition's own transaction; see docs/events.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from jobyard.store.core import StoreCore

LogTable = Literal["events", "job_events"]


@dataclass
class Event:
    id: int
    time: float
    name: str
    data: Any
    source_job: int | None
    depth: int
    jobs: list[int]


@dataclass(frozen=True)
class JobEvent:
    """One transition of one job: ``job.started``, ``job.completed``, ``job.progress`` ...
    ``status`` is the job's status right after it; ``data`` depends on the name."""

    id: int
    time: float
    name: str
    job_id: int
    type: str
    queue: str
    status: str
    data: Any


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

    def job_events_after(
        self, cursor: int, limit: int, kinds: Sequence[str] | None = None
    ) -> list[JobEvent]:
        """Transition events after the one whose id is ``cursor`` (0: from the first), in
        commit order, of the given names if any: a reader keeps the last id it saw. A
        plain read, never inside a transaction of the caller's: nothing is held open."""
        params = {
            "after": cursor,
            "limit": limit,
            "any_kind": not kinds,
            "kinds": self.list_param(list(kinds or ())),
        }
        rows = self.execute("job_events_after", params).fetchall()
        return [self._job_event(r) for r in rows]

    def last_job_event(self) -> int:
        """A cursor for "from now on" (0 if none): the newest transition event every reader
        can see (on PostgreSQL not max(id), which would skip events of open transactions)."""
        return int(self.execute("job_events_last", {}).fetchone()[0])

    def add_job_events(self, name: str, ids: Sequence[int], now: float, data: Any) -> None:
        """Write a ``name`` event for each of these jobs (a change no trigger announces)."""
        if ids:
            params = {
                "now": now,
                "name": name,
                "ids": self.list_param(list(ids)),
                "data": self.encode_json(data),
            }
            self.execute("job_events_named", params)

    def prune_log(self, table: LogTable, before: float, keep_rows: int, chunk: int) -> int:
        """Delete at most ``chunk`` of the oldest rows of ``table`` that are older than
        ``before`` or beyond the newest ``keep_rows``; returns how many went. Ids grow with
        time, so the rows to go are a prefix: found in the oldest chunk, not by a scan."""
        last = int(self.execute(f"{table}_max", {}).fetchone()[0])
        upto = 0
        for row in self.execute(f"{table}_oldest", {"limit": chunk}).fetchall():
            # The newest row always stays: SQLite hands out max(id) + 1, and ids that
            # started again from 1 would send every reader's cursor past new events.
            if int(row[0]) >= last or (float(row[1]) >= before and int(row[0]) > last - keep_rows):
                break
            upto = int(row[0])
        if not upto:
            return 0
        return int(self.execute(f"{table}_delete_upto", {"upto": upto}).rowcount)

    def _job_event(self, row: Any) -> JobEvent:
        return JobEvent(
            int(row["id"]),
            float(row["time"]),
            str(row["name"]),
            int(row["job_id"]),
            str(row["type"]),
            str(row["queue"]),
            str(row["status"]),
            self.decode_json(row["data"]),
        )
