"""Events: an append-only log, and triggers that turn an event into jobs.

A type listens with ``on=[...]`` (Python: ``@yard.job(on=...)``; scripts: their ``on``
metadata). Every emit is recorded with the jobs it created. A chain of emits carries its
depth in the jobs' props; past ``MAX_DEPTH`` the emit is refused, which stops A→B→A loops.

Lifecycle events: a job that completes, fails for good or is cancelled emits
``job.completed`` / ``job.failed`` / ``job.cancelled`` and the typed variant
``job.failed:TYPE`` with data ``{"id", "type", "result" | "error"}`` — only when some type
listens on that name (:class:`FinishHook`), so finishing costs nothing when nobody does.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput, JobyardError
from jobyard.i18n import _
from jobyard.lifecycle import log_entry
from jobyard.spec import encode_data, parse_name
from jobyard.store.base import Event

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobyard.model import Job
    from jobyard.yard import Yard

MAX_DEPTH = 10
log = logging.getLogger("jobyard.events")


def listeners(yard: Yard, name: str) -> list[str]:
    """Names of the types listening on ``name`` that can take a job: enabled, not deleted,
    and (this process's own types, script types a worker loaded) still active."""
    found = {jt.name for jt in yard.types.values() if name in jt.on and jt.active}
    for st in yard.stored_types().values():
        usable = st.enabled and not st.meta.get("deleted")
        if usable and name in (st.meta.get("on") or []):
            found.add(st.name)
        elif not usable:
            found.discard(st.name)
    return sorted(found)


def _gone(yard: Yard, type_name: str) -> bool:
    """Whether a listener was disabled, deleted or removed meanwhile (freshly read)."""
    stored = yard.stored_types(refresh=True).get(type_name)
    if stored is None:
        return type_name not in yard.types
    return not stored.enabled or bool(stored.meta.get("deleted"))


def _enqueue_listener(yard: Yard, type_name: str, data: Any, props: dict[str, Any]) -> int | None:
    """The listener's new job id, or None when it cannot take jobs any more: one deleted
    or disabled listener must not sink the emit for all the others."""
    try:
        return yard.enqueue(type_name, data, props=props).id
    except InvalidInput:
        if not _gone(yard, type_name):
            raise
    jt = yard.types.get(type_name)
    if jt is not None:
        jt.active = False  # cleaned: not listed again until a reload says otherwise
    log.warning("event listener %s skipped: the type is deleted or disabled", type_name)
    return None


def emit(
    yard: Yard, name: str, data: Any = None, source_job: int | None = None, depth: int = 0
) -> Event:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(_("an event needs a non-empty name"))
    parse_name(name, "event name")  # what every backend can store: no NUL, <= 200 chars
    if depth >= MAX_DEPTH:
        raise InvalidInput(
            _(
                "event {name!r} not emitted: chain of {depth} emits reached the limit of "
                "{MAX_DEPTH} (a trigger loop? A triggers B triggers A ...)",
                name=name,
                depth=depth,
                MAX_DEPTH=MAX_DEPTH,
            )
        )
    encoded = encode_data(data, yard.config, "event data")
    store, now = yard.store, time.time()
    with store.transaction():
        props = {"event": name, "depth": depth + 1}
        created = [_enqueue_listener(yard, t, data, props) for t in listeners(yard, name)]
        jobs = [job_id for job_id in created if job_id is not None]
        event_id = store.insert_event(now, name, encoded, source_job, depth, jobs)
    return Event(event_id, now, name, data, source_job, depth, jobs)


def list_events(
    yard: Yard, name: str | None = None, after_id: int = 0, limit: int = 100
) -> list[Event]:
    return yard.store.events_after(after_id, limit, name)


def recent_events(yard: Yard, name: str | None = None, limit: int = 100) -> list[Event]:
    """The latest ``limit`` events (of one name if given), oldest first."""
    return yard.store.recent_events(limit, name)


def listened(yard: Yard) -> frozenset[str]:
    """Every event name some type listens on (uncached; see FinishHook)."""
    names = {n for jt in yard.types.values() if jt.active for n in jt.on}
    for st in yard.stored_types().values():
        if st.enabled and not st.meta.get("deleted"):
            names.update(st.meta.get("on") or [])
    return frozenset(names)


class FinishHook:
    """Turns finished jobs into lifecycle events, inside the transaction that finished them
    (a trigger job exists if and only if the job's new status does).

    The set of listened names is recomputed only when the Yard's stored-types cache renews
    (every few seconds) or its own types change, so with no listener a finished job costs
    a set lookup. A failed emit (the chain limit, a listener's data limit) never undoes the
    job's outcome: it is written to the job's log instead."""

    def __init__(self, yard: Yard) -> None:
        self.yard = yard
        self._source: object = None
        self._count = -1
        self._names: frozenset[str] = frozenset()

    def names(self) -> frozenset[str]:
        source = self.yard.stored_types()
        if source is not self._source or len(self.yard.types) != self._count:
            self._names = listened(self.yard)
            self._source, self._count = source, len(self.yard.types)
        return self._names

    def __call__(self, event: str, jobs: Sequence[tuple[Job, Any]]) -> None:
        names = self.names()
        if not names:
            return
        key = "error" if event == "job.failed" else "result"
        for job, value in jobs:
            for name in (event, f"{event}:{job.type}"):
                if name not in names:
                    continue
                data: dict[str, Any] = {"id": job.id, "type": job.type}
                if event != "job.cancelled":
                    data[key] = value
                props = job.props if isinstance(job.props, dict) else {}
                try:
                    emit(self.yard, name, data, job.id, int(props.get("depth", 0)))
                except JobyardError as exc:
                    entry = log_entry(job.id, time.time(), f"Event not emitted: {exc}", "warning")
                    self.yard.store.append_logs([entry])
