"""Job endpoints: create (one, per node, in bulk), list with filters and cursor paging,
read one and its log, and the management operations. Every rule of an enqueue is the
Python API's (the same SpecBuilder through ``Yard.enqueue``)."""

from __future__ import annotations

from typing import Any

from jobyard import model, views
from jobyard.api import errors as api_errors
from jobyard.api import schemas as s
from jobyard.api.auth import MANAGE, READ, run_as_refusal
from jobyard.api.endpoint import JSON, Call, Endpoints, Param
from jobyard.i18n import _

ENDPOINTS = Endpoints("jobs")

MAX_PAGE = 500
OPERATIONS = ("cancel", "pause", "resume", "restart", "rerun", "remove")
_OPTION_KEYS = tuple(s.JOB_OPTIONS)


def _options(call: Call) -> dict[str, Any]:
    body = call.body
    options = {k: body[k] for k in _OPTION_KEYS if k in body and body[k] is not None}
    refusal = run_as_refusal(call.principal.role, options.get("props"))
    if refusal:
        raise api_errors.forbidden(refusal)
    return options


def _type_name(body: dict[str, Any]) -> str:
    name = body.get("type")
    if not isinstance(name, str):
        raise api_errors.invalid(_("type must be a string: the job type's name"), "type")
    return name


def _cursor(text: str | None) -> int | None:
    """A page cursor (opaque to clients: today the id the next page starts below)."""
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 19 or int(text) < 1:
        raise api_errors.bad_request(
            _("bad cursor {text!r}: pass back a 'next' value", text=text[:40]), "cursor"
        )
    return int(text)


@ENDPOINTS.post(
    "/api/v1/jobs", roles=MANAGE, body=s.NEW_JOB, response=s.OBJ, status=201, errors=(409, 413, 422)
)
def create_job(call: Call) -> Any:
    """Create a job; with ``nodes``, a jobset of one job per node (queue ``node:NAME``)."""
    body = call.body
    yard = call.state.yard
    name, options = _type_name(body), _options(call)
    nodes = body.get("nodes")
    if nodes is None and name not in yard.registry.abstract:
        return yard.enqueue(name, body.get("data"), **options).job.to_dict()
    if nodes is not None and (not isinstance(nodes, list) or not nodes):
        raise api_errors.invalid(_("nodes must be a non-empty list of node names"), "nodes")
    jobset, ids = yard.submit(name, nodes, body.get("data"), **options)
    return {"jobset": jobset, "jobs": ids}


@ENDPOINTS.post(
    "/api/v1/jobs/bulk",
    roles=MANAGE,
    body=s.BULK_JOBS,
    response=s.CHANGED,
    status=201,
    errors=(413, 422),
)
def create_jobs(call: Call) -> Any:
    """Create many jobs of one type in one transaction: one per item of ``items``."""
    body = call.body
    items = body.get("items")
    if not isinstance(items, list) or len(items) > 10_000:
        raise api_errors.invalid(_("items must be a list of at most 10000 job data"), "items")
    ids = call.state.yard.enqueue_many(_type_name(body), items, **_options(call))
    return {"ids": ids}


