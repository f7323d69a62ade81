"""Sites, batches and nodes (poly.shell's and AnyJob's faces): the inventory with its
secrets hidden, recent batches, one batch as a grid with a re-run of its failed pairs,
and the nodes seen. The web pages read the same views."""

from __future__ import annotations

import time
from typing import Any

from jobyard import views
from jobyard.api import errors as api_errors
from jobyard.api import schemas as s
from jobyard.api.auth import MANAGE, READ
from jobyard.api.endpoint import Call, Endpoints, Param

ENDPOINTS = Endpoints("sites")

PATH_ID = (Param("id", "path", s.INT, True),)
MAX_BATCHES = 200


@ENDPOINTS.get("/api/v1/sites", roles=READ, response=s.OBJ)
def list_sites(call: Call) -> Any:
    """Every site (where its shell runs, its variables; secrets hidden) and every role."""
    return views.inventory(call.state.yard)


@ENDPOINTS.get(
    "/api/v1/batches",
    roles=READ,
    response=s.OBJ,
    params=(
        Param("limit", schema={"type": "integer", "minimum": 1, "maximum": MAX_BATCHES}),
        Param("before", schema={"type": "integer", "minimum": 1}),
    ),
)
def list_batches(call: Call) -> Any:
    """The most recent batches (newest first): actions, schedules, state, counts;
    ``next`` is the ``before`` of the older page."""
    limit = call.query_int("limit", 20, 1, MAX_BATCHES) or 20
    page = views.batches(call.state.yard, limit, call.query_int("before", None, 1))
    return {"batches": [b.to_dict() for b in page.rows[::-1]], "next": page.before}


@ENDPOINTS.get(
    "/api/v1/batches/{id}", roles=READ, params=PATH_ID, response=s.OBJ, errors=(404, 422)
)
def get_batch(call: Call) -> Any:
    """A batch as a grid: its steps, each site's cell per step (the latest job), the
    failed (action, site) pairs."""
    return views.batch(call.state.yard, call.path_int("id")).to_dict()


@ENDPOINTS.post(
    "/api/v1/batches/{id}/rerun",
    roles=MANAGE,
    params=PATH_ID,
    body={"type": "object", "additionalProperties": False, "properties": {}},
    body_required=False,
    response=s.OBJ,
    status=201,
    errors=(404, 409, 422),
)
def rerun_batch(call: Call) -> Any:
    """Run the failed (action, site) pairs of a finished batch again (each stage with its
    own schedule); 409 while the batch still runs."""
    from jobyard.sites.batch import rerun_failed

    yard = call.state.yard
    grid = views.batch(yard, call.path_int("id"))
    if grid.summary.unfinished:
        raise api_errors.ApiError(
            409, "batch_running", f"batch {grid.summary.id} is still running: wait for it"
        )
    return {"batch": grid.summary.id, "jobs": rerun_failed(yard, grid.summary.id)}


@ENDPOINTS.get("/api/v1/nodes", roles=READ, response=s.OBJ)
def list_nodes(call: Call) -> Any:
    """Every node seen: its workers (alive or gone), its queue's depth, its recent jobs."""
    return {"nodes": [n.to_dict() for n in views.nodes(call.state.yard, time.time())]}
