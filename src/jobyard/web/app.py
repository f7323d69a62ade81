"""``create_web_app``: the API app plus the pages, the static files and the security
headers every response carries (a strict CSP: scripts and styles only from /static)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobyard.api import errors as api_errors
from jobyard.api.app import AppState, create_app
from jobyard.api.auth import Authenticator
from jobyard.api.endpoint import error_response
from jobyard.i18n import _
from jobyard.web.page import Page, Pages, error_page, wrap

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from jobyard.yard import Yard

PAGE_MODULES: tuple[str, ...] = (
    "jobyard.web.pages_jobs",
    "jobyard.web.pages_types",
    "jobyard.web.pages_misc",
    "jobyard.web.pages_sites",
    "jobyard.web.pages_accounts",
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
STATIC_CACHE = b"public, max-age=3600"


class SecurityHeaders:
    """Adds the security headers to every response, and cache headers to static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _unused in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if static:
                    headers.append((b"cache-control", STATIC_CACHE))
                elif b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def pages(modules: Sequence[str] = PAGE_MODULES) -> list[Page]:
    found: list[Page] = []
    for name in modules:
        table = importlib.import_module(name).PAGES
        assert isinstance(table, Pages)
        found.extend(table.items)
    return found


def page_routes(state_ref: list[AppState]) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for page in pages():
        routes.append(Route(page.path, _late(page, state_ref), methods=[page.method]))
    static = StaticFiles(packages=[("jobyard.web", "static")])
    routes.append(Mount("/static", app=static, name="static"))
    return routes


def _late(page: Page, state_ref: list[AppState]) -> Any:
    """The page's wrapper, bound once the app (and so its state) exists."""
    holder: dict[str, Any] = {}

    async def asgi(request: Any) -> Any:
        if "fn" not in holder:
            holder["fn"] = wrap(page, state_ref[0])
        return await holder["fn"](request)

    return asgi


def create_web_app(yard: Yard, auth: Authenticator, **options: Any) -> Starlette:
    """The HTTP API with the web UI's pages on the same app and auth."""
    state_ref: list[AppState] = []
    app = create_app(yard, auth, extra_routes=page_routes(state_ref), **options)
    state_ref.append(app.state.jobyard)
    app.state.pages = pages()
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(404, _not_found)
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    """A 404 page for people, the JSON error for API clients."""
    if request.url.path.startswith("/api/"):
        return error_response(
            api_errors.ApiError(404, "not_found", _("no such path: {path}", path=request.url.path))
        )
    return error_page(request, None, 404, _("there is no page at {path}", path=request.url.path))
