"""``/api/v1/work/*``: the worker port over HTTP, for remote workers (jobyard.worker.remote).

Each endpoint runs the same verb of :class:`~jobyard.worker.local.LocalPort` on this
server's Yard, so a remote worker follows exactly the local policy. Object level: a
worker token named N may act as workers named ``N`` or ``N/<anything>`` only (claims,
registration, beats, outcomes); the verbs on a running job (log, progress, heartbeat,
done, fail) also need the run's id, which only its claimer was given (compare-and-set:
anything else is 409). High-rate calls are not audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from jobyard.api import errors as api_errors
from jobyard.api.auth import WORK
from jobyard.api.endpoint import Call, Endpoints, Handler, Param
from jobyard.i18n import _
from jobyard.model import RUNNING, Job
from jobyard.worker import wire
from jobyard.worker.local import LocalPort
from jobyard.worker.port import ClaimRequest

ENDPOINTS = Endpoints("work")
OBJ: dict[str, Any] = {"type": "object"}
ID = (Param("id", "path", {"type": "integer"}, True),)
MAX_CLAIM = 1000


def _port(call: Call) -> LocalPort:
    return LocalPort(call.state.yard)


def _as(call: Call, worker: object) -> str:
    """The worker name, if the caller may act as it."""
    if not isinstance(worker, str) or not worker:
        raise api_errors.invalid(_("worker must be the worker's name"), "worker")
    p = call.principal
    if p.via != "none" and worker != p.name and not worker.startswith(p.name + "/"):
        raise api_errors.forbidden(
            _(
                "a worker token named {name!r} acts only as worker {name!r} or {value!r}, not "
                "{worker!r}",
                name=p.name,
                value=p.name + "/...",
                worker=worker[:60],
            )
        )
    return worker


def _body(call: Call, *keys: str) -> dict[str, Any]:
    body = call.body
    if not isinstance(body, dict):
        raise api_errors.invalid(_("the body must be a JSON object"))
    for key in keys:
        if key not in body:
            raise api_errors.invalid(_("missing field {key!r}", key=key), key)
    return body


def _wire(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, api_errors.ApiError):
            raise
        raise api_errors.invalid(
            _("malformed worker call: {name}: {exc}", name=type(exc).__name__, exc=exc)
        ) from None


def post(path: str, **kw: Any) -> Callable[[Handler], Handler]:
    return ENDPOINTS.post(
        path,
        roles=WORK,
        body=OBJ,
        audit=kw.pop("audit", False),
        body_required=kw.pop("body_required", True),
        response=OBJ,
        **kw,
    )


@post("/api/v1/work/register", audit=True)
def register(call: Call) -> Any:
    """Record a worker (its name, host, queues, concurrency, lease)."""
    body = dict(_body(call, "name"))
    types = _wire(wire.types_in, body.pop("types", None) or {})
    info = _wire(wire.info_in, body)
    _as(call, info.name)
    port = _port(call)
    port.register(info)
    if types:
        port.record_types(list(types.values()))
    return {"ok": True}


@post("/api/v1/work/unregister", audit=True)
def unregister(call: Call) -> Any:
    """Remove a worker's entry (a clean shutdown)."""
    _port(call).unregister(_as(call, _body(call, "name")["name"]))
    return {"ok": True}


@post("/api/v1/work/beat")
def beat(call: Call) -> Any:
    """Renew the leases of ``runs`` and record the heartbeat; the runs still ours."""
    b = _body(call, "runs", "lease", "status")
    status = _wire(wire.status_in, b["status"])
    _as(call, status.name)
    runs = [str(r) for r in b["runs"]]
    alive = _port(call).beat(runs, float(b["lease"]), status)
    return {"alive": sorted(alive)}


@ENDPOINTS.get("/api/v1/work/types", roles=WORK, response=OBJ)
def types(call: Call) -> Any:
    """The stored job types (scripts to load, enabled flags)."""
    return {"types": wire.types_out(dict(_port(call).types()))}


