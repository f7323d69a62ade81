"""The pure half of the read views: jobs and rows turned into plain dataclasses and
JSON-style dicts (times as ISO 8601 strings where a dict is JSON; floats in dataclasses,
for a face to format). No store access here: :mod:`jobyard.views` reads, then calls these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from jobyard import model
from jobyard.jobsets import UNFINISHED, status_counts
from jobyard.model import Job, iso

if TYPE_CHECKING:
    from jobyard.store.collections import Item
    from jobyard.store.events import Event, JobEvent
    from jobyard.store.workers import StoredType, WorkerRow

T = TypeVar("T")


# -- jobs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSummary:
    """A job as one row of a listing (``jobyard jobs``)."""

    id: int
    type: str
    queue: str
    status: str
    priority: str  # its name when it has one ("high"), else the number
    percent: float
    attempts: int
    created: float


def job_summary(job: Job) -> JobSummary:
    return JobSummary(
        id=job.id,
        type=job.type,
        queue=job.queue,
        status=job.status,
        priority=model.priority_name(job.priority),
        percent=job.percent,
        attempts=job.attempts,
        created=job.created,
    )


def job_fields(job: Job) -> dict[str, Any]:
    """Every field of a job, JSON-style (``job show``, ``--json`` listings): CONTRACT.md."""
    return job.to_dict()


def log_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A log entry, JSON-style (its time as ISO 8601)."""
    return {**entry, "time": iso(entry["time"])}


def not_applied(jobs: Iterable[Job], operation: str) -> list[int]:
    """Ids of the jobs whose status the management ``operation`` does not apply to."""
    return [j.id for j in jobs if j.status not in model.ALLOWED_FROM[operation]]


# -- workers, types, events, schedules --------------------------------------------------------


@dataclass(frozen=True)
class WorkerView:
    """A registered worker: alive while its last heartbeat is younger than its lease
    (:func:`worker_views` judges it), else its status reads ``gone``."""

    name: str
    host: str | None
    pid: int | None
    queues: list[str]
    concurrency: int
    status: str
    heartbeat_age: float  # seconds since its last heartbeat
    lease: float
    alive: bool
    running: list[int]  # the jobs the jobs table has running under its name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def worker_views(
    rows: Iterable[WorkerRow], running: Mapping[str, list[int]], now: float, lease: float
) -> list[WorkerView]:
    """The registered workers as people look at them.

    A worker is alive while its last heartbeat is younger than its lease (the time after
    which its jobs are rescued); older, it is ``gone`` (killed, hung or cut off), however
    its last heartbeat left its status. Its ``running`` jobs are those the jobs table has
    running under its name now (claimed ones included), so a job that completed, or was
    rescued and ran elsewhere, is never shown under a dead worker. ``lease``: for a worker
    that recorded none."""
    out = []
    for r in rows:
        age = now - r.heartbeat
        its_lease = r.lease if r.lease is not None else lease
        alive = model.worker_alive(r.heartbeat, its_lease, now)
        out.append(
            WorkerView(
                name=r.name,
                host=r.host,
                pid=r.pid,
                queues=list(r.queues),
                concurrency=r.concurrency,
                status=r.status if alive else "gone",
                heartbeat_age=round(age, 1),
                lease=its_lease,
                alive=alive,
                running=list(running.get(r.name, [])),
            )
        )
    return out


def type_rows(stored: Mapping[str, StoredType], local: Iterable[str]) -> list[dict[str, Any]]:
    """Every type the store or this process knows, by name: its stored metadata (scripts:
    description, group, schedule, on, worker, mutex, timeout, deleted, path, last_ran,
    last_status ...) then name, kind and enabled. A type only this process has is an
    enabled python type."""
    out = []
    for name in sorted(set(stored) | set(local)):
        st = stored.get(name)
        row: dict[str, Any] = dict(st.meta) if st is not None else {}
        row["name"] = name
        row["kind"] = st.kind if st is not None else "python"
        row["enabled"] = st.enabled if st is not None else True
        out.append(row)
    return out


def event_view(e: Event) -> dict[str, Any]:
    """An event with the jobs it created, JSON-style."""
    return {
        "id": e.id,
        "time": iso(e.time),
        "name": e.name,
        "data": e.data,
        "source_job": e.source_job,
        "depth": e.depth,
        "jobs": e.jobs,
    }


def job_event_view(e: JobEvent) -> dict[str, Any]:
    """A transition event (jobyard.feed), JSON-style: what the CLI, SSE and observers show."""
    return {
        "id": e.id,
        "time": iso(e.time),
        "name": e.name,
        "job": e.job_id,
        "type": e.type,
        "queue": e.queue,
        "status": e.status,
        "data": e.data,
    }


def schedule_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A scheduled type (jobyard.scheduler.status), JSON-style."""
    return {**row, "last": iso(row["last"]), "next": iso(row["next"])}


# -- jobsets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobsetProgress:
    """How far the jobs of a jobset are: a count per status (every status listed)."""

    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    done: bool = True  # no job may still run
    succeeded: bool = True  # done, and every job completed

    @property
    def finished(self) -> int:
        return sum(n for s, n in self.counts.items() if s not in UNFINISHED)


def jobset_progress(jobs: Iterable[Job]) -> JobsetProgress:
    counts = status_counts(jobs)
    total = sum(counts.values())
    return JobsetProgress(
        counts=counts,
        total=total,
        done=not any(counts.get(s) for s in UNFINISHED),
        succeeded=counts.get(model.COMPLETED, 0) == total,
    )


# -- paged lists ------------------------------------------------------------------------------
# Every listing shows its rows oldest first, so the newest is last, next to the prompt, as
# in a log; a page is the N most recent rows of its order, and its cursor reads the page
# before it (older rows).


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]  # oldest first
    before: int | None  # the cursor of the older page, or None when there is none


def newest_last(rows: Sequence[T], limit: int, cursor: Callable[[T], int]) -> Page[T]:
    """A page of rows read newest first (``limit + 1`` of them, to know whether older ones
    exist): the newest ``limit``, oldest first, and the cursor of the oldest one shown
    (give it back as ``before_id`` to read the page before)."""
    shown = list(rows[:limit])
    before = cursor(shown[-1]) if shown and len(rows) > limit else None
    return Page(shown[::-1], before)


@dataclass(frozen=True)
class Window:
    """The rows ``[start, end)`` of a list of ``total`` that a page shows."""

    start: int
    end: int
    before: int | None  # the offset of the older page, or None when there is none


def tail_window(total: int, limit: int, offset: int) -> Window:
    """``--limit N`` keeps the N most recent rows (the last N of the order) after skipping
    the ``offset`` most recent (to page back)."""
    end = max(total - offset, 0)
    start = max(end - limit, 0)
    return Window(start, end, offset + (end - start) if start > 0 else None)


@dataclass(frozen=True)
class ItemPage:
    """A page of a collection's items in its order, with where it lies in the whole."""

    items: list[Item]
    total: int  # items matching the filter
    window: Window
