"""Read views of semaphores and site caps: who holds them, who waits, and why a ready job
has not started (``jobyard semaphores``, ``GET /api/v1/semaphores``, ``job show``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobyard import admission, model
from jobyard.admission import Candidate, Need, Rules
from jobyard.semaphores import split

if TYPE_CHECKING:
    from jobyard.model import Job
    from jobyard.yard import Yard

MAX_WAITERS = 1000  # waiting jobs read for a listing (the oldest first)


def _candidate(job: Job) -> Candidate:
    return Candidate(
        job.priority, job.after, job.id, job.type, job.queue, job.jobset, job.site,
        tuple(job.semaphores),
    )  # fmt: skip


def _mode(job: Candidate, need: Need) -> str:
    for entry in job.needs:
        name, mode = split(entry)
        if need.key.startswith("semaphore:") and need.key[10:].partition("@")[0] == name:
            return mode or "slot"
    return "slot"


def _name(key: str) -> str:
    """``semaphore:db@7`` → ``semaphore db of jobset 7``; ``site:web1`` → ``site web1``."""
    kind, _, rest = key.partition(":")
    name, _, scope = rest.partition("@")
    where = ""
    if scope:
        where = f" of job {scope[3:]}" if scope.startswith("job") else f" of jobset {scope}"
    return f"{kind} {name}{where}"


def _holders(rules: Rules, running: list[Candidate]) -> dict[str, list[tuple[Candidate, Need]]]:
    out: dict[str, list[tuple[Candidate, Need]]] = {}
    for job in running:
        for need in rules.gates_of(job):
            out.setdefault(need.key, []).append((job, need))
    return out


def semaphores(yard: Yard) -> list[dict[str, Any]]:
    """Each semaphore (and each site cap in use, and each jobset's counter): its count,
    slots held, holders (job, mode, jobset) and waiters (job ids, in claim order)."""
    known = yard.semaphores.known()
    rules = Rules(semaphores=known)
    running = yard.store.running_gated()
    waiting = [_candidate(j) for j in yard.store.ready_gated(MAX_WAITERS)]
    holders = _holders(rules, running)
    rows: dict[str, dict[str, Any]] = {}

    def row(key: str, size: int) -> dict[str, Any]:
        kind, _, rest = key.partition(":")
        name, _, scope = rest.partition("@")
        sem = known.get(name) if kind == "semaphore" else None
        return rows.setdefault(
            key,
            {
                "key": key,
                "kind": kind,
                "name": name,
                "count": size,
                "scope": sem.scope if sem else ("jobset" if scope else "global"),
                "jobset": int(scope) if scope.isdigit() else None,
                "held": 0,
                "holders": [],
                "waiters": [],
            },
        )

    for sem in known.values():
        if sem.scope == "global":
            row(f"semaphore:{sem.name}", sem.count)
    for key, found in holders.items():
        r = row(key, found[0][1].size)
        for job, need in found:
            r["held"] += need.weight
            r["holders"].append({"job": job.id, "mode": _mode(job, need), "jobset": job.jobset})
    for job in waiting:
        for need in rules.gates_of(job):
            row(need.key, need.size)["waiters"].append(job.id)
    if yard.config.max_active is not None:
        count = yard.store.running_total()[admission.ACTIVE_KEY].count
        r = row(admission.ACTIVE_KEY + ":all", yard.config.max_active)
        r.update(kind="active", name="max_active", held=count)
    return [rows[k] for k in sorted(rows)]


def waiting_on(yard: Yard, job: Job) -> str | None:
    """Why a ready job waits, e.g. ``semaphore db (1/1 held by job 12)``; None when nothing
    it needs is full (it starts at the next claim)."""
    if job.status != model.READY or (not job.semaphores and yard.config.max_active is None):
        return None
    rules = Rules(semaphores=yard.semaphores.effective(), max_active=yard.config.max_active)
    running = yard.store.running_gated()
    held = admission.held(rules, running)
    if rules.max_active is not None:
        held.update(yard.store.running_total())
    holders = _holders(rules, running)
    for need in rules.needs_of(_candidate(job)):
        used = held.get(need.key, admission.Held(0)).count
        if used + need.weight <= need.size:
            continue
        if need.key == admission.ACTIVE_KEY:
            return f"the global cap max_active ({used}/{need.size} jobs running)"
        ids = sorted(j.id for j, _ in holders.get(need.key, []))
        by = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
        whom = f" held by job{'s' if len(ids) > 1 else ''} {by}" if ids else ""
        return f"{_name(need.key)} ({used}/{need.size}{whom})"
    return None


def job_detail(yard: Yard, job: Job) -> dict[str, Any]:
    """A job's fields (CONTRACT.md) plus ``waiting``: what a ready job waits for, if any."""
    fields = job.to_dict()
    reason = waiting_on(yard, job)
    if reason is not None:
        fields["waiting"] = reason
    return fields
