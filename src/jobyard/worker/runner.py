"""The worker: claims jobs in batches, runs handlers, completes in batches, keeps leases.

An asyncio loop owns the bookkeeping; every call to the store goes through the worker's
port (:mod:`jobyard.worker.port`; ``LocalPort`` unless another is given) in one database
thread; sync handlers run in a thread pool and async handlers on the loop. Claiming is in
:mod:`jobyard.worker.claiming`, recording outcomes in :mod:`jobyard.worker.recording`, the
watchdog and heartbeat in :mod:`jobyard.worker.leases`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

from jobyard.context import JobContext
from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.model import Job
from jobyard.worker import registry
from jobyard.worker.claiming import Claimer
from jobyard.worker.execute import Outcome, failed, run_async, run_batch, run_sync
from jobyard.worker.leases import Keeper
from jobyard.worker.port import WorkerPort
from jobyard.worker.recording import Recorder, unrecordable
from jobyard.worker.threads import HandlerThreads

if TYPE_CHECKING:
    from jobyard.yard import JobType, Yard

log = logging.getLogger("jobyard.worker")
# Jobs at most this long on average (seconds) are queued to handler threads ahead (_slots).
TINY_JOB = 0.005
ShutdownLevel = Literal["soft", "normal", "hard"]
# What a handler runs for: the (job id, run id) of each of its jobs (one, or a batch's).
# A job id alone is not enough: the same job may come back under a new run while an older
# run of it is still stuck in a thread.
RunKey = tuple[tuple[int, str | None], ...]
Running = tuple[Job, JobContext, "asyncio.Future[Any] | None"]


__all__ = ["Worker", "unrecordable"]


class Worker(Claimer, Recorder, Keeper):
    def __init__(
        self,
        yard: Yard,
        name: str | None = None,
        queues: Sequence[str] = ("default",),
        concurrency: int = 8,
        prefetch: int | None = None,
        lease: float | None = None,
        heartbeat: float | None = None,
        poll: float = 1.0,
        housekeeping: bool = True,
        handle_signals: bool = True,
        port: WorkerPort | None = None,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInput(
                _(
                    "concurrency must be a whole number >= 1, got {concurrency!r}",
                    concurrency=concurrency,
                )
            )
        if not queues:
            raise InvalidInput(_("a worker needs at least one queue"))
        self.yard = yard
        if port is None:
            from jobyard.worker.local import LocalPort

            port = LocalPort(yard)
        self.port: WorkerPort = port
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
        self.running: dict[int, Running] = {}
        self.done_count = 0
        self.paused = False
        self._stopping: ShutdownLevel | None = None
        self._signals = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._finished: list[tuple[Job, Outcome]] = []
        self._recording: list[tuple[Job, Outcome]] = []  # the batch being written now
        self._unwritten: dict[int, JobContext] = {}  # finished, with log writes still due
        self._flushing = False
        self._handed_back: set[int] = set()
        self._promote_after = 0.0
        self._unaccepted = 0  # jobs claimed in the database thread, not yet queued here
        self._unaccepted_lock = threading.Lock()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._db = ThreadPoolExecutor(1, thread_name_prefix="jobyard-db")
        self._threads: HandlerThreads | None = None
        self._deadlines: dict[int, tuple[RunKey, float]] = {}  # job id → (its key, timeout)
        self._keys: dict[int, RunKey] = {}  # running job id → its handler's key
        # Handlers still running whose outcome is no longer wanted (timed out, lease lost):
        # they hold a thread (or a slot) until they return, so they count against capacity.
        self._abandoned: set[RunKey] = set()
        # A job whose lease is this close to running out without renewal is given up: it
        # may be rescued elsewhere at its expiry, and must not run (or report) twice.
        self._lease_margin = min(self.heartbeat, self.lease / 4)

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
            raise InvalidInput(
                _("invalid shutdown level {level!r}: use soft, normal or hard", level=level)
            )
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
        return self._busy() >= self.concurrency

    def _busy(self) -> int:
        return len(self.running) + len(self._abandoned)

    def in_flight(self) -> list[Job]:
        """Jobs this worker holds a lease for: queued, running, or outcomes to record."""
        return [
            *self.queued,
            *(entry[0] for entry in self.running.values()),
            *(job for job, _unused in (*self._finished, *self._recording)),
        ]

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
        await self._db_call(registry.register, self)
        waiter = self.port.waiter(self.queues)
        listening = threading.Thread(target=self._listen, args=(waiter,), daemon=True)
        listening.start()
        beats = asyncio.create_task(self._beat_loop())
        writes = asyncio.create_task(self._write_loop())
        self._threads = HandlerThreads(self.concurrency, self._loop, self._on_results)
        watchdog = asyncio.create_task(self._watch())
        self._started.set()
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            beats.cancel()
            writes.cancel()
            watchdog.cancel()
            self._listen_stop = True
            waiter.close()
            await self._db_call(registry.unregister, self)
            await self._db_call(self.port.close)
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

    def _start_queued(self) -> None:
        if self._stopping in ("normal", "hard"):
            return  # queued jobs are handed back, not started
        while self.queued and self._busy() < self._slots(self.queued[0]):
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
            ctxs = [JobContext(self.yard, j, self.lease, self.port, buffered=True) for j in batch]
            started = time.monotonic()
            for j in batch:
                self._start_times[j.id] = started
            key: RunKey = tuple((j.id, j.run_id) for j in batch)
            for j, c in zip(batch, ctxs, strict=True):
                self.running[j.id] = (j, c, None)
                self._keys[j.id] = key
            assert self._threads is not None
            if jt.batch:
                self._threads.submit(key, run_batch, jt.func, ctxs)
            elif jt.is_async:
                self._spawn(self._run_one(jt, job, ctxs[0], key))
            else:
                timeout = None if jt.own_timeout else job.timeout or jt.timeout
                if timeout:  # counted from when the handler starts (see _check_deadlines)
                    self._deadlines[job.id] = (key, timeout)
                self._threads.submit(key, run_sync, jt.func, ctxs[0])

    def _slots(self, job: Job) -> int:
        """How many jobs may be handed to handlers at once: ``concurrency``, and for tiny
        sync jobs as many again waiting in the handler threads' queue, so that a thread
        done with one takes the next at once instead of waiting for the loop to hand it
        over (a thread hop per job, most of a tiny job's cost). Waiting there, a job has
        not started: its timeout has not begun, and one given up meanwhile is not run."""
        jt = self.types[job.type]
        if jt.batch or jt.is_async or job.semaphores or not 0 < self._avg_duration <= TINY_JOB:
            return self.concurrency  # (a job naming semaphores holds its slots: not ahead)
        return 2 * self.concurrency

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)  # keep a reference: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)

    async def _run_one(self, jt: JobType, job: Job, ctx: JobContext, key: RunKey) -> None:
        """An async handler, on the loop."""
        timeout = None if jt.own_timeout else job.timeout or jt.timeout
        entry = self.running.get(job.id)
        if entry is None or entry[0] is not job:  # given up before it began (lease lost)
            self._abandoned.discard(key)
            return
        fut: asyncio.Future[Outcome] = asyncio.ensure_future(run_async(jt.func, ctx))
        self.running[job.id] = (job, ctx, fut)
        try:
            outcome = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            outcome = Outcome(False, error=f"timed out after {timeout:g} s")
        except asyncio.CancelledError:
            outcome = Outcome(False, error="cancelled")
        self._abandoned.discard(key)
        if self._take(job.id, job.run_id) is not None:
            self._finish(job, outcome, ctx)
        if self._stopping != "hard":
            self._start_queued()

    def _take(self, job_id: int, run_id: str | None) -> Running | None:
        """Remove a running job if it still runs under ``run_id``; None if it does not (it
        timed out, lost its lease or was handed back meanwhile)."""
        entry = self.running.get(job_id)
        if entry is None or entry[0].run_id != run_id:
            return None
        del self.running[job_id]
        self._keys.pop(job_id, None)
        self._deadlines.pop(job_id, None)
        return entry

    def _on_results(self, results: list[tuple[Any, Any]]) -> None:
        """Outcomes from handler threads: an Outcome, a batch's list, or what escaped."""
        for key, outcome in results:
            self._abandoned.discard(key)  # its thread is free again
            if isinstance(outcome, BaseException):
                outcomes = [failed(outcome)] * len(key)
            else:
                outcomes = outcome if isinstance(outcome, list) else [outcome]
            for (job_id, run_id), one in zip(key, outcomes, strict=True):
                entry = self._take(job_id, run_id)
                if entry is not None:
                    self._finish(entry[0], one, entry[1])
        if self._stopping != "hard":
            self._start_queued()
