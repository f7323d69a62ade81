"""What ``jobyard observers`` shows, and its test send: plain dicts from the store's rows
(the CLI prints only these), and one notification rendered and sent at once."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobyard.model import iso
from jobyard.observers import filters
from jobyard.observers.channels import Channel, make_channel
from jobyard.observers.config import MailSettings, ObserverConfig
from jobyard.observers.render import Notification, context, job_context, render

if TYPE_CHECKING:
    from jobyard.store.observers import Delivery
    from jobyard.yard import Yard


SAMPLE_JOB: dict[str, Any] = {
    "id": 0,
    "type": "example",
    "queue": "default",
    "status": "completed",
    "props": {},
    "data": {},
    "result": None,
    "jobset": None,
    "error": None,
    "node": None,
    "log": ["a test notification from jobyard"],
    "log_entries": [],
}


def states(yard: Yard, observers: list[ObserverConfig], now: float) -> list[dict[str, Any]]:
    """Each configured observer: its channel, cursor, holder (while its lease runs) and
    deliveries by status. ``state``: ``running`` (held), ``stopped`` (has a cursor, not
    held), ``new`` (never ran)."""
    out = []
    for o in observers:
        st = yard.store.observer_state(o.name)
        held = st is not None and st.owner is not None and (st.lease_until or 0) >= now
        out.append(
            {
                "name": o.name,
                "channel": o.channel,
                "events": list(o.events) or ["*"],
                "state": "new" if st is None else "running" if held else "stopped",
                "cursor": None if st is None else st.cursor,
                "owner": st.owner if st is not None and held else None,
                "deliveries": yard.store.delivery_counts(o.name),
            }
        )
    return out


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "observer": d.observer,
        "event": d.event_id,
        "name": d.event.get("name") if isinstance(d.event, dict) else None,
        "job": d.job_id,
        "status": d.status,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "next_at": iso(d.next_at),
        "time": iso(d.updated),
    }


def recent(yard: Yard, observer: str | None, limit: int) -> list[dict[str, Any]]:
    """The most recently changed deliveries, oldest first (the newest next to the prompt)."""
    return [delivery_view(d) for d in reversed(yard.store.recent_deliveries(observer, limit))]


def test_send(
    yard: Yard,
    observer: ObserverConfig,
    mail: MailSettings,
    job_id: int | None = None,
    to: str | None = None,
    channel: Channel | None = None,
) -> Notification:
    """Render the observer's templates for an ``observer.test`` event (of job ``job_id``,
    or a made-up finished job) and send it now; nothing is recorded. RenderError or
    ChannelError when it does not go."""
    event: dict[str, Any] = {
        "id": 0,
        "time": iso(time.time()),
        "name": "observer.test",
        "job": job_id,
        "type": "example",
        "queue": "default",
        "status": "completed",
        "data": None,
    }
    if job_id is not None:
        yard.get(job_id)  # NotFound: one clear line
        job = job_context(yard, event)
        event.update(type=job["type"], queue=job["queue"], status=job["status"])
    else:
        job = dict(SAMPLE_JOB)
    recipient = to
    if recipient is None and observer.private:
        recipient = filters.private_recipient(observer, job.get("props") or {})
    ctx = context(observer, event, job, recipient)
    notification = render(observer, ctx, recipient)
    (channel or make_channel(observer, mail)).send(notification)
    return notification
