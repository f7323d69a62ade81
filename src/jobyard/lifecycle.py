"""Job lifecycle policy above the store seam: enqueue, claim results, retries, repeats,
dependencies. Written once; every backend only supplies primitives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from jobyard import model
from jobyard.cron import next_fire
from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.model import Job, Repeat, Retry
from jobyard.store.base import NewJob, NewRow, Store, Update, dumps


@dataclass
class JobSpec:
    """A validated request to create one job."""

    type: str
    data: Any = None
    queue: str = "default"
    priority: int = 0
    retry: Retry = field(default_factory=Retry)
    repeat: Repeat | None = None
    after: float = 0.0
    depends: list[int] = field(default_factory=list)
    paused: bool = False
    jobset: int | None = None
    site: str | None = None
    timeout: float | None = None
    props: dict[str, Any] = field(default_factory=dict)
    repeated: int = 0
    semaphores: list[str] = field(default_factory=list)  # needs, checked (jobyard.semaphores)


def log_entry(
    job_id: int,
    now: float,
    message: str,
    level: str = "info",
    run_id: str | None = None,
    data: Any = None,
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "time": now,
        "run_id": run_id,
        "level": level,
        "message": message,
        "data": data,
    }


def new_job(spec: JobSpec, status: str, now: float) -> NewJob:
    """The store's row for a spec (all but its data), created now."""
    rep = spec.repeat
    return NewJob(
        type=spec.type,
        queue=spec.queue,
        status=status,
        created=now,
        priority=spec.priority,
        props=spec.props,
        retries=spec.retry.retries,
        retry_wait=spec.retry.wait,
        retry_backoff=spec.retry.backoff,
        retry_until=spec.retry.until,
        repeats=rep.repeats if rep else 0,
        repeated=spec.repeated,
        repeat_wait=rep.wait if rep else None,
        repeat_schedule=rep.schedule if rep else None,
        repeat_timezone=rep.timezone if rep else None,
        repeat_until=rep.until if rep else None,
        after=max(spec.after, now),
        depends=spec.depends,
        pending=len(spec.depends),
        jobset=spec.jobset,
        site=spec.site,
        timeout=spec.timeout,
        semaphores=spec.semaphores,
    )


class Templates:
    """The store rows of specs reused call after call (each type's cached default spec):
    one enqueue of those makes no new row object, only its times and data differ."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, str], tuple[JobSpec, NewJob]] = {}

    def row(self, spec: JobSpec, status: str) -> NewJob:
        hit = self._rows.get((id(spec), status))
        if hit is not None and hit[0] is spec:
            return hit[1]
        if len(self._rows) >= 256:
            self._rows.clear()
        row = new_job(spec, status, 0.0)  # created and after are given per call
        self._rows[(id(spec), status)] = (spec, row)
        return row


def enqueue_reused(
    store: Store, spec: JobSpec, encoded: str, now: float, templates: Templates
) -> int:
    """One job of a spec without dependencies that is reused call after call (a cached
    default spec; it holds no job data): the hot path of ``Yard.enqueue``."""
    if spec.depends:
        return enqueue(store, [spec], [encoded], now)[0]
    row = templates.row(spec, _status(spec, now))
    return store.insert_like_and_notify(row, encoded, now, max(spec.after, now))


def enqueue(
    store: Store, specs: Sequence[JobSpec], encoded: Sequence[Any], now: float
) -> list[int]:
    """Insert jobs atomically; ``encoded`` holds each spec's data as JSON text (from the
    caller's size-checking ``limits.encode_json``: encoded once)."""
    all_deps = sorted({d for s in specs for d in s.depends})
    if not all_deps:  # the common case: no dependency bookkeeping, one insert
        shared: dict[int, NewJob] = {}  # bulk: one spec object serves many rows
        new_rows: list[NewRow] = []
        for spec, data in zip(specs, encoded, strict=True):
            base = shared.get(id(spec))
            if base is None:
                base = shared[id(spec)] = new_job(spec, _status(spec, now), now)
            new_rows.append((base, data))
        return store.insert_and_notify(new_rows)
    with store.transaction():
        # Locked: an antecedent finishing meanwhile must see this dependent (or be seen).
        antecedents = {j.id: j for j in store.get_jobs(all_deps, lock=True)}
        if all_deps:
            missing = [d for d in all_deps if d not in antecedents]
            removed = store.tombstoned(missing)
            never = [d for d in missing if d not in removed]
            if never:
                raise InvalidInput(_("depends on job(s) that do not exist: {never}", never=never))
        rows: list[NewRow] = []
        cancels, resolved_by_index = {}, {}
        for index, spec in enumerate(specs):
            pending, resolved, dead = [], [], None
            for dep in spec.depends:
                ante = antecedents.get(dep)
                if ante is None:
                    dead = f"antecedent job {dep} was removed"
                elif ante.status == model.COMPLETED:
                    resolved.append(dep)
                elif ante.status in (model.FAILED, model.CANCELLED):
                    dead = f"antecedent job {dep} is {ante.status}"
                else:
                    pending.append(dep)
            status = model.READY
            if spec.paused:
                status = model.PAUSED
            elif pending or spec.after > now:
                status = model.WAITING
            if dead:
                status = model.CANCELLED
                cancels[index] = dead
            row = new_job(JobSpec(**{**spec.__dict__, "depends": pending}), status, now)
            row.depends = pending + resolved if dead else pending
            row.pending = len(pending)
            rows.append((row, encoded[index]))
            resolved_by_index[index] = resolved
        ids = store.insert_jobs(rows)
        logs = []  # "Job Submitted" is read off each job's created time
        deps_rows: list[tuple[int, int]] = []
        for index, job_id in enumerate(ids):
            if resolved_by_index[index]:
                store.update_jobs([Update(job_id, {"resolved": resolved_by_index[index]})])
            if index in cancels:
                store.update_jobs([Update(job_id, {"finished": now})])
                logs.append(log_entry(job_id, now, f"Job Cancelled: {cancels[index]}", "warning"))
                continue
            for dep in (rows[index][0].pending and specs[index].depends) or ():
                if dep in antecedents and antecedents[dep].status != model.COMPLETED:
                    deps_rows.append((job_id, dep))
        store.add_dependencies(deps_rows)
        store.append_logs(logs)
        ready_queues = sorted({r.queue for r, _unused in rows if r.status == model.READY})
        if ready_queues:
            store.notify(ready_queues)
    return ids


