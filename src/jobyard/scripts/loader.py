"""Script types as :class:`~jobyard.yard.JobType` objects a worker can run.

Workers call :func:`load_script_types` when they start and on every heartbeat, so an
enabled (or disabled, or re-pointed) script type is picked up within seconds. A type
that stops being runnable stays in ``yard.types`` with ``active = False``: workers stop
claiming it, and jobs already claimed still find their handler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobyard.admission import Limit
from jobyard.context import JobContext
from jobyard.errors import JobyardError
from jobyard.scripts.meta import KIND
from jobyard.scripts.output import Limits
from jobyard.scripts.runner import run_script
from jobyard.types import JobType

if TYPE_CHECKING:
    from jobyard.store.workers import StoredType
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

    def admission_limit(self) -> Limit | None:
        # A mutex type is a limit of 1 that the claim enforces: a run that would overlap
        # one still running does not start at all; it is skipped (cancelled, with a log
        # line saying why), as docs/scripts.md says, not queued behind the running one.
        return Limit(1, "skip") if self.mutex else None

    def same_settings(self, meta: dict[str, Any]) -> bool:
        def strip(m: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in m.items() if k not in _VOLATILE}

        return strip(self.meta) == strip(meta)

    def __repr__(self) -> str:
        return f"<ScriptType {self.name} {self.meta.get('path')}>"


async def run_type(jt: ScriptType, ctx: JobContext) -> Any:
    # A mutex type's overlapping runs were refused at admission (jobyard.admission): a run
    # that reaches here may start.
    return await run_script(ctx, jt.meta, jt.limits)


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
