"""Script types as :class:`~jobyard.yard.JobType` objects a worker can run.

Workers call :func:`load_script_types` when they start and on every heartbeat, so an
enabled (or disabled, or re-pointed) script type is picked up within seconds. A type
that stops being runnable stays in ``yard.types`` with ``active = False``: workers stop
claiming it, and jobs already claimed still find their handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobyard.context import JobContext
from jobyard.errors import JobyardError
from jobyard.scripts.meta import KIND
from jobyard.scripts.output import Limits
from jobyard.scripts.runner import run_script
from jobyard.types import JobType

if TYPE_CHECKING:
    from jobyard.model import Job
    from jobyard.store.workers import StoredType
    from jobyard.worker.port import WorkerPort
    from jobyard.yard import Yard

log = logging.getLogger("jobyard.scripts")
_VOLATILE = ("last_ran", "last_status")  # changing these does not rebuild the type


class ScriptType(JobType):
    """A job type whose handler runs an executable (see :mod:`jobyard.scripts.runner`)."""

    kind = KIND
    own_timeout = True  # the runner kills the process group itself on timeout

    def __init__(self, yard: Yard, name: str, meta: dict[str, Any]) -> None:
        self.meta = meta
        self.limits = Limits.from_config(yard.config.raw)
        worker = meta.get("worker")

        async def handler(ctx: JobContext, *args: Any, **kwargs: Any) -> Any:
            return await run_type(self, ctx)

        super().__init__(
            name,
            handler,
            queue=f"worker:{worker}" if worker else "default",
            on=list(meta.get("on") or []),
        )
        self.schedule = meta.get("schedule")  # validated when it was stored
        self.timezone = meta.get("timezone")

    @property
    def mutex(self) -> bool:
        return bool(self.meta.get("mutex", True))

    def same_settings(self, meta: dict[str, Any]) -> bool:
        def strip(m: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in m.items() if k not in _VOLATILE}

        return strip(self.meta) == strip(meta)

    def __repr__(self) -> str:
        return f"<ScriptType {self.name} {self.meta.get('path')}>"


async def run_type(jt: ScriptType, ctx: JobContext) -> Any:
    if not jt.mutex:
        return await run_script(ctx, jt.meta, jt.limits)
    other = await asyncio.to_thread(busy_with, ctx.yard, ctx.job, ctx.port)
    if other is not None:
        await asyncio.to_thread(skip, ctx, other)
        return None
    try:
        return await run_script(ctx, jt.meta, jt.limits)
    finally:
        await _release(ctx)


def busy_with(yard: Yard, job: Job, port: WorkerPort | None = None) -> int | None:
    """Take the type's lock for this run; the id of the job holding it instead, if any.

    The lock is a row the database keeps one of per type (``type_locks``), so of two runs
    starting at once exactly one takes it, whatever the workers' clocks say; it is held
    while its run goes on (a holder killed, rescued or cancelled frees it)."""
    if port is None:
        port = yard.local_port()
    return port.take_type_lock(job.type, job.id, job.run_id or "")


async def _release(ctx: JobContext) -> None:
    # Best effort: a lock left behind is freed anyway once its job no longer runs.
    try:
        await asyncio.to_thread(ctx.port.release_type_lock, ctx.job.type, ctx.job.run_id or "")
    except Exception:
        log.warning("releasing the lock of %s failed", ctx.job.type, exc_info=True)


def skip(ctx: JobContext, other: int) -> None:
    """A mutex type is busy: this run does not start; the job ends cancelled."""
    try:
        ctx.log(
            f"skipped: {ctx.job.type} is a mutex type and job {other} is still running "
            f"(`jobyard type set {ctx.job.type} --no-mutex` allows overlapping runs)",
            "warning",
            {"skipped": True, "busy": other},
        )
        ctx.flush()  # now, while the run is still ours: the cancel below ends it
    except JobyardError:
        return  # no longer ours anyway
    ctx.port.cancel(ctx.job.id)


def load_script_types(yard: Yard, stored: Mapping[str, StoredType] | None = None) -> list[str]:
    """Bring ``yard.types`` in line with the stored types (``stored``, as a worker's port
    gives them; else read from the yard's store); returns the names of runnable scripts.

    Script types that are enabled and not deleted are added (or rebuilt when their
    settings changed); every other type of ``yard.types`` follows its stored enabled flag."""
    if stored is None:
        stored = yard.stored_types(refresh=True)
    runnable = []
    built: dict[str, JobType] = {}
    for name, st in stored.items():
        current = yard.types.get(name)
        if st.kind != KIND:
            if current is not None:
                current.active = st.enabled
            continue
        usable = st.enabled and not st.meta.get("deleted") and bool(st.meta.get("path"))
        if not usable:
            if current is not None:
                current.active = False
            continue
        if isinstance(current, ScriptType) and current.same_settings(st.meta):
            current.meta = st.meta
            current.active = True
        elif current is None or isinstance(current, ScriptType):
            try:
                built[name] = ScriptType(yard, name, st.meta)
            except JobyardError as exc:  # stored settings edited by hand into nonsense
                log.warning("script type %s not loaded: %s", name, exc)
                continue
        else:
            continue  # a Python type of this process has the name
        runnable.append(name)
    for name, jt in yard.types.items():
        if isinstance(jt, ScriptType) and name not in stored:
            jt.active = False
    if built:  # one swap: threads iterating the old dict are not disturbed
        yard.types = {**yard.types, **built}
    return sorted(runnable)
