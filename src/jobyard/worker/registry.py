"""A worker's heartbeats and its entry in the workers registry (through its port)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobyard.model import Job
from jobyard.worker.port import WorkerInfo, WorkerStatus

if TYPE_CHECKING:
    from jobyard.worker.runner import Worker


def beat(w: Worker, leased: Sequence[Job] = ()) -> None:
    """One heartbeat: renew the leases of ``leased`` (queued, running and finished jobs
    whose outcome is not recorded yet: any of them rescued would run twice), notice jobs
    cancelled or rescued elsewhere, record the worker, rescue expired leases, pick up type
    changes."""
    runs = sorted({j.run_id for j in leased if j.run_id is not None})
    # Counted from before the call: the store's expiry is at least this late.
    expires = time.time() + w.lease
    alive = w.port.beat(runs, w.lease, WorkerStatus(w.name, status(w), tuple(sorted(w.running))))
    if runs:
        for job in leased:  # renewed: the worker counts its lease from here (_check_leases)
            job.lease_expires = max(job.lease_expires or 0.0, expires)
        listed = set(runs)  # jobs claimed since ``leased`` was taken are not in ``alive``
        for job, ctx, fut in list(w.running.values()):
            if job.run_id in listed and job.run_id not in alive and not ctx.cancelled:
                ctx.cancelled = True  # cancelled or rescued elsewhere: stop if we can
                if fut is not None and w._loop is not None:
                    w._loop.call_soon_threadsafe(fut.cancel)
    if w.housekeeping:
        w.port.housekeeping(time.time())
    load_types(w)


def status(w: Worker) -> str:
    if w._stopping:
        return "stopping"
    return "paused" if w.paused else "running"


def register(w: Worker) -> None:
    info = WorkerInfo(
        name=w.name,
        host=socket.gethostname(),
        pid=os.getpid(),
        queues=tuple(w.queues),
        concurrency=w.concurrency,
        lease=w.lease,
        started=time.time(),
    )
    w.port.register(info)
    load_types(w)


def load_types(w: Worker) -> None:
    """Pick up script types and enable/disable changes from the store. Types are only
    added (never removed) so that jobs already claimed still find their handler."""
    from jobyard.scripts import load_script_types

    load_script_types(w.yard, w.port.types())
    w.types = {**w.types, **w.yard.types}


def unregister(w: Worker) -> None:
    w.port.unregister(w.name)