def _claim_req(call: Call, body: Any) -> ClaimRequest:
    if not isinstance(body, dict):
        raise api_errors.invalid(_("a claim must be a JSON object"), "claim_next")
    for key in ("worker", "queues", "types", "limit", "lease"):
        if key not in body:
            raise api_errors.invalid(_("missing field {key!r}", key=key), key)
    req: ClaimRequest = _wire(wire.claim_in, body)
    _as(call, req.worker)
    # What runs at once is the server's to say (the stored limits and script mutexes),
    # never a worker's: a limit that skips would cancel other workers' jobs.
    req = replace(req, limits={})
    start_now = req.limit if req.start_now is None else req.start_now
    if not 0 <= req.limit <= MAX_CLAIM or not 0 < req.lease <= 3600 or start_now < 0:
        raise api_errors.invalid(
            _("limit must be 0..{MAX_CLAIM} and lease 0..3600 seconds", MAX_CLAIM=MAX_CLAIM)
        )
    return req


def _leased_before(call: Call, req: ClaimRequest, retried: bool) -> list[Job] | None:
    """A retried claim whose first try leased jobs (its answer was lost): those jobs,
    not more. None when this is a first try or the first try leased nothing."""
    if not retried or not req.run:
        return None
    mine = [j for j in call.state.yard.store.running_of_run(req.run) if j.worker == req.worker]
    return mine or None


@post("/api/v1/work/claim")
def claim(call: Call) -> Any:
    """Lease up to ``limit`` ready jobs of ``types`` in ``queues`` for ``worker`` (under
    the run id ``run`` if given; ``retry: true`` gives back what that run leased already)."""
    b = _body(call)
    req = _claim_req(call, b)
    jobs = _leased_before(call, req, bool(b.get("retry")))
    if jobs is None:
        jobs = _port(call).claim(req)
    return {"jobs": [wire.job_out(j) for j in jobs]}


def _claimed(call: Call, refs: list[tuple[int, str]]) -> dict[int, Job]:
    """The jobs these (id, run) refs name, as stored, if they still run under that run
    (the rest is no longer the caller's: nothing is recorded for them, as a compare-and-
    set would record nothing). The caller must be their worker."""
    found = call.state.yard.store.get_jobs(sorted({i for i, _unused in refs}))
    runs = dict(refs)
    out = {}
    for job in found:
        if job.status == RUNNING and job.run_id == runs.get(job.id):
            _as(call, job.worker)
            out[job.id] = job
    return out


@post("/api/v1/work/record")
def record(call: Call) -> Any:
    """Record outcomes of runs (``ref``: id and run) and claim the next jobs at once."""
    b = _body(call, "outcomes")
    if not isinstance(b["outcomes"], list):
        raise api_errors.invalid(_("outcomes must be a list"), "outcomes")
    items = [
        (_wire(wire.ref_in, item["ref"]), _wire(wire.outcome_in, item["outcome"]))
        for item in b["outcomes"]
    ]
    jobs = _claimed(call, [ref for ref, _unused in items])
    pairs = [(jobs[ref[0]], o) for ref, o in items if ref[0] in jobs]
    req = _claim_req(call, b["claim_next"]) if b.get("claim_next") else None
    port = _port(call)
    if req is not None:
        again = _leased_before(call, req, bool(b.get("retry")))
        if again is not None:
            port.record(pairs)
            return {"jobs": [wire.job_out(j) for j in again]}
    return {"jobs": [wire.job_out(j) for j in port.record(pairs, req)]}


def _one(call: Call, outcome: dict[str, Any]) -> Any:
    b = _body(call, "run")
    ref = _wire(wire.ref_in, {"id": call.path_int("id"), "run": b["run"]})
    job = _claimed(call, [ref]).get(ref[0])
    if job is None:
        raise api_errors.ApiError(
            409, "lease_lost", _("job {ref} is not running as run {ref2}", ref=ref[0], ref2=ref[1])
        )
    _port(call).record([(job, wire.outcome_in(outcome))])
    return {"ok": True}


@post("/api/v1/work/{id}/done", params=ID)
def done(call: Call) -> Any:
    """Complete a run: body ``run`` (its id, as claimed) and ``result``."""
    return _one(call, {"ok": True, "result": _body(call).get("result")})


@post("/api/v1/work/{id}/fail", params=ID)
def fail(call: Call) -> Any:
    """Fail a run: body ``run``, ``error``, ``fatal`` (no retries)."""
    b = _body(call)
    error = str(b.get("error") or "failed")
    return _one(call, {"ok": False, "error": error, "fatal": bool(b.get("fatal"))})


