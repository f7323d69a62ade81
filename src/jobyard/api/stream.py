"""``GET /api/v1/stream``: Server-Sent Events of job transitions, read from the event log
by cursor (jobyard.feed) and fanned out.

One reader per app process polls the log (one query every ``poll`` seconds while anyone
listens, whatever the number of clients) and offers each event to every subscriber's
bounded queue; a subscriber that falls ``QUEUE`` events behind is dropped with a final
``dropped`` event (it reconnects with ``Last-Event-ID`` and catches up from the log).
A client that reconnects with ``Last-Event-ID`` (or ``?after=``) first reads what it
missed from the log itself, then joins the live fan-out, so it misses nothing and sees
nothing twice. ``: ping`` comments keep proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from jobyard import views
from jobyard.api import errors as api_errors
from jobyard.api.auth import READ
from jobyard.api.endpoint import Call, Endpoints, Param
from jobyard.i18n import _
from jobyard.store.events import JobEvent
from jobyard.yard import Yard

ENDPOINTS = Endpoints("stream")

QUEUE = 2000  # events a subscriber may lag behind before it is dropped
PAGE = 500
MAX_SUBSCRIBERS = 1000


@dataclass(eq=False)  # by identity: subscribers live in a set
class Subscriber:
    # (event, its job's jobset, its SSE frame): the frame is made once per event by the
    # fan-out, not once per client
    queue: asyncio.Queue[tuple[JobEvent, int | None, str] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE)
    )
    start: int = 0  # the fan-out's cursor when it joined: older events come from the log
    wants_jobset: bool = False


class Fanout:
    def __init__(self, yard: Yard, poll: float = 0.25, heartbeat: float = 15.0) -> None:
        self.yard = yard
        self.poll = poll
        self.heartbeat = heartbeat
        self.position: int | None = None
        self.subscribers: set[Subscriber] = set()
        self.reads = 0  # database reads of the live reader (the tests count them)
        self._task: asyncio.Task[None] | None = None

    async def subscribe(self, wants_jobset: bool) -> Subscriber:
        if len(self.subscribers) >= MAX_SUBSCRIBERS:
            raise api_errors.ApiError(503, "busy", _("too many event streams; retry later"))
        if self.position is None:
            self.position = await run_in_threadpool(views.latest_transition, self.yard)
        sub = Subscriber(start=self.position, wants_jobset=wants_jobset)
        self.subscribers.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        idle_since: float | None = None
        while True:
            if not self.subscribers:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 30:
                    self.position = None  # nobody listens: stop reading; start afresh later
                    return
                await asyncio.sleep(self.poll)
                continue
            idle_since = None
            assert self.position is not None
            try:
                events, cursor = await run_in_threadpool(
                    views.transitions_after, self.yard, self.position, PAGE
                )
                self.reads += 1
                jobsets = await self._jobsets(events)
            except Exception:  # a passing database error: try again (clients keep waiting)
                await asyncio.sleep(min(self.poll * 8, 2.0))
                continue
            for event in events:
                item = (event, jobsets.get(event.job_id), frame(event))
                for sub in list(self.subscribers):
                    try:
                        sub.queue.put_nowait(item)
                    except asyncio.QueueFull:
                        self.subscribers.discard(sub)
                        _drop(sub)
            self.position = cursor
            if len(events) < PAGE:
                await asyncio.sleep(self.poll)

    async def _jobsets(self, events: Sequence[JobEvent]) -> dict[int, int | None]:
        """The jobset of each event's job, in one read per batch, when someone filters by
        jobset (no read per client)."""
        if not events or not any(s.wants_jobset for s in self.subscribers):
            return {}
        ids = sorted({e.job_id for e in events})
        jobs = await run_in_threadpool(views.jobs_by_id, self.yard, ids)
        return {j.id: j.jobset for j in jobs}


def _drop(sub: Subscriber) -> None:
    while True:  # make room for the end marker
        try:
            sub.queue.get_nowait()
        except asyncio.QueueEmpty:
            break
    sub.queue.put_nowait(None)


@dataclass(frozen=True)
class Filter:
    kinds: tuple[str, ...] = ()
    job: int | None = None
    jobset: int | None = None
    types: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()

    def matches(self, e: JobEvent, jobset: int | None) -> bool:
        if self.kinds and not any(e.name == k or e.name.startswith(k) for k in self.kinds):
            return False
        if self.job is not None and e.job_id != self.job:
            return False
        if self.jobset is not None and jobset != self.jobset:
            return False
        if self.types and e.type not in self.types:
            return False
        return not (self.queues and e.queue not in self.queues)


def fanout(call: Call) -> Fanout:
    extra = call.state.extra
    if "fanout" not in extra:
        extra["fanout"] = Fanout(call.state.yard, **extra.get("fanout_options", {}))
        call.state.on_shutdown.append(extra["fanout"].close)
    found: Fanout = extra["fanout"]
    return found


def frame(event: JobEvent) -> str:
    data = json.dumps(views.job_event_view(event), ensure_ascii=False, default=str)
    return f"id: {event.id}\nevent: {event.name}\ndata: {data}\n\n"


async def _events(
    fan: Fanout, sub: Subscriber, after: int | None, flt: Filter
) -> AsyncIterator[str]:
    """Catch up from the log (after ``after``) to where the fan-out began, then go on live.

    Positions, not ids: the feed gives events in commit order, and on PostgreSQL ids are
    taken before commit, so a later event may carry a smaller id. The catch-up reads in
    feed order until it has passed the fan-out's start event. If it reads past the start
    without meeting it (pruned meanwhile), the live events it already sent are skipped by
    id: those are among the last few pages it read, which is all it remembers."""
    try:
        yield "retry: 2000\n\n"
        recent: deque[int] = deque(maxlen=4 * PAGE)
        position = sub.start if after is None else after
        if after is not None and after != sub.start:
            while True:
                events, _unused = await run_in_threadpool(
                    views.transitions_after, fan.yard, position, PAGE
                )
                if not events:
                    break
                jobsets = await fan._jobsets(events) if flt.jobset is not None else {}
                reached = False
                for e in events:
                    recent.append(e.id)
                    position = e.id
                    if flt.matches(e, jobsets.get(e.job_id)):
                        yield frame(e)
                    if e.id == sub.start:
                        reached = True
                        break
                if reached or len(events) < PAGE:
                    break
        sent = set(recent)
        while True:
            try:
                first = await asyncio.wait_for(sub.queue.get(), fan.heartbeat)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            # Whatever else is queued goes out in the same write: one socket write per
            # frame per client was what saturated the server with many clients.
            items = [first]
            while len(items) < PAGE and not sub.queue.empty():
                items.append(sub.queue.get_nowait())
            out: list[str] = []
            for item in items:
                if item is None:
                    out.append(f"event: dropped\ndata: {json.dumps({'after': position})}\n\n")
                    yield "".join(out)
                    return
                event, jobset, text = item
                if sent and event.id in sent:
                    sent.discard(event.id)
                    continue
                position = event.id
                if flt.matches(event, jobset):
                    out.append(text)
            if out:
                yield "".join(out)
    finally:
        fan.unsubscribe(sub)


STREAM_PARAMS = (
    Param(
        "after",
        schema={"type": "integer", "minimum": 0},
        description="the event id to go on after (the Last-Event-ID header wins)",
    ),
    Param("kinds", description="comma-separated event names or prefixes (job.)"),
    Param("job", schema={"type": "integer", "minimum": 1}),
    Param("jobset", schema={"type": "integer", "minimum": 1}),
    Param("type", description="comma-separated type names"),
    Param("queue", description="comma-separated queues"),
)


@ENDPOINTS.get(
    "/api/v1/stream", roles=READ, params=STREAM_PARAMS, media="text/event-stream", errors=(503,)
)
async def stream(call: Call) -> StreamingResponse:
    """Server-Sent Events of job transitions (``id`` is the event's cursor)."""
    header = call.request.headers.get("last-event-id")
    if header is not None and header.strip():
        if not header.strip().isdigit() or len(header.strip()) > 19:
            raise api_errors.bad_request(_("Last-Event-ID must be an event id"), "Last-Event-ID")
        after: int | None = int(header.strip())
    else:
        after = call.query_int("after", None, 0)
    flt = Filter(
        kinds=tuple(call.query_list("kinds") or ()),
        job=call.query_int("job", None, 1),
        jobset=call.query_int("jobset", None, 1),
        types=tuple(call.query_list("type") or ()),
        queues=tuple(call.query_list("queue") or ()),
    )
    fan = fanout(call)
    sub = await fan.subscribe(wants_jobset=flt.jobset is not None)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(fan, sub, after, flt), media_type="text/event-stream", headers=headers
    )
