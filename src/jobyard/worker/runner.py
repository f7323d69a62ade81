"""The worker: claims jobs in batches, runs handlers, completes in batches, keeps leases.

An asyncio loop owns the bookkeeping; store calls go through one database thread; sync
handlers run in a thread pool and async handlers on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

from jobyard import lifecycle, manage
from jobyard.context import JobContext
from jobyard.errors import InvalidInput
from jobyard.model import Job
from jobyard.worker import registry
from jobyard.worker.execute import Outcome, run_async, run_batch, run_sync
from jobyard.worker.threads import HandlerThreads

if TYPE_CHECKING:
    from jobyard.yard import JobType, Yard

log = logging.getLogger("jobyard.worker")
ShutdownLevel = Literal["soft", "normal", "hard"]


class Worker:
    def __init__(
        self,
        yard: Yard,
        name: str | None = None,
        queues: Sequence[str] = ("default",),
        concurrency: int = 4,
        prefetch: int | None = None,
        lease: float | None = None,
        heartbeat: float | None = None,
        poll: float = 1.0,
        housekeeping: bool = True,
        handle_signals: bool = True,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInput(f"concurrency must be a whole number >= 1, got {concurrency!r}")
        if not queues:
            raise InvalidInput("a worker needs at least one queue")
        self.yard = yard
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        # A worker also serves its own name's queue: types assigned to it land there.
        self.queues = list(dict.fromkeys([*queues, f"worker:{self.name}"]))
        self.concurrency = concurrency
        # Claiming ahead amortises a transaction over many jobs (like Celery's prefetch
        # multiplier); prefetched jobs keep their lease and are handed back at shutdown.
        # Left unset, it adapts: about 50 ms of work queued locally, from concurrency (slow
        # jobs stay available to other workers) up to 32 x concurrency (tiny jobs).
        self.prefetch = 4 * concurrency if prefetch is None else max(prefetch, 0)
        self._auto_prefetch = prefetch is None
        self._avg_duration = 0.0  # EWMA of handler seconds
        self._start_times: dict[int, float] = {}
        self.lease = lease or yard.config.lease
        self.heartbeat = heartbeat or min(yard.config.heartbeat, self.lease / 3)
        self.poll = poll
        self.housekeeping = housekeeping
        self.handle_signals = handle_signals
        self.types: dict[str, JobType] = dict(yard.types)
        self.queued: deque[Job] = deque()
        self.running: dict[int, tuple[Job, JobContext, asyncio.Future[Any] | None]] = {}
        self.done_count = 0
        self.paused = False
        self._stopping: ShutdownLevel | None = None
        self._signals = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._finished: list[tuple[Job, Outcome]] = []
        self._flushing = False
        self._handed_back: set[int] = set()
        self._promote_after = 0.0
        self._tasks: set[asyncio.Future[Any]] = set()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._db = ThreadPoolExecutor(1, thread_name_prefix="jobyard-db")
        self._threads: HandlerThreads | None = None
        self._deadlines: dict[int, tuple[float, float]] = {}  # job id → (deadline, timeout)

    # -- public control (thread-safe) -------------------------------------------------------

    def run(self) -> None:
        asyncio.run(self._main())

    def start(self) -> Worker:
        """Run in a background thread (tests, embedding); returns once it is claiming."""
        self.handle_signals = False
        self._thread = threading.Thread(target=self.run, name=f"worker-{self.name}", daemon=True)
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self, level: ShutdownLevel = "normal", wait: bool = True, timeout: float = 30) -> None:
        if level not in ("soft", "normal", "hard"):
            raise InvalidInput(f"invalid shutdown level {level!r}: use soft, normal or hard")
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._request_stop, level)
        if wait and self._thread is not None:
            self._thread.join(timeout)

    def trigger(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.trigger()

    @property
    def length(self) -> int:
        return len(self.queued)

    @property
    def idle(self) -> bool:
        return not self.queued and not self.running

    @property
    def full(self) -> bool:
        return len(self.running) >= self.concurrency

    # -- the loop ---------------------------------------------------------------------------

    def _request_stop(self, level: ShutdownLevel) -> None:
        order = {"soft": 0, "normal": 1, "hard": 2}
        if self._stopping is None or order[level] > order[self._stopping]:
            self._stopping = level
        if self._wake is not None:
            self._wake.set()

    def _on_signal(self) -> None:
        self._signals += 1
        self._request_stop("normal" if self._signals == 1 else "hard")

    async def _db_call(self, fn: Any, *args: Any) -> Any:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._db, fn, *args)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(sig, self._on_signal)
        store = self.yard.store
        await self._db_call(registry.register, self)
        waiter = store.waiter(self.queues)
        listening = threading.Thread(target=self._listen, args=(waiter,), daemon=True)
        listening.start()
        beats = asyncio.create_task(self._beat_loop())
        self._threads = HandlerThreads(self.concurrency, self._loop, self._on_results)
        watchdog = asyncio.create_task(self._watch_deadlines())
        self._started.set()
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            beats.cancel()
            watchdog.cancel()
            self._listen_stop = True
            waiter.close()
            await self._db_call(registry.unregister, self)
            await self._db_call(store.close)
            self._db.shutdown(wait=True)
            if self._threads is not None:
                self._threads.close()

    _listen_stop = False

    def _listen(self, waiter: Any) -> None:
        while not self._listen_stop:
            try:
                woke = waiter.wait(1.0)
            except OSError:
                return
            if woke and self._loop is not None and self._wake is not None:
                try:
                    self._loop.call_soon_threadsafe(self._wake.set)
                except RuntimeError:
                    return

    def _capacity(self) -> int:
        return self.concurrency + self.prefetch - len(self.running) - len(self.queued)

    def _claim_batch(self, limit: int) -> tuple[list[Job], float | None]:
        store, now = self.yard.store, time.time()
        if self.housekeeping and now >= self._promote_after:
            # Promotion costs a query: while busy, look at most 5 times a second; when idle
            # the loop knows the next due time and comes back exactly then.
            manage.promote(store, now)
            self._promote_after = now + 0.2
        jobs = store.claim(
            self.name,
            uuid.uuid4().hex[:12],
            self.queues,
            [name for name, jt in self.types.items() if jt.active],
            limit,
            now,
            now + self.lease,
        )
        next_due = None
        if not jobs:
            row = store.execute("next_due").fetchone()
            next_due = row[0] if row else None
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
        jobs.sort(key=lambda j: (j.priority, j.after, j.id))
        self.queued.extend(jobs)
        self._start_queued()

    def _start_queued(self) -> None:
        if self._stopping in ("normal", "hard"):
            return  # queued jobs are handed back, not started
        while self.queued and len(self.running) < self.concurrency:
            job = self.queued.popleft()
            jt = self.types[job.type]
            batch = [job]
            while jt.batch and len(batch) < jt.batch:
                mate = next((j for j in self.queued if j.type == job.type), None)
                if mate is None:
                    break
                self.queued.remove(mate)
                batch.append(mate)
            # Count the slot now, not when the task first runs, or we'd overfill.
            ctxs = [JobContext(self.yard, j, self.lease) for j in batch]
            started = time.monotonic()
            for j in batch:
                self._start_times[j.id] = started
            for j, c in zip(batch, ctxs, strict=True):
                self.running[j.id] = (j, c, None)
            assert self._threads is not None
            if jt.batch:
                self._threads.submit(tuple(j.id for j in batch), run_batch, jt.func, ctxs)
            elif jt.is_async:
                self._spawn(self._run_one(jt, job, ctxs[0]))
            else:
                timeout = None if jt.own_timeout else job.timeout or jt.timeout
                if timeout:
                    self._deadlines[job.id] = (time.monotonic() + timeout, timeout)
                self._threads.submit(job.id, run_sync, jt.func, ctxs[0])

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)

    async def _run_one(self, jt: JobType, job: Job, ctx: JobContext) -> None:
        """An async handler, on the loop."""
        timeout = None if jt.own_timeout else job.timeout or jt.timeout
        fut: asyncio.Future[Outcome] = asyncio.ensure_future(run_async(jt.func, ctx))
        self.running[job.id] = (job, ctx, fut)
        try:
            outcome = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            outcome = Outcome(False, error=f"timed out after {timeout:g} s")
        except asyncio.CancelledError:
            outcome = Outcome(False, error="cancelled")
        if self.running.pop(job.id, None) is not None:
            self._finish(job, outcome)
        if self._stopping != "hard":
            self._start_queued()

    def _on_results(self, results: list[tuple[Any, Any]]) -> None:
        """Outcomes from handler threads (one job's, or a batch's list)."""
        for key, outcome in results:
            pairs = zip(key, outcome, strict=True) if isinstance(key, tuple) else [(key, outcome)]
            for job_id, one in pairs:
                self._deadlines.pop(job_id, None)
                entry = self.running.pop(job_id, None)
                if entry is not None:  # else it timed out or was handed back meanwhile
                    self._finish(entry[0], one)
        if self._stopping != "hard":
            self._start_queued()

    async def _watch_deadlines(self) -> None:
        """Fail sync jobs past their timeout; the thread runs on, its result is refused."""
        while True:
            await asyncio.sleep(0.05)
            if not self._deadlines:
                continue
            now = time.monotonic()
            for job_id, (deadline, timeout) in list(self._deadlines.items()):
                if deadline <= now:
                    del self._deadlines[job_id]
                    entry = self.running.pop(job_id, None)
                    if entry is not None:
                        entry[1].cancelled = True
                        self._finish(
                            entry[0], Outcome(False, error=f"timed out after {timeout:g} s")
                        )
            self._start_queued()

    def _finish(self, job: Job, outcome: Outcome) -> None:
        started = self._start_times.pop(job.id, None)
        if started is not None:
            took = time.monotonic() - started
            self._avg_duration = (
                took if not self._avg_duration else (0.9 * self._avg_duration + 0.1 * took)
            )
        if self._stopping == "hard" and job.id in self._handed_back:
            return
        self._finished.append((job, outcome))
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush())
        assert self._wake is not None
        self._wake.set()

    async def _flush(self) -> None:
        try:
            while self._finished:
                batch, self._finished = self._finished, []
                # Claim the next jobs in the same transaction: one commit instead of two.
                try:
                    claimed = await self._db_call(self._record, batch, self._claim_limit())
                except Exception:  # keep the outcomes and try again: a lease covers them
                    log.exception("recording %d outcomes failed; retrying", len(batch))
                    self._finished[:0] = batch
                    await asyncio.sleep(self.poll)
                    continue
                self.done_count += len(batch)
                if claimed:
                    self._accept(claimed)
        finally:
            self._flushing = False

    def _record(self, batch: list[tuple[Job, Outcome]], claim: int = 0) -> list[Job]:
        store, now = self.yard.store, time.time()
        with store.transaction():
            store.require_durability()  # outcomes must survive a database crash
            ok = [(job, o.result) for job, o in batch if o.ok]
            if ok:
                lifecycle.complete(store, ok, now)
            for job, o in batch:
                if not o.ok:
                    lifecycle.fail(store, job, o.error, now, fatal=o.fatal)
            return self._claim_batch(claim)[0] if claim else []

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
            for _, ctx, fut in self.running.values():
                ctx.cancelled = True
                if fut is not None:
                    fut.cancel()
            await self._db_call(
                manage.hand_back, self.yard.store, back, time.time(), "hard shutdown"
            )
        while self._flushing or self._finished:
            await asyncio.sleep(0.01)
            if not self._flushing and self._finished:
                await self._flush()
        await self._hand_back_queued()

    async def _hand_back_queued(self) -> None:
        if self.queued and (self._stopping or "normal") in ("normal", "hard"):
            back, self.queued = list(self.queued), deque()
            await self._db_call(
                manage.hand_back, self.yard.store, back, time.time(), "worker shutdown"
            )

    # -- heartbeats, registry, housekeeping ---------------------------------------------------

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self._db_call(registry.beat, self)
            except Exception:  # a failed beat must not kill the worker; the next one retries
                log.exception("heartbeat failed")
