"""Retention of finished jobs (``[retention]``, jobyard.config.Retention): completed,
failed and cancelled jobs older than ``jobs_days``, or beyond the newest ``jobs_keep`` of
them, go with their logs and dependency rows; removed-job tombstones older than
``tombstones_days`` go too. The scheduler runs it hourly, a chunk of rows per transaction.
The newest job row and the newest tombstone always stay, so no job id is ever handed out
twice. Event logs have their own retention (``[events]``, jobyard.feed.prune)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from jobyard import model
from jobyard.config import Retention

if TYPE_CHECKING:
    from jobyard.store.base import Store

log = logging.getLogger("jobyard.retention")

CHUNK = 1000


def prune_jobs(store: Store, now: float, rules: Retention, chunk: int = CHUNK) -> int:
    """Delete what ``rules`` say is past keeping; returns how many jobs went."""
    gone = 0
    batches: list[Callable[[], list[int]]] = []
    if rules.jobs_days is not None:
        before = now - rules.jobs_days * 86400.0
        batches.append(lambda: store.finished_old(before, chunk))
    if rules.jobs_keep is not None:
        cutoff = store.finished_cutoff(rules.jobs_keep)
        if cutoff is not None:
            batches.append(lambda: store.finished_upto(cutoff, chunk))
    for next_ids in batches:
        while True:
            with store.transaction():
                ids = next_ids()
                if ids:
                    gone += len(store.delete_jobs(ids, sorted(model.FINISHED)))
            if len(ids) < chunk:
                break
    with store.transaction():
        store.prune_tombstones(now - rules.tombstones_days * 86400.0)
    if gone:
        log.info("retention: removed %d finished jobs", gone)
    return gone
