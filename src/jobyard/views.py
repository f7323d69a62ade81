"""Read views shared by every face (CLI now, HTTP API and web UI next): what people look at,
made from jobs and rows.

The pure functions at the top turn jobs and rows into plain dataclasses and JSON-style
dicts (times as ISO 8601 strings where a dict is JSON; floats in dataclasses, for a face
to format). The readers at the bottom are the only place a face reads the store through;
each fetches and then calls a pure function, so a face never shapes raw rows itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from jobyard import model
from jobyard.joblog import read_log
from jobyard.jobsets import UNFINISHED
from jobyard.model import Job, iso

if TYPE_CHECKING:
    from jobyard.collections import Collection
    from jobyard.store.collections import Item
    from jobyard.store.events import Event, JobEvent
    from jobyard.store.workers import StoredType
    from jobyard.yard import Yard

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
    (jobyard.manage.list_workers judges it), else its status reads ``gone``."""

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


_WORKER_FIELDS = tuple(f.name for f in fields(WorkerView))


def worker_views(rows: Iterable[Mapping[str, Any]]) -> list[WorkerView]:
    return [WorkerView(**{k: r[k] for k in _WORKER_FIELDS}) for r in rows]


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
    counts = dict.fromkeys(model.STATUSES, 0)
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
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


# -- readers: the faces' one way to the store -------------------------------------------------


def recent_jobs(
    yard: Yard,
    status: Sequence[str] | None = None,
    type_: Sequence[str] | None = None,
    queue: Sequence[str] | None = None,
    limit: int = 50,
    before: int | None = None,
    jobset: int | None = None,
    worker: str | None = None,
) -> Page[Job]:
    """The ``limit`` most recent jobs matching the filter (older than ``before``)."""
    if worker is not None:
        from dataclasses import replace

        from jobyard.spec import job_filter

        flt = replace(job_filter(status, type_, queue, jobset, limit + 1, before), worker=worker)
        return newest_last(yard.store.query_jobs(flt), limit, lambda j: j.id)
    newest_first = yard.jobs(
        status=status, type=type_, queue=queue, jobset=jobset, limit=limit + 1, before_id=before
    )
    return newest_last(newest_first, limit, lambda j: j.id)


def oldest_jobs(
    yard: Yard,
    status: Sequence[str] | None,
    type_: Sequence[str] | None,
    queue: Sequence[str] | None,
    limit: int,
    after: int | None,
    jobset: int | None = None,
    worker: str | None = None,
) -> tuple[list[Job], int | None]:
    """The ``limit`` oldest jobs matching the filter (newer than ``after``), oldest first,
    and the cursor of the next page (None on the last)."""
    from dataclasses import replace

    from jobyard.spec import job_filter

    flt = replace(
        job_filter(status, type_, queue, jobset, limit + 1, None), after_id=after, oldest_first=True
    )
    rows = yard.store.query_jobs(flt)
    shown = rows[:limit]
    return shown, (shown[-1].id if len(rows) > limit else None)


def matching_ids(
    yard: Yard,
    status: Sequence[str] | None,
    type_: Sequence[str] | None,
    queue: Sequence[str] | None,
    jobset: int | None,
    worker: str | None,
) -> list[int]:
    """Ids of every job of a filter with a jobset or worker (Yard.matching has neither)."""
    from dataclasses import replace

    from jobyard.spec import job_filter

    flt = replace(job_filter(status, type_, queue, jobset, None, None), worker=worker)
    return [j.id for j in yard.store.query_jobs(flt)]


def queues(yard: Yard) -> list[tuple[str, dict[str, int]]]:
    """Each queue with jobs ready, running or waiting, by status (busiest first)."""
    found = yard.store.active_by_queue()
    return sorted(found.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))


def oldest_ready(yard: Yard) -> dict[str, float]:
    """Per queue, when its longest-waiting ready job became ready."""
    return yard.store.oldest_ready_by_queue()


def jobs_by_id(yard: Yard, ids: Sequence[int]) -> list[Job]:
    """The jobs of ``ids`` that exist (in id order)."""
    return list(yard.store.get_jobs(list(ids)))


def job_log(yard: Yard, job_id: int) -> list[dict[str, Any]]:
    """A job's log entries (NotFound if there is no such job)."""
    yard.get(job_id)
    return read_log(yard.store, job_id)


def types_table(yard: Yard) -> list[dict[str, Any]]:
    """Every type the store and this process know (the store read now, not cached)."""
    stored = dict(yard.stored_types(refresh=True))
    for row in yard.registry.python_rows():  # this process's, not recorded yet
        stored.setdefault(row.name, row)
    return type_rows(stored, yard.types)


def type_meta(yard: Yard, name: str) -> dict[str, Any]:
    """One type's row of :func:`types_table` (UnknownJobType if neither side knows it)."""
    for row in types_table(yard):
        if row["name"] == name:
            return row
    from jobyard.errors import UnknownJobType

    raise UnknownJobType(name, yard.known_types(refresh=True))


def workers(yard: Yard, now: float) -> list[WorkerView]:
    from jobyard import manage

    return worker_views(manage.list_workers(yard.store, now, yard.config.lease))


def recent_events(yard: Yard, name: str | None, limit: int) -> list[Event]:
    """The ``limit`` most recent events (of one name), oldest first; ``event_view`` each
    for JSON."""
    from jobyard.events import recent_events as read

    return read(yard, name, limit)


def schedules(yard: Yard) -> list[dict[str, Any]]:
    """Each scheduled type with its last and next tick (epoch seconds; ``schedule_view``
    each for JSON)."""
    from jobyard.scheduler import status

    return status(yard)


def collections_summary(yard: Yard) -> list[dict[str, Any]]:
    """Every collection with its item count, in all and per status."""
    from jobyard.collections import names

    return names(yard)


def collection_page(
    coll: Collection,
    statuses: Sequence[str] | None,
    where: Mapping[str, Any],
    order_by: str,
    limit: int,
    offset: int,
) -> ItemPage:
    """The ``limit`` most recent items of ``order_by`` order (the last of it) after
    skipping the ``offset`` most recent; ``Item.to_dict()`` each for JSON."""
    total = coll.count(statuses, where)
    window = tail_window(total, limit, offset)
    if window.end > window.start:
        items = coll.find(statuses, where, order_by, window.end - window.start, window.start)
    else:  # nothing to show, but find still checks order_by (past the end: no rows)
        items = coll.find(statuses, where, order_by, 1, total)
    return ItemPage(items, total, window)


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


def follow_transitions(
    yard: Yard, after: int | None, kinds: Sequence[str] | None
) -> Iterator[JobEvent]:
    """The job transitions after cursor ``after`` (None: from now on), as they happen;
    ``job_event_view`` each for JSON (the faces share jobyard.feed)."""
    from jobyard.feed import Feed

    return Feed(yard.store).follow(after=after, kinds=kinds)


def transitions_after(
    yard: Yard, after: int, limit: int, kinds: Sequence[str] | None = None
) -> tuple[list[JobEvent], int]:
    """Up to ``limit`` transitions after cursor ``after`` and the next cursor (a face that
    keeps its own cursor: the dashboard's throughput chart)."""
    from jobyard.feed import Feed

    return Feed(yard.store).read(after, limit, kinds)


def latest_transition(yard: Yard) -> int:
    """The cursor of the newest transition ("from now on")."""
    from jobyard.feed import Feed

    return Feed(yard.store).latest()
