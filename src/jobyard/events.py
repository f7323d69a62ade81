"""Events: an append-only log, and triggers that turn an event into jobs.

A type listens with ``on=[...]`` (Python: ``@yard.job(on=...)``; scripts: their ``on``
metadata). Every emit is recorded with the jobs it created. A chain of emits carries its
depth in the jobs' props; past ``MAX_DEPTH`` the emit is refused, which stops A→B→A loops.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput

if TYPE_CHECKING:
    from jobyard.yard import Yard

MAX_DEPTH = 10


@dataclass
class Event:
    id: int
    time: float
    name: str
    data: Any
    source_job: int | None
    depth: int
    jobs: list[int]


def listeners(yard: Yard, name: str) -> list[str]:
    """Names of the enabled types listening on ``name``."""
    found = {jt.name for jt in yard.types.values() if name in jt.on}
    for st in yard.stored_types().values():
        on = st.meta.get("on") or []
        if name in on and st.enabled and not st.meta.get("deleted"):
            found.add(st.name)
        elif st.name in found and not st.enabled:
            found.discard(st.name)
    return sorted(found)


def emit(
    yard: Yard, name: str, data: Any = None, source_job: int | None = None, depth: int = 0
) -> Event:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("an event needs a non-empty name")
    if depth >= MAX_DEPTH:
        raise InvalidInput(
            f"event {name!r} not emitted: chain of {depth} emits reached the limit of "
            f"{MAX_DEPTH} (a trigger loop? A triggers B triggers A ...)"
        )
    encoded = yard._encode(data)
    store, now = yard.store, time.time()
    with store.transaction():
        jobs = [
            yard.enqueue(t, data, props={"event": name, "depth": depth + 1}).id
            for t in listeners(yard, name)
        ]
        row = store.execute(
            "insert_event",
            {
                "time": now,
                "name": name,
                "data": encoded,
                "source_job": source_job,
                "depth": depth,
                "jobs": store.encode_json(jobs),
            },
        ).fetchone()
    return Event(int(row[0]), now, name, data, source_job, depth, jobs)


def list_events(
    yard: Yard, name: str | None = None, after_id: int = 0, limit: int = 100
) -> list[Event]:
    store = yard.store
    rows = store.execute("list_events", {"name": name, "after_id": after_id, "limit": limit})
    return [
        Event(
            int(r["id"]),
            float(r["time"]),
            str(r["name"]),
            store.decode_json(r["data"]),
            r["source_job"],
            int(r["depth"]),
            store.decode_json(r["jobs"]),
        )
        for r in rows.fetchall()
    ]
