"""Management operations (cancel, pause, resume, restart, rerun, remove) and the
housekeeping duties every worker and scheduler share (promotion, lease rescue)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from jobyard import model
from jobyard.errors import NotFound
from jobyard.i18n import _
from jobyard.lifecycle import JobSpec, announce, cancel_dependents, enqueue, log_entry
from jobyard.model import Job, Repeat, Retry, check_transition
from jobyard.store.base import Store, Update, dumps

# How an operation treats the ids it is given:
# - "one": a single id; it must exist and be in an allowed status (else NotFound /
#   InvalidTransition).
# - "many": an explicit list; every id must exist (else NotFound naming the missing ones,
#   and nothing changes); jobs in a status the operation does not apply to are passed over.
# - "filter": ids found by a filter a moment ago; gone and wrong-status jobs are passed over.
Mode = Literal["one", "many", "filter"]
MODES: tuple[Mode, ...] = ("one", "many", "filter")
SHOWN_MISSING = 20  # ids named in a NotFound message; the rest are counted


def _load(store: Store, ids: Sequence[int], operation: str, mode: Mode) -> list[Job]:
    """The jobs to change, checked as ``mode`` says, before anything is written."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    unique = list(dict.fromkeys(ids))  # a repeated id is one job, changed once
    # Locked: every operation reads a job, then changes it, inside its transaction.
    jobs = store.get_jobs(unique, lock=True)
    if mode != "filter":
        found = {j.id for j in jobs}
        missing = [i for i in unique if i not in found]
        if missing:
            raise NotFound(_missing(missing, mode))
    if mode == "one":
        for job in jobs:
            check_transition(job, operation)
    return [j for j in jobs if j.status in model.ALLOWED_FROM[operation]]


def _missing(missing: Sequence[int], mode: Mode) -> str:
    if mode == "one" and len(missing) == 1:
        return _("no job with id {missing}", missing=missing[0])
    shown = ", ".join(map(str, missing[:SHOWN_MISSING]))
    more = len(missing) - SHOWN_MISSING
    if more > 0:
        shown += _(" and {more} more", more=more)
    return _("no job with id {shown}; nothing was changed", shown=shown)


def cancel(
    store: Store, ids: Sequence[int], now: float, mode: Mode = "one", dependents: bool = True
) -> list[int]:
    done, gone = [], []
    with store.transaction():
        for job in _load(store, ids, "cancel", mode):
            changes = {
                "status": model.CANCELLED,
                "run_id": None,
                "lease_expires": None,
                "progress_completed": 0,
                "finished": now,
                "updated": now,
            }
            if store.update_jobs([Update(job.id, changes, statuses=(job.status,))]):
                done.append(job.id)
                gone.append((job, None))
                store.append_logs([log_entry(job.id, now, "Job Cancelled", "warning")])
        if dependents and done:
            cancel_dependents(store, done, now, "an antecedent job was cancelled")
        announce(store, "job.cancelled", gone)
        running = [j.id for j, _ in gone if j.status == model.RUNNING]
        # Slots freed: its own (a running job naming semaphores) and its call holds.
        if store.drop_call_holds(running) or any(j.semaphores for j, _ in gone if j.id in running):
            released(store)
    return done


def pause(store: Store, ids: Sequence[int], now: float, mode: Mode = "one") -> list[int]:
    done = []
    with store.transaction():
        for job in _load(store, ids, "pause", mode):
            if store.update_jobs(
                [Update(job.id, {"status": model.PAUSED, "updated": now}, statuses=(job.status,))]
            ):
                done.append(job.id)
                store.append_logs([log_entry(job.id, now, "Job Paused")])
    return done


def _waiting_or_ready(job: Job, pending: int, now: float) -> str:
    return model.WAITING if pending or job.after > now else model.READY


