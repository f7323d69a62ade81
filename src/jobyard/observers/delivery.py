"""The delivery loop of one observer: the event log read by cursor, each notification
recorded, retried with exponential backoff, at-least-once.

One thread per observer, so a channel that hangs (to its timeout) or fails delays only its
own observer; workers never wait for any of them (the log is read after commit).

The order for each event that passes the filters:

1. a delivery row ``sending`` (attempt 1) is committed, keyed by (observer, event);
2. the channel sends;
3. the row becomes ``sent``, or ``retry`` with its next time, or ``failed`` after the
   last attempt (or at once when the template fails on the event: a retry would too);
4. after the batch (or when stopping in the middle of it) the cursor moves past it.

A restart reads from the stored cursor again; an event whose row exists is not sent again.
The crash window: dying between 1 and 3 leaves ``sending``, and nobody knows whether the
far end got it. The next owner marks it ``unknown`` and does not resend for mail and Slack
(a person would get a duplicate), and resends for webhooks and log files (their receiver
drops a repeat by the delivery id / event id); ``resend_unknown`` changes that.

An observer is held by one process at a time (a lease in observer_state renewed before
each send), so several ``jobyard scheduler`` processes never send the same notification.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobyard.errors import DatabaseError
from jobyard.feed import Feed
from jobyard.observers import filters
from jobyard.observers.channels import Channel, ChannelError
from jobyard.observers.config import ObserverConfig
from jobyard.observers.render import add_log, context, job_context, needs_log_to_filter, render
from jobyard.observers.templates import RenderError

if TYPE_CHECKING:
    from jobyard.store.base import JobEvent
    from jobyard.store.observers import Delivery
    from jobyard.yard import Yard

log = logging.getLogger("jobyard.observers")
KEEP_DELIVERIES = 7 * 86400.0  # finished deliveries older than this are forgotten
PRUNE_EVERY = 3600.0


def owner_id() -> str:
    """This process's name as an owner (a new one per start: a restart is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's
        return False
    return False


