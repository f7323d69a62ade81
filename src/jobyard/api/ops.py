"""Ops endpoints: ``/healthz`` (no auth; it really asks the database)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from jobyard.api.auth import PUBLIC
from jobyard.api.endpoint import Call, Endpoints

ENDPOINTS = Endpoints("ops")

HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
}


@ENDPOINTS.get("/healthz", roles=PUBLIC, response=HEALTH_SCHEMA, errors=(503,))
def healthz(call: Call) -> Any:
    """Health: 200 when the database answers, 503 when it does not."""
    try:
        call.state.yard.count()
    except Exception as exc:  # any failure to reach the database is "unhealthy", not a 500
        return JSONResponse({"status": "unhealthy", "database": type(exc).__name__}, 503)
    return {"status": "ok", "database": "ok"}
