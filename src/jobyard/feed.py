"""The transition feed: job events read by cursor, after their transactions committed.

Observers, SSE and metrics read here, never inside a job's transaction: a slow reader holds
no lock and slows no worker. The events are written by the database itself, in the
transition's own transaction (docs/events.md), so every committed transition is in the feed
once and a rolled-back one never is.

    feed = Feed(store)
    events, cursor = feed.read(after=cursor, limit=100, kinds=["job.failed"])
    for event in feed.follow(after=cursor):   # waits for more; survives a database outage
        ...
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from jobyard.errors import DatabaseError, InvalidInput
from jobyard.i18n import _
from jobyard.limits import INT64_MAX
from jobyard.store.base import JobEvent

if TYPE_CHECKING:
    from jobyard.store.base import Store

log = logging.getLogger("jobyard.feed")

# Every kind in the log: the transitions the triggers write (migrations 0008, 0012), and
# job.created / job.log written by the insert code in the same transaction.
KINDS = (
    "job.created",
    "job.started",
    "job.progress",
    "job.retrying",
    "job.requeued",
    "job.interrupted",
    "job.completed",
    "job.failed",
    "job.cancelled",
    "job.paused",
    "job.resumed",
    "job.restarted",
    "job.log",
    "jobset.finished",
)


class Feed:
    """A cursor reader of the transition events of one store.

    ``poll`` is how long ``follow`` waits when it has read everything; after a
    DatabaseError it waits ``backoff`` seconds, doubling up to ``max_backoff``."""

    def __init__(
        self,
        store: Store,
        *,
        poll: float = 0.5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.store = store
        self.poll = poll
        self.backoff = backoff
        self.max_backoff = max_backoff

    def read(
        self, after: int = 0, limit: int = 100, kinds: Sequence[str] | None = None
    ) -> tuple[list[JobEvent], int]:
        """Up to ``limit`` events after the cursor ``after`` (0: from the first), in commit
        order, and the cursor to pass next time (unchanged when there was nothing new)."""
        _check_cursor(after, limit)
        events = self.store.job_events_after(after, limit, kinds)
        return events, events[-1].id if events else after

    def latest(self) -> int:
        """A cursor for "from now on": it skips what every reader can already see. On
        PostgreSQL, events of transactions still open may come out after it even when they
        sort before newer ones: they are delivered (some just-committed ones twice over a
        restart at this cursor), never skipped."""
        return self.store.last_job_event()

    def follow(
        self,
        after: int | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 100,
        stop: threading.Event | None = None,
    ) -> Iterator[JobEvent]:
        """Every event after ``after`` (None: from now on), as they come, until ``stop``
        is set. Each batch is read and its statement finished before the first event is
        yielded: however long the consumer takes, no transaction stays open."""
        stop = stop or threading.Event()
        cursor: int | None = after
        failures = 0
        while not stop.is_set():
            try:
                if cursor is None:
                    cursor = self.latest()
                events, cursor = self.read(cursor, limit, kinds)
            except DatabaseError as exc:
                failures += 1
                stop.wait(self._retry_in(failures, exc))
                continue
            failures = 0
            yield from events
            if len(events) < limit:
                stop.wait(self.poll)

    async def afollow(
        self,
        after: int | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 100,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[JobEvent]:
        """``follow`` for an event loop: reads run in a thread, waits do not block."""
        stop = stop or asyncio.Event()
        cursor: int | None = after
        failures = 0
        while not stop.is_set():
            try:
                if cursor is None:
                    cursor = await asyncio.to_thread(self.latest)
                events, cursor = await asyncio.to_thread(self.read, cursor, limit, kinds)
            except DatabaseError as exc:
                failures += 1
                await _wait(stop, self._retry_in(failures, exc))
                continue
            failures = 0
            for event in events:
                yield event
            if len(events) < limit:
                await _wait(stop, self.poll)

    def deliver(
        self,
        handler: Callable[[JobEvent], object],
        after: int | None = None,
        kinds: Sequence[str] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Call ``handler`` with every event until ``stop``: an observer's loop. A handler
        that raises is logged and the feed goes on (its transition committed long ago)."""
        for event in self.follow(after, kinds, stop=stop):
            try:
                handler(event)
            except Exception:
                log.exception("event handler failed on %s of job %s", event.name, event.job_id)

    def _retry_in(self, failures: int, exc: DatabaseError) -> float:
        delay: float = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
        log.warning("event feed: %s (retrying in %.1f s)", exc, delay)
        return delay


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def _check_cursor(after: object, limit: object) -> None:
    """A cursor is an event id (0 for the start) and a page 1 to 10,000 events."""
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= INT64_MAX:
        raise InvalidInput(
            _(
                "invalid cursor {after!r}: give an event id from 0 to {INT64_MAX}",
                after=after,
                INT64_MAX=INT64_MAX,
            )
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInput(
            _("invalid limit {limit!r}: give a whole number from 1 to 10000", limit=limit)
        )


PRUNE_CHUNK = 10_000  # rows per delete statement: short transactions, no long lock


def prune(store: Store, now: float, keep_days: float, keep_rows: int) -> int:
    """Retention of both event logs (``[events] keep_days``, ``keep_rows``): rows older
    than ``keep_days`` or beyond the newest ``keep_rows`` go, oldest first, a chunk per
    transaction. A reader whose cursor points into the pruned part goes on after it (ids
    only grow); what it had not read is gone, which is what retention means."""
    before = now - keep_days * 86400.0
    gone = 0
    for table in ("job_events", "events"):
        while True:
            with store.transaction():
                n = store.prune_log(table, before, keep_rows, PRUNE_CHUNK)
            gone += n
            if n < PRUNE_CHUNK:
                break
    if gone:
        log.info("pruned %d events (keep %g days, %d rows)", gone, keep_days, keep_rows)
    return gone
