"""Pages of job types: the type table (grouped, schedules with next fire times, enable,
edit) and the creation form (Run Now) generated from a type's declared parameters, with
prefill links ``/new?type=T&nodes=a,b&param.NAME=VALUE``."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import RedirectResponse, Response

from jobyard import params, views
from jobyard.api.auth import ADMIN, MANAGE, run_as_refusal
from jobyard.api.endpoint import Call
from jobyard.cron import fire_times
from jobyard.errors import InvalidInput, JobyardError
from jobyard.i18n import N_, _
from jobyard.limits import finite_json
from jobyard.web.page import Pages, View, form_value

PAGES = Pages()

EDITABLE = ("schedule", "timezone", "on", "worker", "timeout", "description", "group")
NEXT_FIRES = 3


def _next_fires(row: dict[str, Any], now: float) -> list[float]:
    expr = row.get("schedule")
    if not expr:
        return []
    try:
        return fire_times(expr, now, now + 400 * 86400, row.get("timezone") or "UTC", NEXT_FIRES)
    except JobyardError:
        return []


@PAGES.get("/types", N_("Job types"))
def types_page(call: Call) -> View:
    now = time.time()
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in views.types_table(call.state.yard):
        row["next"] = _next_fires(row, now)
        groups.setdefault(str(row.get("group") or ""), []).append(row)
    return View("types.html", {"groups": sorted(groups.items()), "editable": EDITABLE})


@PAGES.post("/types/{name}/enable", N_("Job types"), roles=ADMIN)
def type_enable(call: Call) -> Response:
    from jobyard.scripts import set_enabled

    set_enabled(call.state.yard, str(call.path["name"]), True)
    return RedirectResponse("/types", 303)


@PAGES.post("/types/{name}/disable", N_("Job types"), roles=ADMIN)
def type_disable(call: Call) -> Response:
    from jobyard.scripts import set_enabled

    set_enabled(call.state.yard, str(call.path["name"]), False)
    return RedirectResponse("/types", 303)


@PAGES.post("/types/{name}/set", N_("Job types"), roles=ADMIN)
def type_set(call: Call) -> Response:
    from jobyard.scripts import set_type

    name = str(call.path["name"])
    current = views.type_meta(call.state.yard, name)
    changes: dict[str, Any] = {}
    form: dict[str, list[str]] = call.body or {}
    for key in EDITABLE:
        if key not in form:
            continue
        value: Any = form_value(call, key).strip()
        now = current.get(key)
        shown = ",".join(now) if isinstance(now, list) else ("" if now is None else str(now))
        if value == shown:
            continue  # only what the user changed: the rest stays as the script says
        if key == "timeout":
            try:
                value = float(value) if value else 0.0  # empty: no timeout
            except ValueError:
                raise InvalidInput(
                    _("timeout must be seconds, got {value!r}", value=value[:40])
                ) from None
        changes[key] = value
    if not changes:
        raise InvalidInput(_("nothing to change"))
    set_type(call.state.yard, name, changes)
    return RedirectResponse("/types", 303)


def _form_state(call: Call, type_name: str, values: dict[str, str]) -> dict[str, Any]:
    yard = call.state.yard
    known = sorted(yard.known_types(refresh=True))  # a sync may just have changed a header
    jt = yard.types.get(type_name)
    declared: list[params.Param] = []
    if jt is not None and jt.kind == "python":
        declared = params.declared(jt.func)
    elif type_name:  # a script's header, or a type another process registered
        sig = yard.registry.signature_of(type_name)
        declared = list(sig.params) if sig is not None else []
    rules = yard.registry.node_rules(type_name) if type_name else {}
    return {
        "type_name": type_name,
        "known": known,
        "declared": declared,
        "min_nodes": rules.get("min_nodes"),
        "max_nodes": rules.get("max_nodes"),
        "values": values,
        "errors": {},
    }


@PAGES.get("/new", N_("Run a job"), roles=MANAGE)
def new_form(call: Call) -> View:
    values = {k: v for k, v in call.request.query_params.items() if len(v) <= 10_000}
    return View("new.html", _form_state(call, values.get("type", ""), values))


def _build(call: Call, state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The job's data and options from the form; InvalidInput with ``field`` when bad."""
    form: dict[str, str] = state["values"]
    data: Any
    if state["declared"]:
        data = {}
        for p in state["declared"]:
            text = form.get(f"param.{p.name}", "")
            if text == "" and p.kind != "bool":
                if p.required:
                    err = InvalidInput(_("parameter {name!r} is required", name=p.name))
                    err.field = f"param.{p.name}"  # type: ignore[attr-defined]
                    raise err
                continue
            data[p.name] = params.from_text(p, text)
    else:
        data = _json_field(form, "data", None)
    options: dict[str, Any] = {}
    for key in ("queue", "priority", "delay"):
        if form.get(key, "").strip():
            options[key] = form[key].strip()
    if "delay" in options:
        try:
            options["delay"] = float(options["delay"])
        except ValueError:
            raise _field(InvalidInput(_("delay must be seconds")), "delay") from None
    props = _json_field(form, "props", None)
    refusal = run_as_refusal(call.principal.role, props)
    if refusal:
        raise _field(InvalidInput(refusal), "props")
    if props is not None:
        options["props"] = props
    return data, options


def _field(err: InvalidInput, name: str) -> InvalidInput:
    err.field = name  # type: ignore[attr-defined]
    return err


def _json_field(form: dict[str, str], name: str, default: Any) -> Any:
    text = form.get(name, "").strip()
    if not text:
        return default
    try:
        return finite_json(text, name)
    except InvalidInput as exc:
        raise _field(exc, name) from None


@PAGES.post("/new", N_("Run a job"), roles=MANAGE)
def new_submit(call: Call) -> View | Response:
    form: dict[str, list[str]] = call.body or {}
    values = {k: v[0] for k, v in form.items() if v}
    state = _form_state(call, values.get("type", ""), values)
    yard = call.state.yard
    try:
        if not state["type_name"]:
            raise _field(InvalidInput(_("choose a job type")), "type")
        data, options = _build(call, state)
        nodes = [n.strip() for n in values.get("nodes", "").split(",") if n.strip()]
        if not nodes and state["min_nodes"]:
            raise _field(
                InvalidInput(
                    f"job type {state['type_name']!r} runs on at least {state['min_nodes']} "
                    "node(s): give them, comma-separated"
                ),
                "nodes",
            )
        if nodes:
            try:  # every node checked, in one transaction: nothing written if one is bad
                jobset, _unused = yard.submit(state["type_name"], nodes, data, **options)
            except InvalidInput as exc:
                if getattr(exc, "field", None) is None and "node" in str(exc):
                    raise _field(exc, "nodes") from None
                raise
            return RedirectResponse(f"/jobsets/{jobset}", 303)
        handle = yard.enqueue(state["type_name"], data, **options)
    except InvalidInput as exc:
        state["errors"] = {getattr(exc, "field", None) or "form": str(exc)}
        return View("new.html", state, 422)
    return RedirectResponse(f"/jobs/{handle.id}", 303)
