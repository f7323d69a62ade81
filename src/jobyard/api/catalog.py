"""Read and admin endpoints beside the jobs: jobsets, types (and their settings), events,
workers, collections."""

from __future__ import annotations

import time
from typing import Any

from jobyard import views
from jobyard.api import errors as api_errors
from jobyard.api import schemas as s
from jobyard.api.auth import ADMIN, MANAGE, READ
from jobyard.api.endpoint import Call, Endpoints, Param
from jobyard.i18n import _
from jobyard.limits import json_or_text

ENDPOINTS = Endpoints("catalog")

PATH_ID = (Param("id", "path", s.INT, True),)
PATH_NAME = (Param("name", "path", s.STR, True),)


@ENDPOINTS.get("/api/v1/jobsets/{id}", roles=READ, params=PATH_ID, response=s.OBJ, errors=(404,))
def get_jobset(call: Call) -> Any:
    """A jobset: its jobs, a count per status, done/succeeded."""
    js = call.state.yard.jobset(call.path_int("id"))
    progress = views.jobset_progress(js.jobs)
    return {
        **js.to_dict(),
        "finished": progress.finished,
        "total": progress.total,
        "succeeded": progress.succeeded,
    }


@ENDPOINTS.get("/api/v1/types", roles=READ, response=s.OBJ)
def list_types(call: Call) -> Any:
    """Every job type the store and this server know, with its settings."""
    return {"types": views.types_table(call.state.yard)}


@ENDPOINTS.patch(
    "/api/v1/types/{name}",
    roles=ADMIN,
    params=PATH_NAME,
    body=s.TYPE_PATCH,
    response=s.OBJ,
    errors=(404, 422),
)
def patch_type(call: Call) -> Any:
    """Enable/disable a type, set a Python type's running-at-once ``limit`` (null lifts
    it), or change a script type's schedule, triggers, worker, timeout, run_as."""
    from jobyard.scripts import set_enabled, set_type

    yard = call.state.yard
    name = str(call.path["name"])
    body = dict(call.body or {})
    if not body:
        raise api_errors.invalid(_("nothing to change: give enabled, schedule, on, worker, ..."))
    enabled = body.pop("enabled", None)
    if enabled is not None and not isinstance(enabled, bool):
        raise api_errors.invalid(_("enabled must be true or false"), "enabled")
    if "on" in body and isinstance(body["on"], list):
        body["on"] = ",".join(str(v) for v in body["on"])
    if body.get("timeout") is None and "timeout" in body:
        body["timeout"] = 0.0  # null: no timeout
    views.type_meta(yard, name)  # an unknown type is a 404-like refusal before any change
    limited = "limit" in body
    limit = body.pop("limit", None)
    if limited and (isinstance(limit, bool) or not isinstance(limit, int | None)):
        raise api_errors.invalid(_("limit must be a whole number >= 1, or null"), "limit")
    if limited:
        yard.registry.set_limit(name, limit)
    if body:
        set_type(yard, name, body)
    if enabled is not None:
        set_enabled(yard, name, enabled)
    return views.type_meta(yard, name)


@ENDPOINTS.post(
    "/api/v1/events", roles=MANAGE, body=s.EMIT, response=s.OBJ, status=201, errors=(413, 422)
)
def emit(call: Call) -> Any:
    """Emit an event: every type listening on it (``on=``) gets a job."""
    body = call.body
    if not isinstance(body.get("event"), str):
        raise api_errors.invalid(_("event must be a string"), "event")
    event = call.state.yard.emit(body["event"], body.get("data"))
    return views.event_view(event)


@ENDPOINTS.get(
    "/api/v1/events",
    roles=READ,
    response=s.OBJ,
    params=(
        Param("name"),
        Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
    ),
)
def recent_events(call: Call) -> Any:
    """The most recent emitted events (oldest first), with the jobs each created."""
    limit = call.query_int("limit", 100, 1, 1000) or 100
    events = views.recent_events(call.state.yard, call.query("name") or None, limit)
    return {"events": [views.event_view(e) for e in events]}


@ENDPOINTS.get("/api/v1/workers", roles=READ, response=s.OBJ)
def workers(call: Call) -> Any:
    """Every registered worker: alive or gone, its queues, what it runs, its heartbeat."""
    return {"workers": [w.to_dict() for w in views.workers(call.state.yard, time.time())]}


@ENDPOINTS.get("/api/v1/collections", roles=READ, response=s.OBJ)
def collections(call: Call) -> Any:
    """Every item collection with its counts per status."""
    return {"collections": views.collections_summary(call.state.yard)}


@ENDPOINTS.get(
    "/api/v1/collections/{name}",
    roles=READ,
    params=(
        *PATH_NAME,
        Param("status"),
        Param("sort"),
        Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
        Param("offset", schema={"type": "integer", "minimum": 0}),
    ),
    response=s.OBJ,
)
def collection(call: Call) -> Any:
    """A page of a collection's items (filter ``where.FIELD=VALUE``, sort by a column or a
    data field, ``offset`` pages back from the most recent)."""
    coll = call.state.yard.collection(str(call.path["name"]))
    where = {
        k[len("where.") :]: json_or_text(v, f"filter {k}")
        for k, v in call.request.query_params.items()
        if k.startswith("where.") and len(k) > len("where.")
    }
    limit = call.query_int("limit", 100, 1, 1000) or 100
    offset = call.query_int("offset", 0, 0, 10**12) or 0
    page = views.collection_page(
        coll, call.query_list("status"), where, call.query("sort") or "created", limit, offset
    )
    return {
        "items": [i.to_dict() for i in page.items],
        "total": page.total,
        "next_offset": page.window.before,
    }
