"""Cron schedules: one job per tick of every scheduled type, however many schedulers run.

A type is scheduled by its ``schedule`` (cron: 5 fields, 6 with seconds first, or an alias
such as ``@hourly``) and optional ``timezone`` and ``catchup``: Python types get them from
``@yard.job(schedule=..., timezone=..., catchup=...)`` through ``sync_types``; script types
from ``jobyard type set``. Only enabled, non-deleted types fire.

- **Exactly once.** Each tick is a row of ``schedule_ticks`` whose primary key is
  (type, tick); the row and the job are inserted in one transaction, and a scheduler whose
  insert was ignored (another one got there first) creates no job.
- **Catch-up.** Ticks are computed from the last recorded tick of the type, not from "now
  minus an interval". A tick fires if it is at most ``grace`` seconds old (default 60), so
  a short pause loses nothing. Older missed ticks (downtime) are skipped by default;
  with ``catchup = "latest"`` (type meta, or ``[scheduler] catchup`` in jobyard.toml) the
  latest missed tick runs once. A type that never fired starts with the latest tick of
  the grace window at most: a new schedule does not replay its past.
- **Clock jumps.** A tick fires only once ``now`` has reached it, and never at or before
  the type's last recorded tick: a clock that goes back fires nothing until it passes
  that tick again, and the primary key refuses a tick already recorded in any case.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jobyard import delayed, retention
from jobyard.cron import fire_times, prev_fire, validate_cron
from jobyard.errors import ConfigError, InvalidInput, JobyardError
from jobyard.i18n import _

if TYPE_CHECKING:
    from jobyard.yard import Yard

log = logging.getLogger("jobyard.scheduler")

GRACE = 60.0
CATCHUP = ("skip", "latest")
MAX_TICKS = 1000  # per type and call: a bound for absurd grace windows


@dataclass(frozen=True)
class Schedule:
    type: str
    expr: str
    timezone: str | None = None
    catchup: str = "skip"
    grace: float = GRACE


@dataclass
class _State:
    """What one process remembers between ticks (a cache: the database is the truth)."""

    last: dict[str, float] = field(default_factory=dict)
    warned: set[tuple[str, str]] = field(default_factory=set)
    keeper: retention.Housekeeper | None = None


_states: weakref.WeakKeyDictionary[Yard, _State] = weakref.WeakKeyDictionary()


def settings(yard: Yard) -> tuple[str, float]:
    """``[scheduler]`` of jobyard.toml: (catchup, grace)."""
    section = yard.config.raw.get("scheduler", {})
    if not isinstance(section, dict):
        raise ConfigError(_("[scheduler] must be a table (catchup, grace)"))
    catchup = section.get("catchup", "skip")
    if catchup not in CATCHUP:
        raise ConfigError(
            _("[scheduler] catchup must be one of {CATCHUP}", CATCHUP=", ".join(CATCHUP))
        )
    grace = section.get("grace", GRACE)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 1:
        raise ConfigError(_("[scheduler] grace must be seconds >= 1, got {grace!r}", grace=grace))
    return str(catchup), float(grace)


def schedules(yard: Yard) -> list[Schedule]:
    """Every enabled, non-deleted type with a valid schedule (invalid ones are logged)."""
    catchup, grace = settings(yard)
    metas: dict[str, dict[str, Any]] = {
        t.name: {"schedule": t.schedule, "timezone": t.timezone, "catchup": t.catchup}
        for t in yard.types.values()
        if t.schedule
    }
    for st in yard.stored_types().values():
        if not st.enabled or st.meta.get("deleted"):
            metas.pop(st.name, None)
        elif st.meta.get("schedule"):
            metas[st.name] = st.meta
        else:  # the store is the truth: its meta says this type has no schedule now
            metas.pop(st.name, None)
    found = []
    for name, meta in sorted(metas.items()):
        try:
            expr, tz = meta["schedule"], meta.get("timezone")
            validate_cron(expr, tz)
            mode = meta.get("catchup") or catchup
            if mode not in CATCHUP:
                raise InvalidInput(
                    _(
                        "catchup must be one of {CATCHUP}, got {mode!r}",
                        CATCHUP=", ".join(CATCHUP),
                        mode=mode,
                    )
                )
            found.append(Schedule(name, expr, tz, mode, grace))
        except InvalidInput as exc:
            _warn(yard, name, f"type {name}: schedule ignored: {exc}")
    return found


def due_ticks(schedule: Schedule, last: float | None, now: float) -> list[float]:
    """The ticks to fire at ``now`` given the type's last recorded tick (pure)."""
    if last is not None and last >= now:
        return []  # the clock went back (or nothing is due yet): never fire early or again
    window = now - schedule.grace
    start = window if last is None else max(last, window)
    ticks = fire_times(schedule.expr, start, now, schedule.timezone, MAX_TICKS)
    if last is None:
        return ticks[-1:]
    if not ticks and schedule.catchup == "latest":
        latest = prev_fire(schedule.expr, now, schedule.timezone)
        if latest > last:
            ticks = [latest]
    return ticks


