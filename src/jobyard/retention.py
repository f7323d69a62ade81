"""Retention of finished jobs (``[retention]``, jobyard.config.Retention): completed,
failed and cancelled jobs older than ``jobs_days``, or beyond the newest ``jobs_keep`` of
them, go with their logs and dependency rows; removed-job tombstones older than
``tombstones_days`` go too. Finished jobs older than ``archive_hours`` that stay move to the
archive table (jobyard.store.archive): read as before, out of the table every claim and
outcome writes. Every process that keeps house (scheduler, web, ``up``, local
workers) offers to run it hourly (:class:`Housekeeper`); one of them does, a chunk of rows
per transaction.
The newest job row and the newest tombstone always stay, so no job id is ever handed out
twice. Event logs have their own retention (``[events]``, jobyard.feed.prune)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from jobyard import feed, model
from jobyard.config import Config, Retention

if TYPE_CHECKING:
    from jobyard.store.base import Store

log = logging.getLogger("jobyard.retention")

CHUNK = 1000
ARCHIVE_CHUNK = 5000  # rows moved per transaction (two statements over the chunk)
EVERY = 3600.0  # how often the prunes run, across every process of a database
TICK_TYPE = "@retention"  # the schedule-tick row that claims an hour's run (no job type)
TICKS_DAYS = 7.0  # schedule ticks older than this go (each type keeps its latest)


def claim_run(store: Store, now: float, every: float = EVERY) -> bool:
    """True for exactly one caller per ``every`` seconds across all processes: the first to
    record this period's tick (one statement; a lost race records nothing)."""
    return store.insert_schedule_tick(TICK_TYPE, int(now // every * every), now)


def prune_all(store: Store, now: float, config: Config) -> int:
    """Every retention at once: schedule ticks, both event logs, finished jobs and
    tombstones; returns how many jobs went."""
    store.prune_schedule_ticks(int(now - TICKS_DAYS * 86400.0))
    feed.prune(store, now, config.events_keep_days, config.events_keep_rows)
    gone = prune_jobs(store, now, config.retention)
    archive_jobs(store, now, config.retention)
    return gone


class Housekeeper:
    """Runs :func:`prune_all` once per period when this process wins the period's claim,
    in a thread of its own (a first prune of a big history takes a while: it must not
    hold up a worker's claims and heartbeats); asks the database at most once a period."""

    def __init__(self, store: Store, config: Config, every: float = EVERY) -> None:
        self.store = store
        self.config = config
        self.every = every
        self._next = 0.0
        self._thread: threading.Thread | None = None

    def offer(self, now: float) -> bool:
        """Claim and start this period's run if it is due and nobody has it; True if
        started here."""
        if now < self._next or (self._thread is not None and self._thread.is_alive()):
            return False
        self._next = (now // self.every + 1) * self.every
        if not claim_run(self.store, now, self.every):
            return False
        self._thread = threading.Thread(
            target=self._run, args=(now,), name="jobyard-retention", daemon=True
        )
        self._thread.start()
        return True

    def _run(self, now: float) -> None:
        try:
            prune_all(self.store, now, self.config)
        except Exception:  # a database outage: the next period tries again
            log.exception("retention run failed")
        finally:
            self.store.close_thread()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def prune_jobs(store: Store, now: float, rules: Retention, chunk: int = CHUNK) -> int:
    """Delete what ``rules`` say is past keeping, archived or not; returns how many jobs
    went."""
    gone = 0
    batches: list[tuple[Callable[[], list[int]], Callable[[list[int]], list[int]]]] = []
    finished = sorted(model.FINISHED)

    def delete(ids: list[int]) -> list[int]:
        return store.delete_jobs(ids, finished)

    if rules.jobs_days is not None:
        before = now - rules.jobs_days * 86400.0
        batches.append((lambda: store.archived_old(before, chunk), store.delete_archived))
        batches.append((lambda: store.finished_old(before, chunk), delete))
    if rules.jobs_keep is not None:
        cutoff = store.finished_cutoff(rules.jobs_keep)
        if cutoff is not None:
            upto = cutoff
            batches.append((lambda: store.archived_upto(upto, chunk), store.delete_archived))
            batches.append((lambda: store.finished_upto(upto, chunk), delete))
    for next_ids, remove in batches:
        while True:
            with store.transaction():
                ids = next_ids()
                if ids:
                    gone += len(remove(ids))
            if len(ids) < chunk:
                break
    with store.transaction():
        store.prune_tombstones(now - rules.tombstones_days * 86400.0)
    if gone:
        log.info("retention: removed %d finished jobs", gone)
    return gone


def archive_jobs(store: Store, now: float, rules: Retention, chunk: int = ARCHIVE_CHUNK) -> int:
    """Move finished jobs older than ``archive_hours`` to the archive (never the newest
    job row: ids are max(id) + 1); returns how many moved."""
    if rules.archive_hours is None:
        return 0
    before = now - rules.archive_hours * 3600.0
    moved = 0
    while True:
        with store.transaction():
            ids = store.finished_old(before, chunk)
            moved += store.archive(ids)
        if len(ids) < chunk:
            break
    if moved:
        log.info("retention: archived %d finished jobs", moved)
    return moved
