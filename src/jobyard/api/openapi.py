"""The OpenAPI 3.1 document, generated from the endpoint declarations (the same ones the
router, the role checks and the body checks use, so it cannot drift from them)."""

from __future__ import annotations

import re
from typing import Any

from jobyard.api.auth import PUBLIC
from jobyard.api.endpoint import Call, Endpoint, Endpoints
from jobyard.api.errors import ERROR_SCHEMA

ENDPOINTS = Endpoints("ops")

DESCRIPTIONS = {
    400: "Bad request (malformed JSON, bad cursor or parameter)",
    401: "Not authenticated",
    403: "Not allowed for this role (or missing CSRF token)",
    404: "Not found",
    409: "Not allowed in the object's current state",
    413: "Request body too large",
    415: "Body is not JSON",
    422: "Invalid input",
    429: "Too many requests",
    503: "Database unavailable",
}


def _operation(ep: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": ep.handler.__name__,
        "summary": ep.summary,
        "tags": [ep.tag],
        "x-roles": sorted(ep.roles),
    }
    names = set(re.findall(r"{(\w+)}", ep.path))
    params = [
        {
            "name": p.name,
            "in": p.where,
            "required": p.required or p.where == "path",
            "schema": dict(p.schema),
            **({"description": p.description} if p.description else {}),
        }
        for p in ep.params
    ]
    declared = {p["name"] for p in params}
    params += [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in sorted(names - declared)
    ]
    if params:
        op["parameters"] = params
    if ep.body is not None:
        op["requestBody"] = {
            "required": ep.body_required,
            "content": {"application/json": {"schema": dict(ep.body)}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if ep.media == "application/json":
        ok["content"] = {"application/json": {"schema": dict(ep.response or {})}}
    else:
        ok["content"] = {ep.media: {"schema": {"type": "string"}}}
    # Any call may be malformed (400) or invalid (422, also: an account endpoint on a
    # --no-auth server); a path names an object that may not exist (404).
    codes = set(ep.errors) | {400, 422}
    if names:
        codes.add(404)
    if ep.body is not None:
        codes |= {413, 415}
    if ep.roles:
        codes |= {401, 403}
        op["security"] = [{"bearer": []}, {"session": []}]
    else:
        op["security"] = []
    responses: dict[str, Any] = {str(ep.status): ok}
    for code in sorted(codes | {503}):
        responses[str(code)] = {
            "description": DESCRIPTIONS.get(code, "Error"),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    op["responses"] = responses
    return op


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {"title": "jobyard", "version": "1", "description": "docs/api.md"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "jobyard_session"},
            }
        },
    }


@ENDPOINTS.get("/api/v1/openapi.json", roles=PUBLIC, response={"type": "object"})
def openapi(call: Call) -> Any:
    """This document."""
    extra = call.state.extra
    if "openapi" not in extra:
        extra["openapi"] = document(call.request.app.state.endpoints)
    return extra["openapi"]
