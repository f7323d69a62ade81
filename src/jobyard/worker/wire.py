"""The worker port's values as JSON and back (the HTTP port and its server share it)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from jobyard.admission import Limit
from jobyard.model import Job
from jobyard.store.events import Event
from jobyard.store.workers import StoredType
from jobyard.worker.execute import Outcome
from jobyard.worker.port import ClaimRequest, WorkerInfo, WorkerStatus

_JOB_ORDER = tuple(f.name for f in fields(Job))
_JOB_FIELDS = frozenset(_JOB_ORDER)


def job_out(job: Job) -> dict[str, Any]:
    # A shallow copy: a job's values are JSON already (decoded from the store), and
    # dataclasses.asdict's deep copy was a tenth of the server's time per claim.
    return {name: getattr(job, name) for name in _JOB_ORDER}


def job_in(d: dict[str, Any]) -> Job:
    return Job(**{k: v for k, v in d.items() if k in _JOB_FIELDS})


def claim_out(r: ClaimRequest) -> dict[str, Any]:
    return {
        "worker": r.worker,
        "queues": list(r.queues),
        "types": list(r.types),
        "limit": r.limit,
        "lease": r.lease,
        "limits": {k: asdict(v) for k, v in r.limits.items()},
        "run": r.run,
        "start_now": r.start_now,
    }


def claim_in(d: dict[str, Any]) -> ClaimRequest:
    return ClaimRequest(
        worker=str(d["worker"]),
        queues=[str(q) for q in d["queues"]],
        types=[str(t) for t in d["types"]],
        limit=int(d["limit"]),
        lease=float(d["lease"]),
        promote=False,  # the server promotes on its own
        limits={str(k): Limit(**v) for k, v in (d.get("limits") or {}).items()},
        run=run_in(d.get("run")) if d.get("run") is not None else None,
        start_now=None if d.get("start_now") is None else int(d["start_now"]),
    )


def run_in(value: Any, dots: bool = False) -> str:
    """A claim's run id (12 hex digits from this port; 1 to 64 ASCII letters, digits, -
    or _ from any), or with ``dots`` a job's (the claim's, '.', the job's id)."""
    run = str(value)
    plain = run.replace("-", "").replace("_", "").replace(".", "" if dots else ".")
    if not 1 <= len(run) <= 64 or not (plain.isascii() and plain.isalnum()):
        raise ValueError("a run id is 1 to 64 ASCII letters, digits, - or _")
    return run


def ref_out(job: Job) -> dict[str, Any]:
    """A claimed job as a worker names it back to the server: the server keeps the rest."""
    return {"id": job.id, "run": job.run_id}


def ref_in(d: dict[str, Any]) -> tuple[int, str]:
    return int(d["id"]), run_in(d["run"], dots=True)


def outcome_out(o: Outcome) -> dict[str, Any]:
    return {"ok": o.ok, "result": o.result, "error": o.error, "fatal": o.fatal}


def outcome_in(d: dict[str, Any]) -> Outcome:
    return Outcome(bool(d["ok"]), d.get("result"), str(d.get("error") or ""), bool(d.get("fatal")))


def info_in(d: dict[str, Any]) -> WorkerInfo:
    return WorkerInfo(**d)


def status_in(d: dict[str, Any]) -> WorkerStatus:
    return WorkerStatus(str(d["name"]), str(d["status"]), [int(i) for i in d.get("running", [])])


def types_out(types: dict[str, StoredType]) -> dict[str, Any]:
    return {name: asdict(t) for name, t in types.items()}


def types_in(d: dict[str, Any]) -> dict[str, StoredType]:
    return {name: StoredType(**t) for name, t in d.items()}


def event_out(e: Event) -> dict[str, Any]:
    return asdict(e)


def event_in(d: dict[str, Any]) -> Event:
    return Event(**d)
