"""Readers of the sites, batches and nodes views (the web pages, the API and the CLI share
them); the shapes are :mod:`jobyard.views.site_shapes`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput
from jobyard.views.shapes import Page
from jobyard.views.site_shapes import (
    BatchGrid,
    BatchSummary,
    NodeView,
    batch_grid,
    batch_summary,
    node_views,
    role_views,
    site_view,
)

if TYPE_CHECKING:
    from jobyard.yard import Yard

RECENT_PER_NODE = 5


def inventory(yard: Yard) -> dict[str, Any]:
    """Every site (secrets hidden) and every role with its sites."""
    sites = []
    for name in yard.sites.list():
        found = yard.sites.get(name)
        if found is not None:
            sites.append(site_view(found.to_dict()))
    return {"sites": sites, "roles": role_views(yard.sites.roles())}


def batches(yard: Yard, limit: int = 20, before: int | None = None) -> Page[BatchSummary]:
    """The ``limit`` most recent batches (older than id ``before``), oldest first."""
    from jobyard.sites.batch import JOBSET_KIND

    rows = yard.store.recent_jobsets(JOBSET_KIND, limit + 1, before)
    shown = rows[:limit]
    summaries = [batch_summary(r.id, r.name, r.meta, r.created, _jobs(yard, r.id)) for r in shown]
    return Page(summaries[::-1], shown[-1].id if len(rows) > limit else None)


def batch(yard: Yard, jobset: int) -> BatchGrid:
    """One batch as a grid of (action, site); InvalidInput when the jobset is not a batch."""
    from jobyard.sites.batch import JOBSET_KIND

    found = yard.jobset(jobset)
    if found.kind != JOBSET_KIND:
        raise InvalidInput(f"jobset {jobset} is a {found.kind!r} jobset, not a batch")
    return batch_grid(found.id, found.name, found.meta, found.created, found.jobs)


def _jobs(yard: Yard, jobset: int) -> list[Any]:
    return sorted(yard.jobs(jobset=jobset, limit=None), key=lambda j: j.id)


def nodes(yard: Yard, now: float) -> list[NodeView]:
    """Every node seen: served by a registered worker (alive or gone), or with jobs on its
    queue; with its workers, queue depth and most recent jobs."""
    from jobyard.nodes import node_of, queue_of
    from jobyard.views import workers as read_workers

    workers = read_workers(yard, now)
    by_queue = yard.store.active_by_queue()
    names = {n for w in workers for q in w.queues if (n := node_of(q))}
    names |= {n for q in by_queue if (n := node_of(q))}
    recent = {n: yard.jobs(queue=[queue_of(n)], limit=RECENT_PER_NODE) for n in names}
    return node_views(names, workers, by_queue, recent)
