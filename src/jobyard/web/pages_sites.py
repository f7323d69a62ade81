"""Pages of sites, batches and nodes: the inventory (secrets hidden), recent batches, a
batch's (action, site) grid — live, failed pairs marked, "re-run failed" for operators —
and the nodes with their workers, queue depth and recent jobs."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import RedirectResponse, Response

from jobyard import views
from jobyard.api.auth import MANAGE
from jobyard.api.endpoint import Call
from jobyard.errors import InvalidInput
from jobyard.web.page import Pages, View

PAGES = Pages()

BATCHES_PER_PAGE = 20


@PAGES.get("/sites", "Sites")
def sites_page(call: Call) -> View:
    return View("sites.html", views.inventory(call.state.yard))


@PAGES.get("/batches", "Batches")
def batches_page(call: Call) -> View:
    page = views.batches(call.state.yard, BATCHES_PER_PAGE, call.query_int("before", None, 1))
    return View("batches.html", {"batches": page.rows[::-1], "before": page.before})


def _grid(call: Call) -> dict[str, Any]:
    grid = views.batch(call.state.yard, call.path_int("id"))
    return {"grid": grid, "batch": grid.summary, "failed": grid.failed}


@PAGES.get("/batches/{id}", "Batch")
def batch_page(call: Call) -> View:
    cursor = views.latest_transition(call.state.yard)  # before the read: see job.html
    rerun = call.query_int("rerun", None, 0)
    return View("batch.html", {**_grid(call), "cursor": cursor, "rerun": rerun})


@PAGES.get("/batches/{id}/part/grid", "Batch")
def batch_grid_part(call: Call) -> View:
    return View("batch_grid.html", _grid(call))


@PAGES.post("/batches/{id}/rerun", "Batch", roles=MANAGE)
def batch_rerun(call: Call) -> Response:
    from jobyard.sites.batch import rerun_failed

    grid = views.batch(call.state.yard, call.path_int("id"))
    if grid.summary.unfinished:
        raise InvalidInput(f"batch {grid.summary.id} is still running: wait for it to finish")
    made = rerun_failed(call.state.yard, grid.summary.id)
    return RedirectResponse(f"/batches/{grid.summary.id}?rerun={len(made)}", 303)


@PAGES.get("/nodes", "Nodes")
def nodes_page(call: Call) -> View:
    return View("nodes.html", {"nodes": views.nodes(call.state.yard, time.time())})
