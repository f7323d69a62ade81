"""From an event to a notification: the template context and the rendered parts.

The context every template and ``when`` sees:

- ``event``: the event as jobyard.views.job_event_view shows it (id, time, name, job,
  type, queue, status, data);
- ``job``: the job's fields (CONTRACT.md's JSON shape) read now, plus ``log`` (its log
  messages, oldest first), ``error`` (its last failure, or None) and ``node`` (NAME of a
  ``node:NAME`` queue, or None); a job that is gone is described by the event alone;
- ``props``: the job's props; ``jobset``: the ``jobset`` of the event's data (jobset
  events) or the job's; ``observer``: the observer's name; ``recipient``: a private
  observer's recipient (else None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobyard.observers.config import ObserverConfig
from jobyard.observers.templates import RenderError

if TYPE_CHECKING:
    from jobyard.yard import Yard

FINISH_EVENTS = ("job.completed", "job.failed", "job.cancelled", "jobset.finished")


@dataclass(frozen=True)
class Notification:
    """What a channel sends; which fields are set depends on the channel."""

    observer: str
    event_id: int
    event_name: str
    to: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    html: bool = False
    payload: Any = None  # slack, webhook: the JSON document
    line: str = ""  # log
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def job_context(yard: Yard, event: Mapping[str, Any], log: bool = True) -> dict[str, Any]:
    """The job of an event as templates see it, read through the views; without its log
    when ``log`` is false (:func:`add_log` reads it later, once the event is wanted)."""
    from jobyard import views

    job_id = event.get("job")
    found = views.jobs_by_id(yard, [job_id]) if isinstance(job_id, int) else []
    if not found:
        job: dict[str, Any] = {
            "id": job_id,
            "type": event.get("type"),
            "queue": event.get("queue"),
            "status": event.get("status"),
            "props": {},
            "jobset": None,
            "log": [],
            "log_entries": [],
        }
    else:
        job = views.job_fields(found[0])
        if log:
            add_log(yard, job)
    failures = job.get("failures") or []
    job["error"] = failures[-1].get("error") if failures else None
    queue = job.get("queue") or ""
    job["node"] = queue.removeprefix("node:") if queue.startswith("node:") else None
    return job


def add_log(yard: Yard, job: dict[str, Any]) -> None:
    """Read the job's log into ``log`` and ``log_entries`` (if not read yet)."""
    from jobyard import views
    from jobyard.errors import NotFound

    if "log_entries" in job:
        return
    try:
        entries = [views.log_entry(e) for e in views.job_log(yard, int(job["id"]))]
    except NotFound:  # removed a moment ago
        entries = []
    job["log_entries"] = entries
    job["log"] = [str(e.get("message", "")) for e in entries]


def needs_log_to_filter(observer: ObserverConfig) -> bool:
    """Whether the observer's ``when`` expression may read the log (then it is read before
    filtering; otherwise only for the events that pass: most events of most observers do
    not, and a log can be long)."""
    when = observer.when
    return when is not None and "log" in str(getattr(when, "source", "log"))


def context(
    observer: ObserverConfig,
    event: Mapping[str, Any],
    job: Mapping[str, Any],
    recipient: str | None,
) -> dict[str, Any]:
    data = event.get("data")
    jobset = data.get("jobset") if isinstance(data, Mapping) else None
    return {
        "event": dict(event),
        "job": dict(job),
        "props": dict(job.get("props") or {}),
        "jobset": jobset if jobset is not None else job.get("jobset"),
        "observer": observer.name,
        "recipient": recipient,
    }


def render(observer: ObserverConfig, ctx: Mapping[str, Any], recipient: str | None) -> Notification:
    """Render the observer's templates (RenderError when one fails on this event)."""
    t = observer.templates
    event = ctx["event"]
    base = {"observer": observer.name, "event_id": int(event["id"]), "event_name": event["name"]}
    if observer.channel == "mail":
        to = (recipient,) if recipient else observer.to
        attachments = []
        if observer.attach_log and event["name"] in FINISH_EVENTS and ctx["job"].get("log"):
            text = "\n".join(ctx["job"]["log"]) + "\n"
            attachments.append((f"job-{ctx['job']['id']}.log", text.encode()))
        subject = " ".join(t["subject"].render(ctx).split())  # one line, always
        body = t["body"].render(ctx)
        html = t["body"].html
        return Notification(**base, to=to, subject=subject, body=body, html=html,
                            attachments=attachments)  # fmt: skip
    if observer.channel == "log":
        return Notification(**base, line=" ".join(t["line"].render(ctx).splitlines()))
    if "payload" in t:
        payload = _json(t["payload"].render(ctx))
    elif observer.channel == "slack":
        payload = {"text": t["text"].render(ctx)}
    else:
        payload = {"observer": observer.name, "event": event, "job": _webhook_job(ctx["job"])}
    if observer.channel == "slack" and recipient and isinstance(payload, dict):
        payload.setdefault("channel", recipient)
    return Notification(**base, payload=payload)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RenderError(f"payload template: not JSON ({exc}); use the json filter") from None


def _webhook_job(job: Mapping[str, Any]) -> dict[str, Any]:
    # The receiver can ask the API for the rest; a long log does not belong in every POST.
    return {k: v for k, v in job.items() if k not in ("log", "log_entries")}
