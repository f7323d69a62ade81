"""Recording outcomes: a worker's finished jobs written in batches, with the next claim.

The part of :class:`~jobyard.worker.runner.Worker` that turns finished handlers into
recorded outcomes (through the port, in the database thread), and the shutdown that
hands unstarted jobs back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jobyard.errors import LeaseLost
from jobyard.model import Job
from jobyard.worker.execute import Outcome, describe
from jobyard.worker.port import ClaimRequest, WorkerPort

if TYPE_CHECKING:
    from jobyard.context import JobContext
    from jobyard.worker.runner import Running, ShutdownLevel

log = logging.getLogger("jobyard.worker")
# How long outcomes may wait to be recorded with the next ones while queued work remains.
GATHER_SECONDS = 0.002


class Recorder:
    """Mixin of Worker: finishing, recording and handing back."""

    port: WorkerPort
    concurrency: int
    poll: float
    queued: deque[Job]
    running: dict[int, Running]
    done_count: int
    _stopping: ShutdownLevel | None
    _wake: asyncio.Event | None
    _avg_duration: float
    _start_times: dict[int, float]
    _finished: list[tuple[Job, Outcome]]
    _recording: list[tuple[Job, Outcome]]
    _unwritten: dict[int, JobContext]
    _flushing: bool
    _handed_back: set[int]

    if TYPE_CHECKING:  # provided by Worker

        async def _db_call(self, fn: Any, *args: Any) -> Any: ...
        def _claim_limit(self) -> int: ...
        def _claim_request(self, limit: int) -> ClaimRequest: ...
        def _accept(self, jobs: list[Job]) -> None: ...
        def _claimed(self, jobs: list[Job]) -> list[Job]: ...
        def _spawn(self, coro: Any) -> None: ...
        def _start_queued(self) -> None: ...

    def _finish(self, job: Job, outcome: Outcome, ctx: JobContext | None = None) -> None:
        started = self._start_times.pop(job.id, None)
        if started is not None:
            took = time.monotonic() - started
            self._avg_duration = (
                took if not self._avg_duration else (0.9 * self._avg_duration + 0.1 * took)
            )
        if ctx is not None and ctx.holds:  # a `with job.semaphore(...)` it never left
            self._spawn(self._db_call(release_holds, ctx))
        if self._stopping == "hard" and job.id in self._handed_back:
            return
        if ctx is not None and ctx.buffered_any:
            # Its log goes in before its outcome. Whether anything is left to write is
            # judged in the database thread: a background write in flight may hand back
            # what it could not write.
            self._unwritten[job.id] = ctx
        self._finished.append((job, outcome))
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush())
        assert self._wake is not None
        self._wake.set()

    async def _flush(self) -> None:
        try:
            while self._finished:
                if len(self._finished) < self.concurrency and self.queued and not self._stopping:
                    # The handlers have work queued: let more outcomes come while they run
                    # it, and record them all in one transaction (the database thread is
                    # the worker's one serial part; a few jobs per commit starve it).
                    await asyncio.sleep(GATHER_SECONDS)
                batch, self._finished = self._finished, []
                self._recording = batch  # still leased: the heartbeat renews these too
                try:
                    kept = await self._flush_batch(batch)
                finally:
                    self._recording = []
                self.done_count += len(batch) - len(kept)
                if kept:  # the database is out of reach: try again later, leases cover them
                    self._finished[:0] = kept
                    await asyncio.sleep(self.poll)
        finally:
            self._flushing = False

    async def _flush_batch(self, batch: list[tuple[Job, Outcome]]) -> list[tuple[Job, Outcome]]:
        """Record a batch; return the outcomes to try again later."""
        try:
            claimed = await self._db_call(self._write_and_record, batch, self._claim_limit())
        except Exception:
            log.warning("recording %d outcomes failed; one by one now", len(batch), exc_info=True)
            kept: list[tuple[Job, Outcome]] = await self._db_call(self._record_each, batch)
            self._forget_buffers(batch, kept)
            return kept
        self._forget_buffers(batch, [])
        if claimed:
            self._accept(claimed)
        return []

    def _write_and_record(self, batch: list[tuple[Job, Outcome]], claim: int) -> list[Job]:
        """The batch's buffered writes, then its outcomes; claim the next jobs in the same
        transaction as the outcomes: one commit instead of two."""
        if self._unwritten:
            due = [self._unwritten[j.id] for j, _ in batch if j.id in self._unwritten]
            self._write_buffers(due)
        return self._record(batch, claim)

    def _forget_buffers(
        self, batch: list[tuple[Job, Outcome]], kept: list[tuple[Job, Outcome]]
    ) -> None:
        if not self._unwritten:
            return
        waiting = {job.id for job, _ in kept}
        for job, _ in batch:
            if job.id not in waiting:
                self._unwritten.pop(job.id, None)

    def _write_buffers(self, ctxs: Sequence[JobContext]) -> None:
        """Make the buffered log and progress writes of ``ctxs`` (database thread). A run
        no longer ours drops them; writes that fail while the database works are dropped
        too (logged), so that they never block an outcome. Raises while it is out of reach."""
        for ctx in ctxs:
            if not ctx.pending:
                continue
            try:
                ctx.flush()
            except LeaseLost:
                continue
            except Exception:
                if not self._reachable(ctx.job):
                    raise
                log.exception("job %s: writing its log failed; those entries are lost", ctx.id)
                ctx.drop_pending()

    def _record_each(self, batch: list[tuple[Job, Outcome]]) -> list[tuple[Job, Outcome]]:
        """Record outcomes one per transaction, so that one which cannot be written (a
        per-row failure) costs only its own job. Returns the outcomes left once the database
        itself is out of reach; none is retried forever while the database works."""
        for index, (job, outcome) in enumerate(batch):
            ctx = self._unwritten.get(job.id)
            try:
                if ctx is not None:
                    self._write_buffers([ctx])
                self._record([(job, outcome)])
                continue
            except Exception as exc:
                problem = exc
            if not self._reachable(job):
                log.warning("database out of reach: %d outcomes wait", len(batch) - index)
                return batch[index:]
            reason = unrecordable(problem)
            try:
                self._record([(job, Outcome(False, error=reason))])
            except Exception:
                # Given up: its lease is no longer renewed, so it is rescued and runs again
                # (bounded by quarantine) rather than blocking every later outcome.
                log.exception("job %s: %s; recording that failed too: dropped", job.id, reason)
                continue
            log.error("job %s: %s", job.id, reason)
        return []

    def _reachable(self, job: Job) -> bool:
        try:
            self.port.get_job(job.id)
        except Exception:
            return False
        return True

    def _record(self, batch: list[tuple[Job, Outcome]], claim: int = 0) -> list[Job]:
        return self._claimed(self.port.record(batch, self._claim_request(claim) if claim else None))

    async def _drain(self) -> None:
        """Shut down at the requested level; handed-back jobs keep their attempt."""
        while True:
            # A flush that was under way when the stop came may still bring claimed jobs:
            # give back whatever is queued on every pass, not just the first.
            await self._hand_back_queued()
            if not self.running and not self.queued:
                break
            if self._stopping == "hard":
                break
            self._start_queued()
            assert self._wake is not None
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), 0.5)
            except TimeoutError:
                pass
        if self.running:  # hard: give back whatever is still running
            back = [job for job, _, _ in self.running.values()]
            self._handed_back = {j.id for j in back}
            ctxs = [ctx for _, ctx, _ in self.running.values()]
            for ctx in ctxs:
                ctx.cancelled = True
            for _, _, fut in self.running.values():
                if fut is not None:
                    fut.cancel()
            try:  # what they logged so far is kept, as when each log() wrote at once
                await self._db_call(self._write_buffers, ctxs)
            except Exception:
                log.warning("writing the log of %d handed-back job(s) failed", len(ctxs))
            await self._db_call(self.port.hand_back, back, "hard shutdown")
        while self._flushing or self._finished:
            await asyncio.sleep(0.01)
            if not self._flushing and self._finished:
                await self._flush()
        await self._hand_back_queued()

    async def _hand_back_queued(self) -> None:
        if self.queued and (self._stopping or "normal") in ("normal", "hard"):
            back, self.queued = list(self.queued), deque()
            await self._db_call(self.port.hand_back, back, "worker shutdown")


def release_holds(ctx: JobContext) -> None:
    """Give up the call holds a finished (or given up) job still has: they count for
    nothing once its run ended, this frees their rows and wakes whoever waits."""
    try:
        ctx.release_holds()
    except Exception:
        log.warning("job %s: giving up its semaphore holds failed", ctx.id, exc_info=True)


def unrecordable(problem: Exception) -> str:
    """The error a job fails with when its own outcome cannot be written: the database's
    reason, kept short and free of what made the outcome unwritable (a NUL, its size)."""
    reason = f"could not record outcome: {describe(problem)}".replace("\x00", "\\x00")
    return reason if len(reason) <= 1000 else reason[:999] + "…"
