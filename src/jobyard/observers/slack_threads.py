"""Follow-ups of Slack-made jobs in their thread: a built-in observer (``slack-threads``)
that posts each job's start, coarse progress and outcome, and a jobset's finished
summary, with chat.postMessage and the ``thread_ts`` the job's props carry
(``props.slack = {channel, thread_ts, user}``, set by jobyard.slack.flow).

It is an observer like the configured ones: it reads the event log by cursor, records
each delivery, retries with backoff and sends nothing twice after a restart (a send cut
off by a crash is marked unknown, not repeated: docs/observers.md). It exists when
``[slack]`` has a bot token; ``noslack`` and ``silent`` props silence it."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from jobyard.observers.config import ObserverConfig
from jobyard.observers.render import FINISH_EVENTS
from jobyard.observers.templates import Compiled, Condition
from jobyard.slack.mrkdwn import escape
from jobyard.slack.settings import SlackSettings

NAME = "slack-threads"
EVENTS = (
    "job.started",
    "job.progress",
    "job.retrying",
    "job.completed",
    "job.failed",
    "job.cancelled",
    "jobset.finished",
)
STEPS = 4  # progress is posted when it reaches the next quarter, not once a second
MAX_TRACKED = 10_000


def thread_of(props: Mapping[str, Any]) -> dict[str, str] | None:
    slack = props.get("slack")
    if not isinstance(slack, Mapping):
        return None
    channel, ts = slack.get("channel"), slack.get("thread_ts")
    if not isinstance(channel, str) or not isinstance(ts, str) or not channel or not ts:
        return None
    return {"channel": channel, "thread_ts": ts}


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


class InThread(Condition):
    """The observer's ``when``: jobs made from Slack only, and of their progress events
    the first of each quarter. Which quarter a job reached is kept in memory: after a
    restart one quarter may be posted again, never the same event twice."""

    def __init__(self) -> None:
        self.source = "props.slack (built in)"
        self._reached: dict[Any, int] = {}
        self._lock = threading.Lock()

    def __call__(self, context: Mapping[str, Any]) -> bool:
        if thread_of(context.get("props") or {}) is None:
            return False
        event = context["event"]
        job = event.get("job")
        with self._lock:
            if event["name"] != "job.progress":
                if event["name"] in FINISH_EVENTS:
                    self._reached.pop(job, None)
                return True
            data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
            done, total = _number(data.get("completed")), _number(data.get("total"))
            if done is None or total is None or total <= 0:
                return False
            step = min(STEPS - 1, int(STEPS * done / total))
            if step <= self._reached.get(job, 0):
                return False
            if len(self._reached) >= MAX_TRACKED:
                self._reached.clear()
            self._reached[job] = step
            return True


def _label(job: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    node = job.get("node")
    return f"job {job.get('id') or event.get('job')}" + (f" on {escape(node)}" if node else "")


def _jobset_text(data: Mapping[str, Any]) -> str:
    counts = {k: data.get(k) or 0 for k in ("completed", "failed", "cancelled")}
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    text = (
        f"jobset {data.get('jobset')} finished: {parts or 'nothing ran'} (of {data.get('total')})"
    )
    jobs = data.get("jobs")
    if isinstance(jobs, Mapping):
        bad = [f"job {escape(i, 20)}" for i, st in jobs.items() if st != "completed"]
        if bad:
            text += "; not completed: " + ", ".join(bad[:20]) + (" …" if len(bad) > 20 else "")
    return (
        ":white_check_mark: " if not counts["failed"] and not counts["cancelled"] else ":x: "
    ) + text


def text(context: Mapping[str, Any]) -> str:
    """What the thread reads for one event; user text (errors, results, nodes) escaped."""
    event, job = context["event"], context["job"]
    name, label = event["name"], _label(job, event)
    data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
    if name == "jobset.finished":
        return _jobset_text(data)
    if name == "job.started":
        attempts = job.get("attempts") or 1
        return f"{label} started" + (f" (attempt {attempts})" if attempts > 1 else "")
    if name == "job.progress":
        done, total = _number(data.get("completed")) or 0, _number(data.get("total")) or 1
        return f"{label}: {100 * done / total:.0f}% ({done:g} of {total:g})"
    if name == "job.retrying":
        return f"{label} failed, will retry: {escape(job.get('error') or 'no error given')}"
    if name == "job.completed":
        result = job.get("result")
        shown = "" if result is None else ": " + escape(json.dumps(result, default=str), 300)
        return f":white_check_mark: {label} completed{shown}"
    if name == "job.failed":
        return f":x: {label} failed: {escape(job.get('error') or 'no error given')}"
    return f"{label} {escape(name.removeprefix('job.'))}"


class ThreadMessage(Compiled):
    """The observer's payload: made in Python (a thread and escaped text), not Jinja."""

    def __init__(self) -> None:
        self.observer, self.field, self.source, self.html = NAME, "payload", "(built in)", False

    def render(self, context: Mapping[str, Any]) -> str:
        thread = thread_of(context.get("props") or {}) or {}
        payload = {**thread, "text": text(context), "unfurl_links": False, "unfurl_media": False}
        return json.dumps(payload, ensure_ascii=False)


def observer(settings: SlackSettings | None) -> ObserverConfig | None:
    """The built-in observer of ``[slack]`` (None without a bot token)."""
    if settings is None or settings.bot_token is None:
        return None
    return ObserverConfig(
        name=NAME,
        channel="slack",
        events=EVENTS,
        when=InThread(),
        templates={"payload": ThreadMessage()},
        url=settings.api_url,
        token=settings.bot_token,
    )
