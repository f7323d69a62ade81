"""What a running handler sees as ``job``: its data, log, progress, emit and shared.

A ``JobContext`` reaches the store only through its worker port
(:class:`~jobyard.worker.port.WorkerPort`). Made by a worker it is *buffered*: ``log()``
and ``progress()`` only note the write, and the worker writes the notes in the
background (about every 0.1 s) and before it records the job's outcome, so neither a
handler thread nor an async handler on the event loop waits for a database transaction.
A run found no longer ours at such a write makes the next call raise LeaseLost.
Made directly (``JobContext(yard, job, lease)``) it writes at once, as a script would
expect of a one-off call.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.errors import InvalidInput, LeaseLost
from jobyard.hold import SemaphoreHold
from jobyard.i18n import _
from jobyard.jobsets import JobsetStorage
from jobyard.lifecycle import log_entry
from jobyard.limits import clean_text, encode_json
from jobyard.model import Job

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jobyard.store.events import Event
    from jobyard.worker.port import WorkerPort
    from jobyard.yard import Yard


def check_progress(completed: Any, total: Any) -> None:
    if not isinstance(completed, int | float) or not isinstance(total, int | float):
        raise InvalidInput(_("progress takes numbers: progress(completed, total)"))
    if total < 0 or completed < 0:
        raise InvalidInput(_("progress values must be >= 0"))


class JobContext:
    """The running job. Every call counts only while the run is still this worker's."""

    def __init__(
        self,
        yard: Yard,
        job: Job,
        lease: float,
        port: WorkerPort | None = None,
        *,
        buffered: bool = False,
    ) -> None:
        if port is None:
            port = yard.local_port()
        self.yard = yard  # its config; the store is reached only through ``port``
        self.job = job
        self.port = port
        self.buffered = buffered
        self._lease = lease
        self.cancelled = False  # set by the worker when the job was cancelled meanwhile
        self.traceback: str | None = None
        # Writes not made yet (buffered): handler threads add, the worker's database
        # thread takes them, so the lock guards the swap.
        self._lock = threading.Lock()
        self._logs: list[dict[str, Any]] = []
        self._progress: tuple[float, float] | None = None
        self._lost = False
        self.buffered_any = False  # whether anything was ever buffered (finish: flush it)
        self.holds: dict[str, SemaphoreHold] = {}  # call holds asked for and not given up

    @property
    def id(self) -> int:
        return self.job.id

    @property
    def data(self) -> Any:
        return self.job.data

    @property
    def attempt(self) -> int:
        return self.job.attempts

    @property
    def type(self) -> str:
        return self.job.type

    @property
    def run_id(self) -> str | None:
        return self.job.run_id

    @property
    def lease(self) -> float:
        """Seconds each write renews the run's lease by."""
        return self._lease

    def __repr__(self) -> str:
        return f"<job {self.job.id} {self.job.type} attempt {self.job.attempts}>"

    @property
    def shared(self) -> JobsetStorage:
        """The storage of this job's jobset: a mapping of JSON values that every job of the
        set reads and writes, on any worker (each write is stored at once; last write wins)."""
        if self.job.jobset is None:
            raise InvalidInput(
                _(
                    "job {id} ({type}) belongs to no jobset, so it has no shared storage: enqueue "
                    "it with jobset=yard.create_jobset(kind, name)",
                    id=self.job.id,
                    type=self.job.type,
                )
            )
        return PortStorage(self.port, self.job.jobset)

    @property
    def ashared(self) -> AsyncStorage:
        """``shared`` for async handlers: ``await job.ashared.get(key)``, ``set``,
        ``delete``, ``snapshot``, ``update(put, delete)``."""
        return AsyncStorage(self.shared)

    # -- writes ----------------------------------------------------------------------------

    def log(self, message: str, level: str = "info", data: Any = None) -> None:
        """Add a log entry. The message is never refused, which would crash the job over a
        diagnostic: NULs and lone surrogates are escaped and a message over ``[limits]
        max_log_bytes`` is cut with a marker. ``data`` (JSON) is refused past that limit."""
        if level not in model.LOG_LEVELS:
            raise InvalidInput(
                _(
                    "invalid log level {level!r}: use one of {LOG_LEVELS}",
                    level=level,
                    LOG_LEVELS=", ".join(model.LOG_LEVELS),
                )
            )
        limit = self.yard.config.max_log_bytes
        text = clean_text(str(message), limit)
        if data is not None:
            encode_json(data, "log data", limit, "max_log_bytes")
        entry = log_entry(self.job.id, time.time(), text, level, self.job.run_id, data)
        if self.buffered:
            with self._lock:
                self._check_lost()
                self._logs.append(entry)
                self.buffered_any = True
            return
        self.port.log(self.job.id, self.job.run_id, [entry], self._lease)

    def progress(self, completed: float, total: float = 100) -> None:
        check_progress(completed, total)
        if self.buffered:
            with self._lock:
                self._check_lost()
                self._progress = (completed, total)
                self.buffered_any = True
        else:
            self.port.progress(self.job.id, self.job.run_id, completed, total, self._lease)
        self.job.progress_completed, self.job.progress_total = completed, total

    def emit(self, event: str, data: Any = None) -> Event:
        """Emit an event from this job; listeners get jobs (loops are bounded)."""
        depth = int(self.job.props.get("depth", 0)) if isinstance(self.job.props, dict) else 0
        return self.port.emit(event, data, self.job.id, depth)

    def semaphore(
        self, name: str, mode: str | None = None, timeout: float | None = None
    ) -> SemaphoreHold:
        """A slot of semaphore ``name`` held around a call: ``with job.semaphore("db",
        mode="write", timeout=60): ...`` (``async with`` in an async handler). ``mode``
        None (one slot), "read" or "write"; waits up to ``timeout`` seconds (None: as long
        as the job runs), then raises SemaphoreTimeout. See jobyard.hold."""
        return SemaphoreHold(self, name, mode, timeout)

    def release_holds(self) -> None:
        """Give up every call hold still asked for (the worker, once the job ended)."""
        for hold in list(self.holds.values()):
            hold.release()

    # -- the async form: never blocks the event loop on the store ----------------------------

    async def alog(self, message: str, level: str = "info", data: Any = None) -> None:
        """``log()`` for async handlers."""
        if self.buffered:
            self.log(message, level, data)  # only noted: no I/O here
        else:
            await asyncio.to_thread(self.log, message, level, data)

    async def aprogress(self, completed: float, total: float = 100) -> None:
        """``progress()`` for async handlers."""
        if self.buffered:
            self.progress(completed, total)
        else:
            await asyncio.to_thread(self.progress, completed, total)

    async def aemit(self, event: str, data: Any = None) -> Event:
        """``emit()`` for async handlers (the listeners' jobs are created in a thread)."""
        return await asyncio.to_thread(self.emit, event, data)

    # -- the buffer, written by the worker ---------------------------------------------------

    def _check_lost(self) -> None:
        if self._lost:
            raise LeaseLost(f"job {self.job.id} is no longer running under this run")

    @property
    def pending(self) -> bool:
        """Whether buffered writes wait to be made."""
        return bool(self._logs) or self._progress is not None

    def flush(self) -> None:
        """Make the buffered writes (blocking: the worker calls it in its database thread).
        LeaseLost if the run is no longer ours (the writes are dropped, and the handler's
        next call raises it too); on any other error the writes stay for the next flush."""
        with self._lock:
            logs, self._logs = self._logs, []
            progress, self._progress = self._progress, None
        try:
            if logs:
                self._write(lambda: self.port.log(self.job.id, self.job.run_id, logs, self._lease))
        except BaseException:
            self._restore(logs, progress)
            raise
        try:
            if progress is not None:
                completed, total = progress
                self._write(
                    lambda: self.port.progress(
                        self.job.id, self.job.run_id, completed, total, self._lease
                    )
                )
        except BaseException:
            self._restore([], progress)
            raise

    def _write(self, call: Any) -> None:
        try:
            call()
        except LeaseLost:
            with self._lock:
                self._lost = True
                self._logs, self._progress = [], None
            raise

    def _restore(self, logs: list[dict[str, Any]], progress: tuple[float, float] | None) -> None:
        with self._lock:
            if self._lost:
                return
            self._logs[:0] = logs
            if self._progress is None:
                self._progress = progress

    def drop_pending(self) -> None:
        """Forget the buffered writes (they cannot be made)."""
        with self._lock:
            self._logs, self._progress = [], None


