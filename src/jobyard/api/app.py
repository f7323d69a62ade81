"""``create_app``: the Starlette application of the HTTP API (and, later, the web UI).

The endpoint modules are listed in :data:`MODULES`; each has an ``ENDPOINTS`` table
(:class:`jobyard.api.endpoint.Endpoints`). Importing them has no side effect beyond
declaring their endpoints.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jobyard.api import errors as api_errors
from jobyard.api.auth import PUBLIC, Authenticator
from jobyard.api.endpoint import Endpoint, Endpoints, error_response, wrap
from jobyard.api.language import Language
from jobyard.i18n import _

if TYPE_CHECKING:
    from jobyard.yard import Yard

# Endpoint modules, in the order of the OpenAPI document.
MODULES: tuple[str, ...] = (
    "jobyard.api.ops",
    "jobyard.api.jobs",
    "jobyard.api.catalog",
    "jobyard.api.sites",
    "jobyard.api.accounts",
    "jobyard.api.accounts_admin",
    "jobyard.api.openapi",
    "jobyard.api.stream",
    "jobyard.api.metrics",
    "jobyard.api.work",
    "jobyard.api.work_wait",
    "jobyard.api.work_holds",
    "jobyard.api.slack",
)


@dataclass
class AppState:
    """What every handler may reach: the Yard (through its ports and views), the
    authenticator, and the app's settings. ``extra`` is for wings that add their own
    long-lived parts (the event fan-out, metrics)."""

    yard: Yard
    auth: Authenticator
    max_body: int = 1 << 20
    extra: dict[str, Any] = field(default_factory=dict)
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def endpoints(modules: Sequence[str] = MODULES) -> list[Endpoint]:
    """Every declared endpoint (the role table and the OpenAPI document read this)."""
    found: list[Endpoint] = []
    for name in modules:
        table = importlib.import_module(name).ENDPOINTS
        assert isinstance(table, Endpoints)
        found.extend(table.items)
    return found


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(
        api_errors.ApiError(404, "not_found", _("no such path: {path}", path=request.url.path))
    )


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(
        api_errors.ApiError(
            405,
            "method_not_allowed",
            _("{method} is not allowed on {path}", method=request.method, path=request.url.path),
        )
    )


def create_app(
    yard: Yard,
    auth: Authenticator,
    *,
    max_body: int | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    extra: dict[str, Any] | None = None,
) -> Starlette:
    """The API app on ``yard`` with ``auth``. ``max_body`` caps a request body (default:
    the job data limit plus room for the other fields)."""
    limit = max_body or yard.config.max_data_bytes + yard.config.max_props_bytes + 64 * 1024
    state = AppState(yard=yard, auth=auth, max_body=limit, extra=dict(extra or {}))
    eps = endpoints()
    web = yard.config.raw.get("web", {})
    if isinstance(web, dict) and web.get("metrics_public", False):  # for a Prometheus scraper
        eps = [replace(ep, roles=PUBLIC) if ep.name == "GET /metrics" else ep for ep in eps]
    routes: list[BaseRoute] = [
        Route(ep.path, wrap(ep, state), methods=[ep.method], name=ep.name) for ep in eps
    ]
    routes.extend(extra_routes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for stop in state.on_shutdown:  # the long-lived parts wings started (the fan-out)
            await stop()

    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _method_not_allowed},
        lifespan=lifespan,
    )
    app.add_middleware(Language)
    app.state.jobyard = state
    app.state.endpoints = eps
    return app