def _status(spec: JobSpec, now: float) -> str:
    if spec.paused:
        return model.PAUSED
    return model.WAITING if spec.after > now else model.READY


def next_repeat_time(job: Job, now: float) -> float | None:
    """When the next copy of a repeating job is due, or None if it should not repeat."""
    if job.repeats == 0:
        return None
    if job.repeat_schedule:
        due = next_fire(job.repeat_schedule, now, job.repeat_timezone)
        if due - now < 0.5:  # too close to the run that just ended: take the next one
            due = next_fire(job.repeat_schedule, due, job.repeat_timezone)
    else:
        due = now + (job.repeat_wait or 0.0)
    if job.repeat_until is not None and due > job.repeat_until:
        return None
    return due


def complete(store: Store, done: Sequence[tuple[Job, Any]], now: float) -> list[int]:
    """Mark running jobs completed (with their results); returns the ids that were still
    running under the given run (a late call after a lost lease is refused)."""
    logs: list[dict[str, Any]] = []
    with store.transaction():
        # has_dependents comes from the row, not the copy read at claim time: a dependent
        # may have been added while the job ran.
        completed: dict[int, bool] = {}
        announced: list[tuple[Job, Any]] = []
        for part in _one_per_job(done):
            part = [(j, r) for j, r in part if j.id not in completed]
            found = dict(store.complete_many([(j.id, j.run_id, r) for j, r in part], now))
            completed.update(found)
            announced += [(j, r) for j, r in part if j.id in found]
        for job, _unused in announced:
            if job.repeats:
                due = next_repeat_time(job, now)
                if due is not None:
                    new_id = _repeat_copy(store, job, due, now)
                    logs.append(log_entry(job.id, now, f"Job Rescheduled as job {new_id}"))
            if completed[job.id]:
                _resolve_dependents(store, job.id, now, logs)
        store.append_logs(logs)
        announce(store, "job.completed", announced)
    return [j.id for j, _unused in announced]


def _one_per_job(done: Sequence[tuple[Job, Any]]) -> list[list[tuple[Job, Any]]]:
    """Split outcomes into parts with each job id at most once, each sorted by id (rows
    are locked in id order: no deadlocks). An outcome is matched by (job id, run id): the
    same run twice counts once, and with two runs of one job in a batch, a part's id that
    completed names exactly one run, so a repeat or a dependent is announced once."""
    runs: dict[int, dict[str | None, tuple[Job, Any]]] = {}
    for job, result in done:
        runs.setdefault(job.id, {}).setdefault(job.run_id, (job, result))
    parts: list[list[tuple[Job, Any]]] = []
    for job_id in sorted(runs):
        for index, pair in enumerate(runs[job_id].values()):
            if index == len(parts):
                parts.append([])
            parts[index].append(pair)
    return parts