class ObserverLoop:
    def __init__(
        self,
        yard: Yard,
        observer: ObserverConfig,
        channel: Channel,
        owner: str,
        *,
        lease: float = 15.0,
        poll: float = 0.5,
        batch: int = 50,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.yard = yard
        self.observer = observer
        self.channel = channel
        self.owner = owner
        self.lease = max(lease, observer.timeout * 2)  # a send never outlives the lease
        self.poll = poll
        self.batch = batch
        self.clock = clock
        self.held = False
        self.until = 0.0  # when our lease ends, as last renewed
        self.cursor = 0
        self.pruned = 0.0
        self.feed = Feed(yard.store)
        self.kinds = filters.kinds_to_read(observer)

    @property
    def store(self) -> Any:
        return self.yard.store

    # -- ownership -----------------------------------------------------------------------

    def claim(self) -> int | None:
        """Take or renew the observer; its cursor, or None while another process holds it."""
        now = self.clock()
        if self.held and now < self.until - self.lease * 2 / 3:
            return self.cursor  # renewed lately: no write on every poll
        # Only a new observer's row takes the start; an existing one keeps its cursor.
        start = self.feed.latest() if self.observer.start == "now" and not self.held else 0
        state = self.store.claim_observer(
            self.observer.name, self.owner, now, now + self.lease, start
        )
        if state is None:
            state = self._take_from_dead(now)
        if state is None:
            self.held = False
            return None
        self.until, self.cursor = now + self.lease, int(state.cursor)
        if not self.held:
            self.held = True
            self._recover(now)
        return self.cursor

    def _take_from_dead(self, now: float) -> Any:
        """A holder on this host whose process is gone (kill -9, a crash) need not be
        waited for until its lease ends: a restarted scheduler goes on at once."""
        held = self.store.observer_state(self.observer.name)
        if held is None or held.owner is None or not _dead_here(held.owner):
            return None
        log.info("observer %s: taken over from %s (gone)", self.observer.name, held.owner)
        return self.store.take_observer(
            self.observer.name, self.owner, held.owner, now, now + self.lease
        )

    def release(self) -> None:
        if self.held:
            self.store.release_observer(self.observer.name, self.owner, self.clock())
            self.held = False

    def _recover(self, now: float) -> None:
        """Deliveries a previous owner left ``sending``: it died in the crash window."""
        for d in self.store.deliveries_in_flight(self.observer.name):
            if self.observer.resend_unknown:
                note = "resent: the process sending it stopped before knowing the outcome"
                self._finish(d.event_id, "retry", note, now)
            else:
                note = "not resent: the process sending it stopped before knowing the outcome"
                self._finish(d.event_id, "unknown", note)

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        failures = 0
        try:
            while not stop.is_set():
                try:
                    busy = self.step(stop)
                    failures = 0
                except Exception as exc:  # the database away, or a bug: never the thread's end
                    failures += 1
                    delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                    if isinstance(exc, DatabaseError):
                        log.warning(
                            "observer %s: %s (again in %.1f s)", self.observer.name, exc, delay
                        )
                    else:
                        log.exception("observer %s (again in %.1f s)", self.observer.name, delay)
                    # A send under way is in the crash window now: recovered on the next claim.
                    self.held = False
                    stop.wait(delay)
                    continue
                if not busy:
                    stop.wait(self.poll)
            self.release()
        except Exception:
            log.exception("observer %s stopped", self.observer.name)
        finally:
            self.store.close()  # this thread's connection

    def step(self, stop: threading.Event | None = None) -> bool:
        """One round: due retries, then one batch of new events. True if it did anything."""
        cursor = self.claim()
        if cursor is None:
            return False
        if self.clock() - self.pruned > PRUNE_EVERY:
            self.pruned = self.clock()
            self.store.prune_deliveries(self.observer.name, self.pruned - KEEP_DELIVERIES)
        did = self._retries(stop)
        events, _ = self.feed.read(cursor, self.batch, self.kinds)
        done = cursor
        for event in events:
            if stop is not None and stop.is_set():
                break
            if not self._event(event):
                break  # the lease went to another process: it goes on from the cursor
            done = event.id
        if done != cursor:
            if self.store.advance_observer(self.observer.name, self.owner, done, self.clock()):
                self.cursor = done
            else:
                self.held = False  # someone else holds it now
        return did or bool(events)

    def _event(self, event: JobEvent) -> bool:
        if not filters.wants_event(self.observer, event):
            return True
        from jobyard import views

        return self.deliver(views.job_event_view(event), first=True)

    def _retries(self, stop: threading.Event | None) -> bool:
        due: list[Delivery] = self.store.due_deliveries(self.observer.name, self.clock())
        for d in due:
            if (stop is not None and stop.is_set()) or not self._renew():
                break
            if self.store.begin_retry(self.observer.name, d.event_id, self.clock()):
                self._send(d.event, d.attempts + 1)
        return bool(due)

    def _renew(self) -> bool:
        return self.claim() is not None

    # -- one delivery --------------------------------------------------------------------

    def deliver(self, event: dict[str, Any], first: bool) -> bool:
        """Filter, record and send one event; False when the lease was lost first."""
        job = job_context(self.yard, event, log=needs_log_to_filter(self.observer))
        props = job.get("props") or {}
        if filters.silenced(self.observer, props):
            return True
        recipient = None
        if self.observer.private:
            recipient = filters.private_recipient(self.observer, props)
            if recipient is None:
                return True
        ctx = context(self.observer, event, job, recipient)
        error: str | None = None
        try:
            wanted = filters.matches(self.observer, ctx)
        except RenderError as exc:
            wanted, error = True, str(exc)
        if not wanted:
            return True
        if "log_entries" not in ctx["job"] and ctx["job"].get("id") is not None:
            add_log(self.yard, ctx["job"])  # templates may show it: read once it is wanted
        if not self._renew():
            return False
        name, event_id = self.observer.name, int(event["id"])
        if first and not self.store.begin_delivery(
            name, event_id, event.get("job"), event, self.clock()
        ):
            return True  # recorded before (a restart re-reading its batch): never twice
        if error is not None:
            self._finish(event_id, "failed", error)
            return True
        self._send(event, 1, ctx)
        return True

    def _send(self, event: dict[str, Any], attempt: int, ctx: dict[str, Any] | None = None) -> None:
        event_id = int(event["id"])
        try:
            if ctx is None:  # a retry: the job as it is now
                job = job_context(self.yard, event)
                recipient = None
                if self.observer.private:
                    recipient = filters.private_recipient(self.observer, job.get("props") or {})
                ctx = context(self.observer, event, job, recipient)
            notification = render(self.observer, ctx, ctx["recipient"])
        except RenderError as exc:
            self._finish(event_id, "failed", str(exc))
            return
        try:
            self.channel.send(notification)
        except Exception as exc:
            message = str(exc) if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}"
            self._failed(event_id, attempt, message)
            return
        self._finish(event_id, "sent", None)

    def _failed(self, event_id: int, attempt: int, error: str) -> None:
        o = self.observer
        if attempt > o.retries:
            tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
            self._finish(event_id, "failed", f"{error} (gave up after {tries})")
            log.warning("observer %s: event %s failed: %s", o.name, event_id, error)
            return
        delay = min(o.max_backoff, o.backoff * 2 ** (attempt - 1))
        self._finish(event_id, "retry", error, self.clock() + delay)

    def _finish(
        self, event_id: int, status: str, error: str | None, next_at: float | None = None
    ) -> None:
        self.store.finish_delivery(
            self.observer.name, event_id, status, self.clock(), error=error, next_at=next_at
        )
