"""Keeping a worker's runs honest: timeouts, leases, heartbeats, buffered writes.

The part of :class:`~jobyard.worker.runner.Worker` that watches its running jobs: sync
jobs past their timeout, leases about to run out unrenewed (the database out of reach),
the heartbeat, and the background writes of the handlers' buffered logs and progress.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from jobyard.model import Job
from jobyard.worker import registry
from jobyard.worker.execute import Outcome
from jobyard.worker.threads import HandlerThreads

if TYPE_CHECKING:
    from jobyard.context import JobContext
    from jobyard.worker.runner import RunKey, Running, ShutdownLevel

log = logging.getLogger("jobyard.worker")
WRITE_EVERY = 0.1  # seconds between background writes of buffered logs and progress


class Keeper:
    """Mixin of Worker: the watchdog, the heartbeat and the buffered writes."""

    lease: float
    heartbeat: float
    queued: deque[Job]
    running: dict[int, Running]
    _stopping: ShutdownLevel | None
    _threads: HandlerThreads | None
    _deadlines: dict[int, tuple[RunKey, float]]
    _keys: dict[int, RunKey]
    _abandoned: set[RunKey]
    _lease_margin: float

    if TYPE_CHECKING:  # provided by Worker (and Recorder)

        async def _db_call(self, fn: Any, *args: Any) -> Any: ...
        def _take(self, job_id: int, run_id: str | None) -> Running | None: ...
        def _start_queued(self) -> None: ...
        def _finish(self, job: Job, outcome: Outcome, ctx: JobContext | None = None) -> None: ...
        def _write_buffers(self, ctxs: list[JobContext]) -> None: ...
        def in_flight(self) -> list[Job]: ...

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self._check_deadlines()
            self._check_leases()
            if self._stopping != "hard":
                self._start_queued()

    def _check_deadlines(self) -> None:
        """Fail sync jobs past their timeout; the thread runs on, its result is refused."""
        if not self._deadlines or self._threads is None:
            return
        now = time.monotonic()
        for job_id, (key, timeout) in list(self._deadlines.items()):
            started = self._threads.started_at(key)
            if started is None or started + timeout > now:
                continue  # not started yet (or just returned: its result is on its way)
            entry = self._take(job_id, key[0][1])
            if entry is None:
                continue
            entry[1].cancelled = True
            self._abandoned.add(key)  # its thread is busy until the handler returns
            error = f"timed out after {timeout:g} s"
            self._finish(entry[0], Outcome(False, error=error), entry[1])

    def _check_leases(self) -> None:
        """Give up jobs whose lease is about to run out unrenewed (the database has been
        out of reach for about a lease): they may be rescued and run elsewhere, so this
        worker must stop them and drop their outcomes rather than report a second run."""
        limit = time.time() + self._lease_margin
        lost = [job for job in self.queued if job.lease_expires and job.lease_expires <= limit]
        if lost:
            gone = {id(j) for j in lost}
            self.queued = deque(j for j in self.queued if id(j) not in gone)
            log.warning(
                "lease of %d queued job(s) ran out unrenewed (%s): not starting them",
                len(lost),
                ", ".join(str(j.id) for j in lost),
            )
        for job_id, (job, ctx, fut) in list(self.running.items()):
            if not job.lease_expires or job.lease_expires > limit:
                continue
            key = self._keys.get(job_id, ((job_id, job.run_id),))
            self._take(job_id, job.run_id)
            ctx.cancelled = True
            if fut is not None:
                fut.cancel()
            self._abandoned.add(key)  # until the handler returns; its outcome is dropped
            log.warning(
                "job %s: lease not renewed for %.1f s (database out of reach?); "
                "abandoning it, its outcome will be dropped (it may be rescued elsewhere)",
                job_id,
                self.lease - self._lease_margin,
            )

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                # The jobs to renew are listed here, on the loop that changes those lists.
                await self._db_call(registry.beat, self, self.in_flight())
            except Exception:  # a failed beat must not kill the worker; the next one retries
                log.exception("heartbeat failed")

    async def _write_loop(self) -> None:
        """Write what running handlers logged (and their progress) every WRITE_EVERY s,
        in the database thread: the handlers themselves never wait for it."""
        while True:
            await asyncio.sleep(WRITE_EVERY)
            ctxs = [ctx for _, ctx, _ in self.running.values() if ctx.pending]
            if not ctxs:
                continue
            try:
                await self._db_call(self._write_buffers, ctxs)
            except Exception:  # out of reach: the entries stay buffered, the next pass retries
                log.warning("writing the log of %d running job(s) failed", len(ctxs))