def announce(store: Store, event: str, jobs: Sequence[tuple[Job, Any]]) -> None:
    """Tell the store's ``finished_hooks`` (the Yard's event triggers, events.FinishHook)
    that jobs finished, inside the caller's transaction: (job, result | error | None).
    They are for what must be atomic with the outcome: one that raises undoes it. (The
    transition events themselves are written by the database: see docs/events.md.)"""
    if jobs:
        for hook in store.finished_hooks:
            hook(event, jobs)


def _repeat_copy(store: Store, job: Job, due: float, now: float) -> int:
    left = model.FOREVER if job.repeats == model.FOREVER else job.repeats - 1
    spec = JobSpec(
        type=job.type,
        queue=job.queue,
        priority=job.priority,
        retry=Retry(
            job.retry_limit,
            job.retry_wait,
            cast(model.Backoff, job.retry_backoff),
            job.retry_until,
        ),
        repeat=Repeat(
            left, job.repeat_wait, job.repeat_schedule, job.repeat_until, job.repeat_timezone
        ),
        after=due,
        jobset=job.jobset,
        site=job.site,
        timeout=job.timeout,
        props=job.props,
        repeated=job.repeated + 1,
        semaphores=job.semaphores,
    )
    return enqueue(store, [spec], [dumps(job.data)], now)[0]


def _resolve_dependents(store: Store, job_id: int, now: float, logs: list[dict[str, Any]]) -> None:
    woken = set()
    for dep in store.dependents([job_id], lock=True):
        if job_id not in dep.depends or dep.status not in (model.WAITING, model.PAUSED):
            continue
        depends = [d for d in dep.depends if d != job_id]
        changes: dict[str, Any] = {
            "depends": depends,
            "resolved": [*dep.resolved, job_id],
            "pending": len(depends),
            "updated": now,
        }
        if not depends and dep.status == model.WAITING and dep.after <= now:
            changes["status"] = model.READY
            woken.add(dep.queue)
            logs.append(log_entry(dep.id, now, "Promoted to ready"))
        store.update_jobs([Update(dep.id, changes, statuses=(dep.status,))])
    if woken:
        store.notify(sorted(woken))


def cancel_dependents(store: Store, job_ids: Sequence[int], now: float, reason: str) -> list[int]:
    """Cancel every job waiting on these, recursively; returns the cancelled ids."""
    cancelled: list[int] = []
    gone: list[tuple[Job, Any]] = []
    frontier = list(job_ids)
    while frontier:
        nxt = []
        for dep in store.dependents(frontier, lock=True):
            if dep.status not in (model.WAITING, model.PAUSED, model.READY):
                continue
            ok = store.update_jobs(
                [
                    Update(
                        dep.id,
                        {"status": model.CANCELLED, "finished": now, "updated": now},
                        statuses=(dep.status,),
                    )
                ]
            )
            if ok:
                store.append_logs([log_entry(dep.id, now, f"Job Cancelled: {reason}", "warning")])
                cancelled.append(dep.id)
                gone.append((dep, None))
                nxt.append(dep.id)
        frontier = nxt
    announce(store, "job.cancelled", gone)
    return cancelled


def fail(store: Store, job: Job, error: str, now: float, fatal: bool = False) -> str | None:
    """Record a failed attempt; retry (back to waiting) or fail for good.

    Returns the new status, or None if the run was no longer this worker's."""
    failures = [*job.failures, {"time": now, "error": error, "attempt": job.attempts}]
    retry_left = job.retries == model.FOREVER or job.retries > 0
    delay = model.retry_delay(job.retry_wait, job.retry_backoff, len(failures))
    due = now + delay
    in_time = job.retry_until is None or due <= job.retry_until
    with store.transaction():
        if retry_left and in_time and not fatal:
            changes: dict[str, Any] = {
                "status": model.WAITING if delay > 0 else model.READY,
                "after": due,
                "failures": failures,
                "run_id": None,
                "lease_expires": None,
                "retries": job.retries if job.retries == model.FOREVER else job.retries - 1,
                "updated": now,
            }
            status = str(changes["status"])
        else:
            changes = {
                "status": model.FAILED,
                "failures": failures,
                "finished": now,
                "lease_expires": None,
                "updated": now,
            }
            status = model.FAILED
        if not store.update_jobs(
            [Update(job.id, changes, statuses=(model.RUNNING,), run_id=job.run_id)]
        ):
            return None
        message = f"Job Failed with Error: {error}"
        if status != model.FAILED:
            message += f" (retrying in {delay:g} s)"
        store.append_logs([log_entry(job.id, now, message, "danger", job.run_id)])
        if status == model.FAILED:
            cancel_dependents(store, [job.id], now, f"antecedent job {job.id} failed")
            announce(store, "job.failed", [(job, error)])
        elif status == model.READY:
            store.notify([job.queue])
    return status