def tick(yard: Yard, now: float | None = None) -> list[int]:
    """Fire every due tick of every scheduled type; return the ids of the jobs created."""
    now = time.time() if now is None else now
    state = _states.setdefault(yard, _State())
    created: list[int] = []
    for schedule in schedules(yard):
        last = state.last.get(schedule.type)
        if last is None:
            last = last_tick(yard, schedule.type)
        for due in due_ticks(schedule, last, now):
            try:
                job_id = fire(yard, schedule, due, now)
            except JobyardError as exc:  # e.g. the type was disabled meanwhile: next time
                _warn(yard, schedule.type, f"type {schedule.type}: tick not fired: {exc}")
                break
            if job_id is not None:
                created.append(job_id)
            state.last[schedule.type] = max(due, state.last.get(schedule.type, due))
    created.extend(delayed.fire_due(yard, now))
    if state.keeper is None:
        state.keeper = retention.Housekeeper(yard.store, yard.config)
    state.keeper.offer(now)  # hourly, by one process of all that offer (workers too)
    return created


def join_housekeeping(yard: Yard, timeout: float | None = None) -> None:
    """Wait for a retention pass this process's ticks started (it runs in a thread)."""
    state = _states.get(yard)
    if state is not None and state.keeper is not None:
        state.keeper.join(timeout)


def fire(yard: Yard, schedule: Schedule, due: float, now: float) -> int | None:
    """Record the tick and create its job, atomically; None if it was recorded already."""
    store = yard.store
    tick = int(due)
    zone = ZoneInfo(schedule.timezone) if schedule.timezone else UTC
    when = datetime.fromtimestamp(due, tz=zone).isoformat()
    with store.transaction():
        if not store.insert_schedule_tick(schedule.type, tick, now):
            return None
        handle = yard.enqueue(schedule.type, props={"schedule": schedule.expr, "tick": when})
        store.set_schedule_tick_job(schedule.type, tick, handle.id)
    log.info("type %s: tick %s fired as job %d", schedule.type, when, handle.id)
    return handle.id


def last_tick(yard: Yard, type_name: str) -> float | None:
    """The latest tick recorded for a type, or None if it never fired."""
    return yard.store.last_schedule_tick(type_name)


def status(yard: Yard, now: float | None = None) -> list[dict[str, Any]]:
    """Each scheduled type with its last recorded tick and next fire time."""
    now = time.time() if now is None else now
    rows = []
    for s in schedules(yard):
        last = last_tick(yard, s.type)
        after = max(now, last) if last is not None else now
        upcoming = fire_times(s.expr, after, after + 400 * 86400, s.timezone, 1)
        rows.append(
            {
                "type": s.type,
                "schedule": s.expr,
                "timezone": s.timezone,
                "catchup": s.catchup,
                "last": last,
                "next": upcoming[0] if upcoming else None,
            }
        )
    return rows


def _warn(yard: Yard, type_name: str, message: str) -> None:
    state = _states.setdefault(yard, _State())
    if (type_name, message) not in state.warned:
        state.warned.add((type_name, message))
        log.warning("%s", message)
