"""Delayed works (AnyJob; CONTRACT.md ``jobyard delayed``): a saved job creation — type,
nodes, parameters, props — that runs at a time or on a crontab.

    w = delayed.add(yard, "backup", cron="0 3 * * *", data={"full": True}, skip=2)
    delayed.fire_due(yard, now)     # the scheduler's tick: due works create their jobs

Each firing is a tick of the store's schedule ticks under the key ``delayed:ID``, inserted
in the same transaction as the jobs it creates, so any number of schedulers fire each tick
exactly once. ``skip N`` passes over the next N ticks (each one a ``delayed.skipped``
event). A work created, fired or skipped is an event (``delayed.created``,
``delayed.fired``, ``delayed.skipped``) in the events log (``jobyard events``), so
triggers and observers can follow them. An ``at`` work fires once and is then done.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobyard import nodes as nodes_
from jobyard import runas
from jobyard.cron import fire_times, validate_cron
from jobyard.errors import InvalidInput, JobyardError, NotFound
from jobyard.events import emit
from jobyard.i18n import _
from jobyard.model import to_timestamp
from jobyard.spec import encode_data
from jobyard.store.delayed import DelayedRow

if TYPE_CHECKING:
    from jobyard.yard import Yard

GRACE = 60.0  # seconds a tick may be late (a scheduler restarted) and still fire
MAX_SKIP = 1_000_000
KEY = "delayed:"


def _key(work_id: int) -> str:
    return f"{KEY}{work_id}"


def add(
    yard: Yard,
    type_name: str,
    *,
    nodes: Any = None,
    data: Any = None,
    props: dict[str, Any] | None = None,
    at: Any = None,
    cron: str | None = None,
    timezone: str | None = None,
    skip: int = 0,
    paused: bool = False,
    run_as: Any = None,
) -> DelayedRow:
    """Save a job creation to run ``at`` a time or on ``cron``; checked now as an enqueue
    would be (type, nodes, parameters, props), so a bad one is refused before it is saved.
    ``run_as`` (``USER[:GROUP]``) is the user its jobs' scripts and local shells run as:
    the jobs' ``props.run_as``."""
    if (at is None) == (cron is None):
        raise InvalidInput(_("a delayed work runs at a time or on a crontab: give --at or --cron"))
    when = None if at is None else to_timestamp(at, "--at")
    if cron is not None:
        validate_cron(cron, timezone)
    if isinstance(skip, bool) or not isinstance(skip, int) or not 0 <= skip <= MAX_SKIP:
        raise InvalidInput(
            _(
                "skip must be a whole number from 0 to {MAX_SKIP}, got {skip!r}",
                MAX_SKIP=MAX_SKIP,
                skip=skip,
            )
        )
    checked = nodes_.parse_nodes(nodes) if nodes not in (None, "", []) else []
    user = runas.check(run_as, "--run-as")
    if user is not None:
        props = {**(props or {}), "run_as": user}
    options = {"props": props} if props else {}
    yard.registry.check(type_name)
    yard.registry.check_data(type_name, data)
    yard.specs.build(type_name, data, options, time.time())
    encoded = encode_data(data, yard.config)
    now = time.time()
    with yard.store.transaction():
        work_id = yard.store.insert_delayed(
            type_name, checked, encoded, props or {}, when, cron, timezone, skip, paused, now
        )
        emit(yard, "delayed.created", {"id": work_id, "type": type_name})
    return get(yard, work_id)


def get(yard: Yard, work_id: int) -> DelayedRow:
    found = yard.store.get_delayed(work_id)
    if found is None:
        raise NotFound(_("no delayed work {work_id}", work_id=work_id))
    return found


def works(yard: Yard) -> list[DelayedRow]:
    return yard.store.list_delayed()


def pause(yard: Yard, work_id: int, paused: bool = True) -> DelayedRow:
    w = get(yard, work_id)
    yard.store.set_delayed(w.id, paused, w.skip, w.done, time.time())
    return get(yard, work_id)


def set_skip(yard: Yard, work_id: int, count: int) -> DelayedRow:
    """Pass over the next ``count`` ticks (0: none)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_SKIP:
        raise InvalidInput(
            _(
                "skip must be a whole number from 0 to {MAX_SKIP}, got {count!r}",
                MAX_SKIP=MAX_SKIP,
                count=count,
            )
        )
    w = get(yard, work_id)
    yard.store.set_delayed(w.id, w.paused, count, w.done, time.time())
    return get(yard, work_id)


def remove(yard: Yard, work_id: int) -> None:
    if not yard.store.delete_delayed(work_id):
        raise NotFound(_("no delayed work {work_id}", work_id=work_id))


def due(work: DelayedRow, last: float | None, now: float) -> list[float]:
    """The ticks of ``work`` to fire at ``now`` (pure): after its last recorded one, and no
    older than the grace window (a scheduler that was down does not fire a backlog)."""
    if work.paused or work.done:
        return []
    if work.at is not None:
        return [work.at] if work.at <= now and last is None else []
    assert work.cron is not None
    # Ticks while it was paused are not owed on resume: ``updated`` (set by pause, resume
    # and every tick handled) starts the window too.
    start = max(last if last is not None else work.created, work.updated, now - GRACE)
    return fire_times(work.cron, start, now, work.timezone, 100)


def fire_due(yard: Yard, now: float | None = None) -> list[int]:
    """Fire (or skip) every due tick of every delayed work; returns the jobs created."""
    now = time.time() if now is None else now
    created: list[int] = []
    for work in works(yard):
        try:
            ticks = due(work, yard.store.last_schedule_tick(_key(work.id)), now)
        except JobyardError:
            continue
        for tick in ticks:
            try:
                created.extend(_fire(yard, work, tick, now))
            except JobyardError as exc:  # a type disabled or gone meanwhile: next time
                emit(yard, "delayed.failed", {"id": work.id, "error": str(exc)[:500]})
                break
    return created


def _fire(yard: Yard, work: DelayedRow, tick: float, now: float) -> list[int]:
    store = yard.store
    with store.transaction():
        if not store.insert_schedule_tick(_key(work.id), int(tick), now):
            return []  # another scheduler has it
        info = {"id": work.id, "type": work.type, "tick": tick}
        if store.use_delayed_skip(work.id, now):
            emit(yard, "delayed.skipped", {**info, "left": max(work.skip - 1, 0)})
            return []
        props = {**work.props, "delayed": work.id}
        if work.nodes:
            _unused, ids = nodes_.submit(yard, work.type, work.nodes, work.data, props=props)
        else:
            ids = [yard.enqueue(work.type, work.data, props=props).id]
        store.delayed_fired(work.id, work.at is not None, now)
        emit(yard, "delayed.fired", {**info, "jobs": ids})
    return ids