LIST_PARAMS = (
    Param("status", description="comma-separated statuses"),
    Param("type", description="comma-separated type names"),
    Param("queue", description="comma-separated queues"),
    Param("jobset", schema={"type": "integer", "minimum": 1}),
    Param("worker", description="the worker that runs or last ran it"),
    Param("limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
    Param("cursor", description="the 'next' of the previous page"),
)


@ENDPOINTS.get("/api/v1/jobs", roles=READ, params=LIST_PARAMS, response=s.JOB_PAGE)
def list_jobs(call: Call) -> Any:
    """Jobs, newest first, ``limit`` a page; ``next`` is the cursor of the older page."""
    status = call.query_list("status")
    for st in status or ():
        if st not in model.STATUSES:
            raise api_errors.bad_request(
                _(
                    "unknown status {st!r}; statuses: {STATUSES}",
                    st=st[:40],
                    STATUSES=", ".join(model.STATUSES),
                ),
                "status",
            )
    limit = call.query_int("limit", 50, 1, MAX_PAGE) or 50
    page = views.recent_jobs(
        call.state.yard,
        status,
        call.query_list("type"),
        call.query_list("queue"),
        limit=limit,
        before=_cursor(call.query("cursor")),
        jobset=call.query_int("jobset", None, 1),
        worker=call.query("worker") or None,
    )
    return {
        "jobs": [j.to_dict() for j in reversed(page.rows)],
        "next": None if page.before is None else str(page.before),
    }


@ENDPOINTS.get(
    "/api/v1/jobs/{id}",
    roles=READ,
    params=(Param("id", "path", s.INT, True),),
    response=s.JOB,
    errors=(404,),
)
def get_job(call: Call) -> Any:
    """One job, every field."""
    return call.state.yard.get(call.path_int("id")).job.to_dict()


@ENDPOINTS.get(
    "/api/v1/jobs/{id}/log",
    roles=READ,
    params=(
        Param("id", "path", s.INT, True),
        Param("cursor", description="the 'next' of the previous page"),
        Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 5000}),
    ),
    response=s.LOG_PAGE,
    errors=(404,),
)
def get_log(call: Call) -> Any:
    """A job's log, oldest first, from ``cursor`` on (``next``: where to go on)."""
    start = _cursor(call.query("cursor")) or 0
    limit = call.query_int("limit", 1000, 1, 5000) or 1000
    entries = views.job_log(call.state.yard, call.path_int("id"))
    shown = entries[start : start + limit]
    end = start + len(shown)
    return {
        "entries": [views.log_entry(e) for e in shown],
        "next": str(end) if end < len(entries) else None,
    }


OP_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "retries": s.INT,
        "antecedents": {"type": "boolean"},
        "data": s.ANY,
        "repeat": s.ANY,
        "dependents": {"type": "boolean"},
    },
}


def _operation(op: str) -> Any:
    def handler(call: Call) -> Any:
        yard = call.state.yard
        job_id = call.path_int("id")
        b = call.body or {}
        allowed = {
            "cancel": {"dependents"},
            "restart": {"retries", "antecedents"},
            "rerun": {"data", "repeat"},
        }.get(op, set())
        extra = sorted(set(b) - allowed)
        if extra:
            raise api_errors.invalid(
                _("{op} takes no field {extra!r}", op=op, extra=extra[0]), extra[0]
            )
        if op == "rerun":
            kw = {"repeat": b["repeat"]} if "repeat" in b else {}
            return JSON(yard.rerun(job_id, b.get("data"), **kw).job.to_dict(), 201)
        if op == "restart":
            ids = yard.restart(job_id, b.get("retries", 1), bool(b.get("antecedents", False)))
        elif op == "cancel":
            ids = yard.cancel(job_id, bool(b.get("dependents", True)))
        else:
            ids = getattr(yard, op)(job_id)
        return {"ids": ids}

    handler.__name__ = f"{op}_job"
    handler.__doc__ = f"{op.capitalize()} a job (409 when its status does not allow it)."
    return handler


for _op in OPERATIONS:
    ENDPOINTS.post(
        f"/api/v1/jobs/{{id}}/{_op}",
        roles=MANAGE,
        params=(Param("id", "path", s.INT, True),),
        body=OP_BODY,
        body_required=False,
        response=s.JOB if _op == "rerun" else s.CHANGED,
        status=201 if _op == "rerun" else 200,
        errors=(404, 409),
    )(_operation(_op))


@ENDPOINTS.post(
    "/api/v1/jobs/{id}/redirect",
    roles=MANAGE,
    params=(Param("id", "path", s.INT, True),),
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["node"],
        "properties": {"node": s.STR},
    },
    response=s.JOB,
    errors=(404, 409, 422),
)
def redirect_job(call: Call) -> Any:
    """Send a job to another node: one not started yet moves; one that failed or was
    cancelled starts over there (409 while it runs)."""
    node = (call.body or {}).get("node")
    if not isinstance(node, str):
        raise api_errors.invalid(_("node must be a node name"), "node")
    return call.state.yard.redirect(call.path_int("id"), node).to_dict()
