"""Claiming: how many jobs a worker asks for and when, in batches, with the promotion of
due jobs folded in; the part of :class:`~jobyard.worker.runner.Worker` that keeps its local
queue filled."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jobyard.model import Job
from jobyard.worker.port import ClaimRequest, WorkerPort

if TYPE_CHECKING:
    from jobyard.types import JobType
    from jobyard.worker.runner import ShutdownLevel

log = logging.getLogger("jobyard.worker")


class Claimer:
    """Mixin of Worker: the claim loop and the claim requests."""

    name: str
    queues: Sequence[str]
    port: WorkerPort
    concurrency: int
    prefetch: int
    lease: float
    poll: float
    housekeeping: bool
    paused: bool
    types: dict[str, JobType]
    queued: deque[Job]
    _auto_prefetch: bool
    _avg_duration: float
    _promote_after: float
    _stopping: ShutdownLevel | None
    _wake: asyncio.Event | None
    _unaccepted: int
    _unaccepted_lock: threading.Lock

    if TYPE_CHECKING:  # provided by Worker

        async def _db_call(self, fn: Any, *args: Any) -> Any: ...
        def _busy(self) -> int: ...
        def _start_queued(self) -> None: ...

    def _capacity(self) -> int:
        return self.concurrency + self.prefetch - self._busy() - len(self.queued)

    def _claim_request(self, limit: int) -> ClaimRequest:
        now = time.time()
        promote = self.housekeeping and now >= self._promote_after
        if promote:
            # Promotion costs a query: while busy, look at most 5 times a second; when idle
            # the loop knows the next due time and comes back exactly then.
            self._promote_after = now + 0.2
        active = [(name, jt) for name, jt in self.types.items() if jt.active]
        limits = {n: lim for n, jt in active if (lim := jt.admission_limit()) is not None}
        types = [name for name, _unused in active]
        # A job naming semaphores holds its slots from the claim on: only as many as start
        # at once (a prefetched one would hold them while it waits in the queue here).
        start = self.concurrency - self._busy() - len(self.queued) - self._unaccepted
        return ClaimRequest(
            self.name, self.queues, types, limit, self.lease, promote, limits,
            start_now=min(max(start, 0), limit),
        )  # fmt: skip

    def _claimed(self, jobs: list[Job]) -> list[Job]:
        """Note jobs claimed in the database thread until the loop queues them."""
        with self._unaccepted_lock:
            self._unaccepted += len(jobs)
        return jobs

    def _claim_batch(self, limit: int) -> tuple[list[Job], float | None]:
        jobs = self._claimed(self.port.claim(self._claim_request(limit)))
        next_due = None
        if not jobs:
            next_due = self.port.next_due()
            if next_due is not None:
                self._promote_after = min(self._promote_after, next_due)
        return jobs, next_due

    async def _claim_loop(self) -> None:
        assert self._wake is not None
        while self._stopping is None:
            self._wake.clear()
            self._start_queued()
            next_due = None
            limit = self._claim_limit()
            if limit:
                try:
                    jobs, next_due = await self._db_call(self._claim_batch, limit)
                except Exception:  # e.g. the database restarted: keep the worker alive
                    log.exception("claiming jobs failed; retrying in %s s", self.poll)
                    await asyncio.sleep(self.poll)
                    continue
                self._accept(jobs)
                if jobs and self._capacity() > 0:
                    continue  # there may be more
            timeout = self.poll
            if next_due is not None:
                timeout = max(0.0, min(timeout, next_due - time.time()))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def _claim_limit(self) -> int:
        """How many jobs to claim now (0: not now). Refill in batches: with jobs still
        queued locally, wait until the queue is half empty instead of claiming one job per
        finished job."""
        if self._stopping or self.paused or not self.types:
            return 0
        if self._auto_prefetch and self._avg_duration > 0:
            wanted = int(0.05 * self.concurrency / self._avg_duration)
            self.prefetch = min(max(wanted, self.concurrency), 32 * self.concurrency)
        if len(self.queued) >= max(1, self.prefetch // 2):
            return 0
        return max(self._capacity(), 0)

    def _accept(self, jobs: list[Job]) -> None:
        with self._unaccepted_lock:
            self._unaccepted -= len(jobs)
        jobs.sort(key=lambda j: (j.priority, j.after, j.id))
        self.queued.extend(jobs)
        self._start_queued()