@post("/api/v1/work/{id}/heartbeat", params=ID)
def heartbeat(call: Call) -> Any:
    """Renew one run's lease (409 when the run is no longer this one)."""
    b = _body(call, "run", "lease")
    _port(call).touch(call.path_int("id"), str(b["run"]), float(b["lease"]))
    return {"ok": True}


@post("/api/v1/work/{id}/progress", params=ID)
def progress(call: Call) -> Any:
    """Set a run's progress and renew its lease."""
    b = _body(call, "run", "completed", "total", "lease")
    _port(call).progress(
        call.path_int("id"),
        str(b["run"]),
        float(b["completed"]),
        float(b["total"]),
        float(b["lease"]),
    )
    return {"ok": True}


@post("/api/v1/work/{id}/log", params=ID)
def log(call: Call) -> Any:
    """Append log entries to a run (``guarded: false``: whatever became of the run)."""
    b = _body(call, "entries", "lease")
    job_id = call.path_int("id")
    entries = b["entries"]
    if not isinstance(entries, list) or any(
        not isinstance(e, dict) or e.get("job_id") != job_id for e in entries
    ):
        raise api_errors.invalid(_("entries must be log entries of this job"), "entries")
    _port(call).log(job_id, b.get("run"), entries, float(b["lease"]), bool(b.get("guarded", True)))
    return {"ok": True}


@post("/api/v1/work/hand-back")
def hand_back(call: Call) -> Any:
    """Return claimed jobs to ready without spending an attempt (shutdown)."""
    b = _body(call, "jobs", "reason")
    if not isinstance(b["jobs"], list):
        raise api_errors.invalid(_("jobs must be a list of {{id, run}}"), "jobs")
    jobs = _claimed(call, [_wire(wire.ref_in, j) for j in b["jobs"]])
    return {"ids": _port(call).hand_back(list(jobs.values()), str(b["reason"]))}


@post("/api/v1/work/next-due", body_required=False)
def next_due(call: Call) -> Any:
    """When the next waiting job becomes due."""
    return {"at": _port(call).next_due()}


@post("/api/v1/work/job", body_required=True)
def get_job(call: Call) -> Any:
    """A job as stored now (null when gone)."""
    job = _port(call).get_job(int(_body(call, "id")["id"]))
    return {"job": wire.job_out(job) if job else None}


@post("/api/v1/work/cancel")
def cancel(call: Call) -> Any:
    """Cancel a job (a handler ending its own run cancelled)."""
    _port(call).cancel(int(_body(call, "id")["id"]))
    return {"ok": True}


@post("/api/v1/work/emit")
def emit(call: Call) -> Any:
    """Emit an event from a running job."""
    b = _body(call, "event")
    e = _port(call).emit(
        str(b["event"]), b.get("data"), b.get("source_job"), int(b.get("depth", 0))
    )
    return {"event": wire.event_out(e)}


@post("/api/v1/work/script-ran")
def script_ran(call: Call) -> Any:
    """Note a script type's last run."""
    b = _body(call, "type", "started", "status")
    _port(call).script_ran(str(b["type"]), float(b["started"]), str(b["status"]))
    return {"ok": True}


@post("/api/v1/work/collection")
def collection(call: Call) -> Any:
    """One collection call of a script."""
    return {"value": _port(call).collection(list(_body(call, "args")["args"]))}


@post("/api/v1/work/kv")
def kv(call: Call) -> Any:
    """Jobset storage: ``op`` get | put | delete | all | update (put and delete at once)
    on ``jobset``."""
    b = _body(call, "op", "jobset")
    port, jobset = _port(call), int(b["jobset"])
    op = b["op"]
    if op == "get":
        found, value = port.kv_get(jobset, str(b["key"]))
        return {"found": found, "value": value}
    if op == "put":
        port.kv_put(jobset, dict(b["values"]))
        return {"ok": True}
    if op == "delete":
        return {"removed": port.kv_delete(jobset, [str(k) for k in b["keys"]])}
    if op == "all":
        return {"values": port.kv_all(jobset)}
    if op == "update":
        put, keys = b.get("values") or {}, b.get("keys") or []
        if not isinstance(put, dict) or not isinstance(keys, list):
            raise api_errors.invalid(_("update takes values (an object) and keys (a list)"))
        return {"removed": port.kv_update(jobset, put, [str(k) for k in keys])}
    raise api_errors.invalid(_("op must be get, put, delete, all or update"), "op")