def resume(store: Store, ids: Sequence[int], now: float, mode: Mode = "one") -> list[int]:
    done, queues = [], set()
    with store.transaction():
        for job in _load(store, ids, "resume", mode):
            status = _waiting_or_ready(job, job.pending, now)
            if store.update_jobs(
                [Update(job.id, {"status": status, "updated": now}, statuses=(model.PAUSED,))]
            ):
                done.append(job.id)
                store.append_logs([log_entry(job.id, now, "Job Resumed")])
                if status == model.READY:
                    queues.add(job.queue)
        if queues:
            store.notify(sorted(queues))
    return done


def restart(
    store: Store,
    ids: Sequence[int],
    now: float,
    retries: int = 1,
    mode: Mode = "one",
    antecedents: bool = False,
) -> list[int]:
    """Give failed or cancelled jobs another go with ``retries`` more retries."""
    done: list[int] = []
    queues = set()
    with store.transaction():
        for job in _load(store, ids, "restart", mode):
            all_deps = [*job.depends, *job.resolved]
            dep_jobs = {j.id: j for j in store.get_jobs(all_deps, lock=True)}
            if antecedents:
                dead = [d for d, j in dep_jobs.items() if j.status in model.ALLOWED_FROM["restart"]]
                restart(store, dead, now, retries, mode="filter", antecedents=True)
                dep_jobs = {j.id: j for j in store.get_jobs(all_deps, lock=True)}
            resolved = [
                d for d in all_deps if d in dep_jobs and dep_jobs[d].status == model.COMPLETED
            ]
            pending = [d for d in all_deps if d not in resolved]
            status = _waiting_or_ready(job, len(pending), now)
            left = job.retries if job.retries == model.FOREVER else job.retries + retries
            changes: dict[str, Any] = {
                "status": status,
                "retries": left,
                "run_id": None,
                "lease_expires": None,
                "progress_completed": 0,
                "finished": None,
                "after": now,
                "updated": now,
                "depends": pending,
                "resolved": resolved,
                "pending": len(pending),
                "interruptions": 0,
            }
            if store.update_jobs([Update(job.id, changes, statuses=(job.status,))]):
                done.append(job.id)
                store.add_dependencies([(job.id, d) for d in pending])
                store.append_logs([log_entry(job.id, now, "Job Restarted")])
                if status == model.READY:
                    queues.add(job.queue)
        if queues:
            store.notify(sorted(queues))
    return done


def rerun(
    store: Store,
    job_id: int,
    now: float,
    data: Any = None,
    repeat: Repeat | None = None,
    after: float = 0.0,
) -> int:
    """A completed job runs again as a new job (repeats=0 unless given)."""
    (new_id,) = rerun_many(store, [job_id], now, "one", data, repeat, after)
    return new_id


def rerun_many(
    store: Store,
    ids: Sequence[int],
    now: float,
    mode: Mode = "many",
    data: Any = None,
    repeat: Repeat | None = None,
    after: float = 0.0,
) -> list[int]:
    """Each completed job of ``ids`` runs again as a new job; all copies or none are made.
    Returns the new ids, in the order of ``ids`` (jobs passed over have none)."""
    with store.transaction():
        jobs = _load(store, ids, "rerun", mode)
        specs = [
            JobSpec(
                type=job.type,
                queue=job.queue,
                priority=job.priority,
                retry=Retry(job.retry_limit, job.retry_wait, job.retry_backoff, job.retry_until),  # type: ignore[arg-type]
                repeat=repeat,
                after=after,
                jobset=job.jobset,
                site=job.site,
                timeout=job.timeout,
                props=job.props,
                semaphores=job.semaphores,
            )
            for job in jobs
        ]
        payloads = [dumps(job.data if data is None else data) for job in jobs]
        return enqueue(store, specs, payloads, now) if specs else []


def remove(store: Store, ids: Sequence[int], now: float, mode: Mode = "one") -> list[int]:
    with store.transaction():
        jobs = _load(store, ids, "remove", mode)
        return store.delete_jobs([j.id for j in jobs], model.ALLOWED_FROM["remove"], now)


