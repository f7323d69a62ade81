"""Read views of semaphores and site caps: who holds them, who waits, and why a ready job
has not started (``jobyard semaphores``, ``GET /api/v1/semaphores``, ``job show``).
Holders are running jobs and call holds (``job.semaphore(...)``, jobyard.callholds); a
semaphore with ``holder = "jobset"`` is held by jobsets, each for all its running jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobyard import admission, callholds, model
from jobyard.admission import Candidate, Need, Rules
from jobyard.semaphores import split

if TYPE_CHECKING:
    from jobyard.callholds import CallHold
    from jobyard.model import Job
    from jobyard.yard import Yard

MAX_WAITERS = 1000  # waiting jobs read for a listing (the oldest first)
Holding = tuple[Candidate, Need, bool]  # a holder job, the need it holds, whether by a call


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


def _holders(
    rules: Rules, running: list[Candidate], calls: list[CallHold]
) -> dict[str, list[Holding]]:
    out: dict[str, list[Holding]] = {}
    held = [(job, False) for job in running]
    held += [(call.candidate(), True) for call in calls if call.granted]
    for job, by_call in held:
        for need in rules.gates_of(job):
            out.setdefault(need.key, []).append((job, need, by_call))
    return out


def _ids(found: list[Holding]) -> list[str]:
    """``12`` or ``12 (call)`` per holding job (a job holding by a claim and a call: ``12``)."""
    by_claim = {job.id for job, _, call in found if not call}
    ids = sorted({job.id for job, _, _ in found})
    return [f"{i}" if i in by_claim else f"{i} (call)" for i in ids]


def _whom(found: list[Holding]) -> str:
    """Who holds a key: ``job 12``, ``jobs 1, 2 (call)``, ``jobset 7 (jobs 12, 13)``."""
    sets: dict[int, list[Holding]] = {}
    jobs: list[Holding] = []
    for holding in found:
        holder = holding[1].holder or ""
        if holder.startswith("jobset") and holding[0].jobset is not None:
            sets.setdefault(holding[0].jobset, []).append(holding)
        else:
            jobs.append(holding)
    parts = []
    for jobset, mine in sorted(sets.items()):
        ids = _ids(mine)
        parts.append(f"jobset {jobset} (job{'s' if len(ids) > 1 else ''} {', '.join(ids)})")
    ids = _ids(jobs)
    if ids:
        shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
        parts.append(f"job{'s' if len(ids) > 1 else ''} {shown}")
    return ", ".join(parts)


def semaphores(yard: Yard) -> list[dict[str, Any]]:
    """Each semaphore (and each site cap in use, and each jobset's counter): its count,
    slots held, holders (job, mode, jobset) and waiters (job ids, in claim order)."""
    known = yard.semaphores.known()
    rules = Rules(semaphores=known)
    running = yard.store.running_gated()
    calls = yard.store.call_holds()
    waiting = [_candidate(j) for j in yard.store.ready_gated(MAX_WAITERS)]
    holders = _holders(rules, running, calls)
    counts = callholds.counted(rules, running, calls)
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
                "holder": sem.holder if sem else "job",
                "jobset": int(scope) if scope.isdigit() else None,
                "held": 0,
                "holders": [],
                "waiters": [],
                "call_waiters": [],
            },
        )

    for sem in known.values():
        if sem.scope == "global":
            row(f"semaphore:{sem.name}", sem.count)
    for key, found in holders.items():
        r = row(key, found[0][1].size)
        r["held"] = counts[key].count  # a holder counts once (a jobset for all its jobs)
        for job, need, by_call in found:
            entry = {"job": job.id, "mode": _mode(job, need), "jobset": job.jobset}
            r["holders"].append({**entry, "call": True} if by_call else entry)
    for job in waiting:
        for need in rules.gates_of(job):
            row(need.key, need.size)["waiters"].append(job.id)
    for call in calls:
        if not call.granted:
            for need in rules.gates_of(call.candidate()):
                r = row(need.key, need.size)
                r["call_waiters"].append({"job": call.job, "mode": call.mode or "slot"})
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
    calls = yard.store.call_holds() if job.semaphores else []
    held = callholds.counted(rules, running, calls)
    if rules.max_active is not None:
        held.update(yard.store.running_total())
    holders = _holders(rules, running, calls)
    taken = {key: h.holders for key, h in held.items()}
    for need in rules.needs_of(_candidate(job)):
        now = held.get(need.key, admission.Held(0))
        extra = admission.cost(need, taken)
        if not extra or (now.count + extra <= need.size and not now.reserved):
            continue  # room (or its jobset holds the slot already)
        if need.key == admission.ACTIVE_KEY:
            return f"the global cap max_active ({now.count}/{need.size} jobs running)"
        whom = _whom(holders.get(need.key, []))
        reason = f"{_name(need.key)} ({now.count}/{need.size}{' held by ' + whom if whom else ''})"
        if now.count + extra <= need.size:  # room, but a call waits to write first
            writers = sorted(
                c.job
                for c in calls
                if not c.granted
                and any(n.key == need.key and n.weight > 1 for n in rules.gates_of(c.candidate()))
            )
            reason += f", job {writers[0]} waits to write first" if writers else ""
        return reason
    return None


def job_detail(yard: Yard, job: Job) -> dict[str, Any]:
    """A job's fields (CONTRACT.md) plus ``waiting``: what a ready job waits for, if any."""
    fields = job.to_dict()
    reason = waiting_on(yard, job)
    if reason is not None:
        fields["waiting"] = reason
    return fields
