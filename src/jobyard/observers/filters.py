"""Which events an observer gets: by name (exact, or a pattern such as ``job.*``), type,
queue or node (``node:NAME`` is a queue), the job's props (``silent``, ``nomail``,
``noslack``), and a sandboxed ``when`` expression over the same context as templates.

The cheap checks read only the event row; the job is loaded once one of them passes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from jobyard.feed import KINDS
from jobyard.observers.config import ObserverConfig
from jobyard.store.base import JobEvent

_PATTERN = set("*?[")
_MAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+$")


# Events that come by the dozen while one job runs: an observer gets them only when its
# ``events`` names them (or a pattern that matches them), not by default.
STREAMING = frozenset({"job.log", "job.progress"})


def kinds_to_read(observer: ObserverConfig) -> list[str] | None:
    """The event names to ask the store for, or None (read all) when a pattern is given:
    the store filters exact names, this module the rest."""
    if not observer.events:
        return [k for k in KINDS if k not in STREAMING]
    if any(_PATTERN & set(k) for k in observer.events):
        return None
    return list(observer.events)


def wants_event(observer: ObserverConfig, event: JobEvent) -> bool:
    """The checks on the event row alone: its name, type and queue."""
    if not observer.events and event.name in STREAMING:
        return False
    if observer.events and not any(fnmatchcase(event.name, k) for k in observer.events):
        return False
    if observer.types and event.type not in observer.types:
        return False
    return not observer.queues or event.queue in observer.queues


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def silenced(observer: ObserverConfig, props: Mapping[str, Any]) -> bool:
    """props ``silent`` stops every notification of the job; ``nomail`` and ``noslack``
    those of one channel."""
    if _truthy(props.get("silent")):
        return True
    if observer.channel == "mail" and _truthy(props.get("nomail")):
        return True
    return observer.channel == "slack" and _truthy(props.get("noslack"))


def private_recipient(observer: ObserverConfig, props: Mapping[str, Any]) -> str | None:
    """A private observer's one recipient: the job's creator, when it is of the observer's
    kind (a mail address for mail; a Slack user, ``@name`` or an id, for Slack)."""
    creator = props.get("creator")
    if not isinstance(creator, str) or not creator.strip():
        return None
    creator = creator.strip()
    is_mail = _MAIL.match(creator) is not None
    if observer.channel == "mail":
        return creator if is_mail else None
    return None if is_mail else creator


def matches(observer: ObserverConfig, context: Mapping[str, Any]) -> bool:
    """The ``when`` expression, if any (RenderError when it fails on this event)."""
    return observer.when is None or observer.when(context)