def promote(store: Store, now: float) -> int:
    """waiting → ready for jobs that are due and have no unresolved dependency."""
    if not store.has_due(now):
        return 0
    with store.transaction():
        rows = store.promote_due(now)
        if rows:
            store.append_logs([log_entry(job_id, now, "Promoted to ready") for job_id, _ in rows])
            store.notify(sorted({queue for _, queue in rows}))
    return len(rows)


def rescue_expired(store: Store, now: float, quarantine_after: int, limit: int = 500) -> int:
    """Requeue running jobs whose worker stopped renewing its lease (it died or hung).

    The interrupted attempt is not counted as a failure; after ``quarantine_after``
    interruptions the job is failed as a probable poison job."""
    expired = store.expired_leases(now, limit)
    if not expired:
        return 0
    count, queues, rescued = 0, set(), []
    with store.transaction():
        for job in expired:
            interruptions = job.interruptions + 1
            reason = f"lease of worker {job.worker} expired"
            if interruptions >= quarantine_after:
                error = (
                    f"quarantined: interrupted {interruptions} times ({reason}); "
                    "it may be killing its worker"
                )
                changes: dict[str, Any] = {
                    "status": model.FAILED,
                    "interruptions": interruptions,
                    "run_id": None,
                    "lease_expires": None,
                    "finished": now,
                    "updated": now,
                    "failures": [
                        *job.failures,
                        {"time": now, "error": error, "attempt": job.attempts},
                    ],
                }
                message, level = f"Job Failed with Error: {error}", "danger"
            else:
                changes = {
                    "status": model.READY,
                    "interruptions": interruptions,
                    "run_id": None,
                    "lease_expires": None,
                    "worker": None,
                    "updated": now,
                }
                message, level = f"Job Requeued: {reason}", "warning"
            # Compare-and-set on the lease too: a heartbeat since the read keeps the job.
            rescue = Update(job.id, changes, (model.RUNNING,), job.run_id, lease_before=now)
            if store.update_jobs([rescue]):
                count += 1
                rescued.append(job.id)
                store.append_logs([log_entry(job.id, now, message, level)])
                if changes["status"] == model.FAILED:
                    cancel_dependents(store, [job.id], now, f"antecedent job {job.id} failed")
                    announce(store, "job.failed", [(job, changes["failures"][-1]["error"])])
                else:
                    queues.add(job.queue)
                if job.semaphores:
                    queues.add("*")  # its slots are free: every waiter may start now
        if store.drop_call_holds(rescued):  # a kill -9 inside `with job.semaphore(...)`
            queues.add("*")
        if queues:
            store.notify(["*"] if "*" in queues else sorted(queues))
    return count


def released(store: Store) -> None:
    """Slots of semaphores, sites or the global cap were freed: wake every waiting worker,
    whatever its queues (PostgreSQL delivers at commit; on SQLite a claim waits for the
    write lock, so it reads what the releasing transaction wrote)."""
    store.notify(["*"])


def hand_back(store: Store, jobs: Sequence[Job], now: float, reason: str) -> list[int]:
    """Return claimed jobs to ready without burning an attempt (graceful shutdown)."""
    done, queues = [], set()
    with store.transaction():
        for job in jobs:
            changes = {
                "status": model.READY,
                "run_id": None,
                "lease_expires": None,
                "worker": None,
                "attempts": max(job.attempts - 1, 0),
                "updated": now,
            }
            if store.update_jobs([Update(job.id, changes, (model.RUNNING,), job.run_id)]):
                done.append(job.id)
                queues.add(job.queue)
                store.append_logs([log_entry(job.id, now, f"Job Handed Back: {reason}")])
        if store.drop_call_holds(done):  # a hard shutdown inside `with job.semaphore(...)`
            queues.add("*")
        if queues:
            store.notify(["*"] if "*" in queues else sorted(queues))
    return done
