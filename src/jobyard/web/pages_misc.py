"""The other pages: workers, events, collections, a jobset's live graph, login."""

from __future__ import annotations

import time
from typing import Any

from jobyard import model, views
from jobyard.api.endpoint import Call
from jobyard.errors import InvalidInput
from jobyard.i18n import N_, _
from jobyard.limits import json_or_text
from jobyard.web.graph import layout
from jobyard.web.page import Pages, View

PAGES = Pages()

ITEMS_PER_PAGE = 100


@PAGES.get("/workers", N_("Workers"))
def workers_page(call: Call) -> View:
    return View("workers.html", {"workers": views.workers(call.state.yard, time.time())})


@PAGES.get("/events", N_("Events"))
def events_page(call: Call) -> View:
    name = call.query("name") or None
    events = views.recent_events(call.state.yard, name, 100)
    return View("events.html", {"events": events[::-1], "name": name or ""})


@PAGES.get("/collections", N_("Collections"))
def collections_page(call: Call) -> View:
    return View("collections.html", {"collections": views.collections_summary(call.state.yard)})


@PAGES.get("/collections/{name}", N_("Collection"))
def collection_page(call: Call) -> View:
    yard = call.state.yard
    name = str(call.path["name"])
    coll = yard.collection(name)
    statuses = call.query_list("status")
    order = call.query("sort") or "created"
    offset = call.query_int("offset", 0, 0, 10**12) or 0
    where: dict[str, Any] = {}
    for key, value in call.request.query_params.items():
        if key.startswith("where."):
            field = key[len("where.") :]
            if not field:
                raise InvalidInput(_("a where. filter needs a field name: where.FIELD=VALUE"))
            where[field] = json_or_text(value, f"filter {field}")
    page = views.collection_page(coll, statuses, where, order, ITEMS_PER_PAGE, offset)
    items = page.items[::-1]  # newest first
    fields = sorted({k for i in items if isinstance(i.data, dict) for k in i.data})[:20]
    return View(
        "collection.html",
        {
            "name": name,
            "items": items,
            "fields": fields,
            "total": page.total,
            "window": page.window,
            "sort": order,
            "status": ",".join(statuses or []),
            "where": where,
        },
    )


def _jobset(call: Call) -> dict[str, Any]:
    js = call.state.yard.jobset(call.path_int("id"))
    graph = layout(js.jobs)
    return {"jobset": js, "graph": graph, "progress": views.jobset_progress(js.jobs)}


@PAGES.get("/jobsets/{id}", N_("Jobset"))
def jobset_page(call: Call) -> View:
    cursor = views.latest_transition(call.state.yard)  # before the read: see job.html
    return View("jobset.html", {**_jobset(call), "cursor": cursor})


@PAGES.get("/jobsets/{id}/part/graph", N_("Jobset"))
def jobset_graph_part(call: Call) -> View:
    return View("jobset_graph.html", _jobset(call))


@PAGES.get("/login", N_("Log in"), public=True)
def login_page(call: Call) -> View:
    nxt = call.query("next") or "/"
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    return View("login.html", {"next": nxt, "error": None, "statuses": model.STATUSES})