class PortStorage(JobsetStorage):
    """A jobset's shared storage reached through a worker port (same mapping API)."""

    def __init__(self, port: WorkerPort, jobset: int) -> None:
        # Not JobsetStorage.__init__: there is no store here, only the port.
        self.port = port
        self.jobset = jobset

    def __getitem__(self, key: str) -> Any:
        found, value = self.port.kv_get(self.jobset, key)
        if not found:
            raise KeyError(key)
        return value

    def __delitem__(self, key: str) -> None:
        if self.port.kv_delete(self.jobset, [key]) != 1:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return self.port.kv_all(self.jobset)

    def put_many(self, values: Mapping[str, Any]) -> None:
        self.port.kv_put(self.jobset, dict(values))

    def delete_many(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        return self.port.kv_delete(self.jobset, keys) if keys else 0

    def _update(self, put: Mapping[str, Any], delete: Sequence[str]) -> int:
        return self.port.kv_update(self.jobset, dict(put), list(delete))


class AsyncStorage:
    """``job.ashared``: the jobset storage for async handlers; each call runs its round
    trip in a thread, so the event loop never waits on the database or the server."""

    def __init__(self, storage: JobsetStorage) -> None:
        self.storage = storage

    async def get(self, key: str, default: Any = None) -> Any:
        return await asyncio.to_thread(self.storage.get, key, default)

    async def set(self, key: str, value: Any) -> None:
        await asyncio.to_thread(self.storage.put_many, {key: value})

    async def delete(self, key: str) -> bool:
        return bool(await asyncio.to_thread(self.storage.delete_many, [key]))

    async def snapshot(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.storage.snapshot)

    async def update(self, put: Mapping[str, Any], delete: Iterable[str] = ()) -> None:
        """Upsert ``put`` and remove ``delete`` at once."""
        await asyncio.to_thread(self.storage._update, put, list(delete))
