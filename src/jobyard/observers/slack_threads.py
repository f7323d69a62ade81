"""Follow-ups of Slack-made jobs in their thread: a built-in observer (``slack-threads``)
that posts each job's start, coarse progress and outcome, and a jobset's finished
summary, with chat.postMessage and the ``thread_ts`` the job's props carry
(``props.slack = {channel, thread_ts, user, lang}``, set by jobyard.slack.flow), in the
language of the user who made the job (``lang``; ``[slack] lang`` when there is none).

It is an observer like the configured ones: it reads the event log by cursor, records
each delivery, retries with backoff and sends nothing twice after a restart (a send cut
off by a crash is marked unknown, not repeated: docs/observers.md). It exists when
``[slack]`` has a bot token; ``noslack`` and ``silent`` props silence it."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from jobyard import i18n
from jobyard.i18n import _, n_
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
    number, node = job.get("id") or event.get("job"), job.get("node")
    if node:
        return _("job {id} on {node}", id=number, node=escape(node))
    return _("job {id}", id=number)


def _counts(counts: Mapping[str, int]) -> str:
    """ "2 completed, 1 failed" (what ran of a jobset), in the current language."""
    parts = []
    if counts["completed"]:
        parts.append(n_("{n} completed", "{n} completed", counts["completed"]))
    if counts["failed"]:
        parts.append(n_("{n} failed", "{n} failed", counts["failed"]))
    if counts["cancelled"]:
        parts.append(n_("{n} cancelled", "{n} cancelled", counts["cancelled"]))
    return ", ".join(parts) or _("nothing ran")


def _count(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None else 0


def _jobset_text(data: Mapping[str, Any]) -> str:
    counts = {k: _count(data.get(k)) for k in ("completed", "failed", "cancelled")}
    text = _(
        "jobset {jobset} finished: {counts} (of {total})",
        jobset=escape(data.get("jobset"), 20),
        counts=_counts(counts),
        total=escape(data.get("total"), 20),
    )
    jobs = data.get("jobs")
    if isinstance(jobs, Mapping):
        bad = [_("job {id}", id=escape(i, 20)) for i, st in jobs.items() if st != "completed"]
        if bad:
            listed = ", ".join(bad[:20]) + (" …" if len(bad) > 20 else "")
            text = _("{text}; not completed: {jobs}", text=text, jobs=listed)
    return (
        ":white_check_mark: " if not counts["failed"] and not counts["cancelled"] else ":x: "
    ) + text


def _error(job: Mapping[str, Any]) -> str:
    return escape(job.get("error") or _("no error given"))


def text(context: Mapping[str, Any]) -> str:
    """What the thread reads for one event, in the current language; user text (errors,
    results, nodes) escaped."""
    event, job = context["event"], context["job"]
    name, label = event["name"], _label(job, event)
    data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
    if name == "jobset.finished":
        return _jobset_text(data)
    if name == "job.started":
        attempts = job.get("attempts") or 1
        if attempts > 1:
            return _("{label} started (attempt {attempt})", label=label, attempt=attempts)
        return _("{label} started", label=label)
    if name == "job.progress":
        done, total = _number(data.get("completed")) or 0, _number(data.get("total")) or 1
        return _(
            "{label}: {percent:.0f}% ({done:g} of {total:g})",
            label=label,
            percent=100 * done / total,
            done=done,
            total=total,
        )
    if name == "job.retrying":
        return _("{label} failed, will retry: {error}", label=label, error=_error(job))
    if name == "job.completed":
        result = job.get("result")
        if result is None:
            return ":white_check_mark: " + _("{label} completed", label=label)
        shown = escape(json.dumps(result, default=str), 300)
        return ":white_check_mark: " + _("{label} completed: {result}", label=label, result=shown)
    if name == "job.failed":
        return ":x: " + _("{label} failed: {error}", label=label, error=_error(job))
    if name == "job.cancelled":
        return _("{label} cancelled", label=label)
    return f"{label} {escape(name.removeprefix('job.'))}"  # an event name: data


def language(props: Mapping[str, Any], default: str) -> str:
    """The thread's language: its creator's, kept in ``props.slack.lang`` (older threads
    have none: ``[slack] lang``)."""
    slack = props.get("slack")
    lang = slack.get("lang") if isinstance(slack, Mapping) else None
    return (i18n.normalize(lang) if isinstance(lang, str) else None) or default


class ThreadMessage(Compiled):
    """The observer's payload: made in Python (a thread and escaped text), not Jinja."""

    def __init__(self, lang: str = i18n.DEFAULT) -> None:
        self.observer, self.field, self.source, self.html = NAME, "payload", "(built in)", False
        self.lang = lang  # [slack] lang, for a thread that keeps no language of its own

    def render(self, context: Mapping[str, Any]) -> str:
        props = context.get("props") or {}
        thread = thread_of(props) or {}
        with i18n.use(language(props, self.lang)):
            said = text(context)
        payload = {**thread, "text": said, "unfurl_links": False, "unfurl_media": False}
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
        templates={"payload": ThreadMessage(settings.lang)},
        url=settings.api_url,
        token=settings.bot_token,
    )
