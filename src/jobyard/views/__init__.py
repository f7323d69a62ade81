"""Read views shared by every face (CLI now, HTTP API and web UI next): what people look at,
made from jobs and rows.

The pure functions (:mod:`jobyard.views.shapes`, re-exported here) turn jobs and rows
into plain dataclasses and JSON-style dicts. The readers here are the only place a face
reads the store through; each fetches and then calls a pure function, so a face never
shapes raw rows itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobyard.joblog import read_log
from jobyard.model import Job
from jobyard.views.shapes import (  # re-exported: views.X is every face's one name
    ItemPage as ItemPage,
)
from jobyard.views.shapes import (
    JobsetProgress as JobsetProgress,
)
from jobyard.views.shapes import (
    JobSummary as JobSummary,
)
from jobyard.views.shapes import (
    Page as Page,
)
from jobyard.views.shapes import (
    Window as Window,
)
from jobyard.views.shapes import (
    WorkerView as WorkerView,
)
from jobyard.views.shapes import (
    event_view as event_view,
)
from jobyard.views.shapes import (
    job_event_view as job_event_view,
)
from jobyard.views.shapes import (
    job_fields as job_fields,
)
from jobyard.views.shapes import (
    job_summary as job_summary,
)
from jobyard.views.shapes import (
    jobset_progress as jobset_progress,
)
from jobyard.views.shapes import (
    log_entry as log_entry,
)
from jobyard.views.shapes import (
    newest_last as newest_last,
)
from jobyard.views.shapes import (
    not_applied as not_applied,
)
from jobyard.views.shapes import (
    schedule_view as schedule_view,
)
from jobyard.views.shapes import (
    tail_window as tail_window,
)
from jobyard.views.shapes import (
    type_rows as type_rows,
)
from jobyard.views.shapes import (
    worker_views as worker_views,
)
from jobyard.views.sites import batch as batch
from jobyard.views.sites import batches as batches
from jobyard.views.sites import inventory as inventory
from jobyard.views.sites import nodes as nodes

if TYPE_CHECKING:
    from jobyard.collections import Collection
    from jobyard.store.events import Event, JobEvent
    from jobyard.yard import Yard


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
    rows = yard.store.list_workers()
    running = yard.store.running_by_worker([r.name for r in rows])
    return worker_views(rows, running, now, yard.config.lease)


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
