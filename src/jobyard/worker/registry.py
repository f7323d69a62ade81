"""A worker's heartbeats and its entry in the workers registry."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobyard import manage
from jobyard.model import Job

if TYPE_CHECKING:
    from jobyard.worker.runner import Worker


def beat(w: Worker, leased: Sequence[Job] = ()) -> None:
    """One heartbeat: renew the leases of ``leased`` (queued, running and finished jobs
    whose outcome is not recorded yet: any of them rescued would run twice), notice jobs
    cancelled or rescued elsewhere, record the worker, rescue expired leases, pick up type
    changes."""
    store, now = w.yard.store, time.time()
    runs = sorted({j.run_id for j in leased if j.run_id is not None})
    if runs:
        expires = now + w.lease
        store.execute(
            "extend_leases", {"run_ids": store.list_param(runs), "lease_expires": expires}
        )
        for job in leased:  # renewed: the worker counts its lease from here (_check_leases)
            job.lease_expires = max(job.lease_expires or 0.0, expires)
        alive = {
            r[0]
            for r in store.execute("running_runs", {"run_ids": store.list_param(runs)}).fetchall()
        }
        listed = set(runs)  # jobs claimed since ``leased`` was taken are not in ``alive``
        for job, ctx, fut in list(w.running.values()):
            if job.run_id in listed and job.run_id not in alive and not ctx.cancelled:
                ctx.cancelled = True  # cancelled or rescued elsewhere: stop if we can
                if fut is not None and w._loop is not None:
                    w._loop.call_soon_threadsafe(fut.cancel)
    store.execute(
        "heartbeat_worker",
        {
            "name": w.name,
            "heartbeat": now,
            "status": status(w),
            "running": store.encode_json(sorted(w.running)),
        },
    )
    if w.housekeeping:
        manage.rescue_expired(store, now, w.yard.config.quarantine_after)
    load_types(w)


def status(w: Worker) -> str:
    if w._stopping:
        return "stopping"
    return "paused" if w.paused else "running"


def register(w: Worker) -> None:
    store, now = w.yard.store, time.time()
    w.yard.sync_types()
    load_types(w)
    store.execute(
        "upsert_worker",
        {
            "name": w.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": store.encode_json(w.queues),
            "concurrency": w.concurrency,
            "started": now,
            "heartbeat": now,
            "running": store.encode_json([]),
            "status": "running",
        },
    )
    store.execute("set_worker_lease", {"name": w.name, "lease": w.lease})


def load_types(w: Worker) -> None:
    """Pick up script types and enable/disable changes from the store. Types are only
    added (never removed) so that jobs already claimed still find their handler."""
    from jobyard.scripts import load_script_types

    load_script_types(w.yard)
    w.types = {**w.types, **w.yard.types}


def unregister(w: Worker) -> None:
    w.yard.store.execute("delete_worker", {"name": w.name})
