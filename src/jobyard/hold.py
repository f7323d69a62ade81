"""``job.semaphore(name, mode, timeout)``: a semaphore held around a single call.

```python
with job.semaphore("db", mode="write", timeout=60):
    run_migration()                  # only this part holds it
async with job.semaphore("db"):      # the same in an async handler
    ...
```

The hold talks only to the job's worker port (``semaphore`` / ``semaphore_release``);
the port asks the store, which decides under the claims' own lock and counts
(jobyard.callholds), so call holds and jobs naming the semaphore share its slots.

Waiting: a hold that finds no free slot logs ``waiting for semaphore NAME`` and asks
again each time the store wakes its waiters (a release: NOTIFY on PostgreSQL, the wake
sockets on SQLite, the long poll of a remote worker) — one listener per port in a
process, shared by every waiting call (:class:`Wakeups`) — and at least every
``POLL_MAX`` seconds whatever happens (a wake-up lost, a run that ended without one).
``timeout`` seconds later it gives up its place and raises :class:`SemaphoreTimeout`.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput, LeaseLost, SemaphoreTimeout
from jobyard.i18n import _
from jobyard.semaphores import parse_call

if TYPE_CHECKING:
    from jobyard.context import JobContext
    from jobyard.worker.port import WorkerPort

POLL_FIRST = 0.05  # seconds before the first unprompted look again
POLL_MAX = 1.0  # the longest a waiting call goes without looking
LISTEN_ROUND = 0.5  # how long the listener blocks at a time (it stops when nobody waits)


def parse_timeout(value: Any) -> float | None:
    if value is None:
        return None
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if not number or not math.isfinite(value) or value < 0:
        raise InvalidInput(
            _(
                "semaphore timeout must be a number of seconds >= 0 or None, got {value!r}",
                value=value,
            )
        )
    return float(value)


class Wakeups:
    """One store waiter per port for every call of this process waiting on a semaphore:
    a thread blocks on it while anyone waits and bumps a counter at each wake-up."""

    _all: weakref.WeakKeyDictionary[Any, Wakeups] = weakref.WeakKeyDictionary()
    _guard = threading.Lock()

    def __init__(self, port: WorkerPort) -> None:
        self._port = weakref.ref(port)  # not the port itself: it keys the registry
        self._cond = threading.Condition()
        self._count = 0
        self._users = 0
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, port: WorkerPort) -> Wakeups:
        with cls._guard:
            found = cls._all.get(port)
            if found is None:
                found = cls._all[port] = cls(port)
            return found

    def join(self) -> int:
        """Count in as a waiter (the listener starts if none runs); the counter now."""
        with self._cond:
            self._users += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="jobyard-semaphore-wait", daemon=True
                )
                self._thread.start()
            return self._count

    def leave(self) -> None:
        with self._cond:
            self._users -= 1

    def wait(self, seen: int, timeout: float) -> int:
        """Until a wake-up after counter ``seen`` (or ``timeout``); the counter now."""
        with self._cond:
            self._cond.wait_for(lambda: self._count != seen, max(timeout, 0.0))
            return self._count

    def kick(self) -> None:
        """Wake every waiting call now (one of them gave up, or must stop)."""
        with self._cond:
            self._count += 1
            self._cond.notify_all()

    def _listen(self) -> None:
        waiter = None
        try:
            port = self._port()
            if port is None:
                raise LookupError("the port is gone")
            waiter = port.waiter([])
            del port
            while True:
                with self._cond:
                    if self._users <= 0:
                        self._thread = None  # under the lock: the next join starts another
                        return
                if waiter.wait(LISTEN_ROUND):
                    self.kick()
        except Exception:  # no listener (the database away): the waiting calls poll
            with self._cond:
                self._thread = None
        finally:
            if waiter is not None:
                waiter.close()


class SemaphoreHold:
    """What ``job.semaphore(...)`` returns: enter it (``with`` or ``async with``) to hold
    the slot, leave it to give the slot up. Not reentrant; one hold, one ``with``."""

    def __init__(self, ctx: JobContext, name: Any, mode: Any = None, timeout: Any = None) -> None:
        self.entry = parse_call(name, mode)
        self.name = str(name)
        self.mode = str(mode or "")
        self.timeout = parse_timeout(timeout)
        self.ctx = ctx
        self.token = uuid.uuid4().hex
        self.held = False
        self.waited = 0.0  # seconds it waited for its slot
        self._stop = False  # the async caller went away: give the slot up when it comes

    def __repr__(self) -> str:
        return f"<semaphore hold {self.entry} of job {self.ctx.id}{' held' if self.held else ''}>"

    # -- sync --------------------------------------------------------------------------------

    def __enter__(self) -> SemaphoreHold:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    # -- async: the same, each round trip in a thread -----------------------------------------

    async def __aenter__(self) -> SemaphoreHold:
        try:
            await asyncio.to_thread(self.acquire)
        except asyncio.CancelledError:
            self._stop = True  # the thread sees it, gives its place up and returns
            Wakeups.of(self.ctx.port).kick()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.release)

    # -- the verbs -----------------------------------------------------------------------------

    def acquire(self) -> None:
        """Block until the slot is this job's (SemaphoreTimeout after ``timeout`` s)."""
        if self.held:
            raise InvalidInput(_("semaphore {name!r} is held already by this hold", name=self.name))
        self.ctx.holds[self.token] = self  # from the first ask: the worker frees what is left
        started = time.monotonic()
        try:
            if not self._ask():
                self._wait(started)
        except BaseException:
            self._leave_line()
            raise
        self.waited = time.monotonic() - started
        self.held = True
        if self._stop:  # the async caller was cancelled meanwhile
            self.release()

    def release(self) -> None:
        """Give the slot up (or the place in line). Safe to call twice, and after the job
        ended (its holds count for nothing then). When the store cannot be reached it
        raises, and the hold stays listed for the worker to give up when the job ends."""
        self.held = False
        if self.ctx.holds.pop(self.token, None) is None:
            return
        try:
            self._give_up()
        except BaseException:
            self.ctx.holds[self.token] = self
            raise

    def _leave_line(self) -> None:
        """After a failed acquire: give the place in line up, quietly (the caller raises
        what made it fail); if that fails too the worker does it when the job ends."""
        try:
            self._give_up()
        except Exception:
            return
        self.ctx.holds.pop(self.token, None)

    def _ask(self) -> bool:
        return self.ctx.port.semaphore(self.ctx.id, self.ctx.run_id, self.token, self.entry)

    def _give_up(self) -> None:
        try:
            self.ctx.port.semaphore_release(self.ctx.id, self.ctx.run_id, [self.token])
        except LeaseLost:
            pass  # the run ended: the hold counts for nothing already

    def _wait(self, started: float) -> None:
        ctx = self.ctx
        what = self.name + (f" ({self.mode})" if self.mode else "")
        ctx.log(f"waiting for semaphore {what}")
        wakeups = Wakeups.of(ctx.port)
        seen = wakeups.join()
        try:
            delay = POLL_FIRST
            while True:
                if self._ask():  # again at once: a release may have come before we listened
                    ctx.log(f"took semaphore {what} after {time.monotonic() - started:.1f} s")
                    return
                if self._stop or ctx.cancelled:
                    raise LeaseLost(f"job {ctx.id} was given up while it waited for a semaphore")
                left = None if self.timeout is None else started + self.timeout - time.monotonic()
                if left is not None and left <= 0:
                    raise SemaphoreTimeout(self.name, self.timeout or 0.0)
                seen = wakeups.wait(seen, delay if left is None else min(delay, left))
                delay = min(delay * 2, POLL_MAX)
        finally:
            wakeups.leave()
