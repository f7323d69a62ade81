"""Page declarations and the one wrapper every page runs in (the web twin of
:mod:`jobyard.api.endpoint`): the caller from the app's Authenticator (no caller: to
``/login``), the page's roles (else a 403 page), CSRF on every form post (the session's
token in a ``csrf_token`` field), the form body read within a bound, the handler in a
worker thread, and every error as an HTML page with its status — never a traceback."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from jobyard import accounts, i18n
from jobyard.api import errors as api_errors
from jobyard.api.auth import READ, Principal, Role
from jobyard.api.endpoint import CSRF_FORM_FIELD, CSRF_HEADER, Call
from jobyard.api.language import from_query
from jobyard.i18n import N_, _
from jobyard.web.render import render

if TYPE_CHECKING:
    from jobyard.api.app import AppState

log = logging.getLogger("jobyard.web")

MAX_FORM_BYTES = 256 * 1024


@dataclass
class View:
    """A page to render: its template and context (the wrapper adds the common parts)."""

    template: str
    context: dict[str, Any]
    status: int = 200


PageHandler = Callable[[Call], "View | Response"]


@dataclass
class Page:
    method: str
    path: str
    roles: frozenset[Role]
    handler: PageHandler
    title: str
    public: bool = False  # the login and setup pages

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


class Pages:
    def __init__(self) -> None:
        self.items: list[Page] = []

    def add(
        self, method: str, path: str, roles: Iterable[Role], title: str, public: bool = False
    ) -> Callable[[PageHandler], PageHandler]:
        def deco(fn: PageHandler) -> PageHandler:
            self.items.append(Page(method, path, frozenset(roles), fn, title, public))
            return fn

        return deco

    def get(
        self, path: str, title: str, roles: Iterable[Role] = READ, public: bool = False
    ) -> Callable[[PageHandler], PageHandler]:
        return self.add("GET", path, roles, title, public)

    def post(
        self, path: str, title: str, roles: Iterable[Role], public: bool = False
    ) -> Callable[[PageHandler], PageHandler]:
        return self.add("POST", path, roles, title, public)


# Each language named in itself, for the switch in the page header.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def can(principal: Principal | None, roles: Iterable[Role]) -> bool:
    return principal is not None and (principal.via == "none" or principal.role in roles)


def common(call_principal: Principal | None, request: Request, title: str) -> dict[str, Any]:
    p = call_principal
    lang = i18n.current()
    return {
        # Titles are msgids (N_ in the page tables) or already-made text: gettext only, no
        # formatting, so a name with braces in a title is shown as it is.
        "title": i18n.gettext_now(title),
        "lang": lang,
        "languages": LANGUAGE_NAMES,
        "me": p,
        "can_manage": can(p, ("operator", "admin")),
        "is_admin": can(p, ("admin",)),
        "csrf": (p.csrf if p else None) or "",
        "path": request.url.path,
        "auth_on": p is not None and p.via != "none",
    }


def html(view: View, principal: Principal | None, request: Request, title: str) -> HTMLResponse:
    ctx = {**common(principal, request, title), **view.context}
    return HTMLResponse(render(view.template, **ctx), view.status)


def error_page(
    request: Request, principal: Principal | None, status: int, message: str
) -> HTMLResponse:
    titles = {
        403: N_("Forbidden"),
        404: N_("Not found"),
        409: N_("Not allowed now"),
        413: N_("Too large"),
    }
    title = titles.get(status, N_("Error") if status < 500 else N_("Server error"))
    view = View("error.html", {"status": status, "message": message}, status)
    return html(view, principal, request, title)


async def read_form(request: Request) -> dict[str, list[str]]:
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise api_errors.too_large(
                _("the form is over {MAX_FORM_BYTES} bytes", MAX_FORM_BYTES=MAX_FORM_BYTES)
            )
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise api_errors.bad_request(_("the form is not UTF-8")) from None
    return parse_qs(text, keep_blank_values=True, max_num_fields=2000)


def _csrf_ok(principal: Principal, request: Request, form: dict[str, list[str]]) -> bool:
    if principal.via != "session":
        return True  # a token is not sent by a browser on its own; no-auth has no session
    given = (form.get(CSRF_FORM_FIELD) or [""])[0] or request.headers.get(CSRF_HEADER, "")
    return bool(principal.csrf and given and hmac.compare_digest(principal.csrf, given))


async def _remember_language(
    state: AppState, principal: Principal | None, page: Page, request: Request
) -> None:
    """The language switch (``?lang=``) used by a logged-in user is kept with their
    account, so the answers to them elsewhere (Slack) follow it."""
    asked = from_query(request.scope) if page.method == "GET" else None
    if asked and principal is not None and principal.via == "session" and principal.user_id:
        store = state.yard.store
        await run_in_threadpool(accounts.remember_language, store, principal.user_id, asked)


def wrap(page: Page, state: AppState) -> Callable[[Request], Any]:
    async def asgi(request: Request) -> Response:
        principal: Principal | None = None
        try:
            principal = await run_in_threadpool(state.auth.authenticate, request)
            await _remember_language(state, principal, page, request)
            if not page.public:
                if principal is None:
                    if page.method == "GET":
                        target = request.url.path + (
                            "?" + request.url.query if request.url.query else ""
                        )
                        return RedirectResponse("/login?next=" + quote(target, safe=""), 303)
                    raise api_errors.unauthorized(_("log in first"))
                if not can(principal, page.roles):
                    raise api_errors.forbidden(
                        _("your role ({role}) may not open this page", role=principal.role)
                        if page.method == "GET"
                        else _("your role ({role}) may not do this", role=principal.role)
                    )
            call = Call(request, principal or Principal("anonymous", "viewer", "none"), state)
            if page.method == "POST":
                form = await read_form(request)
                if (
                    principal is not None
                    and not page.public
                    and not _csrf_ok(principal, request, form)
                ):
                    raise api_errors.forbidden(
                        _("the form's CSRF token is missing or wrong; reload the page")
                    )
                call.body = form
            result = await run_in_threadpool(page.handler, call)
            if page.method == "POST" and state.auth.enabled and not page.public:
                await run_in_threadpool(
                    state.auth.audit, principal, page.name, request.url.path, {"via": "web"}
                )
            if isinstance(result, Response):
                return result
            return html(result, principal, request, page.title)
        except Exception as exc:  # one mapping; a server fault keeps its traceback in the log
            err = api_errors.from_exception(exc)
            if err.status >= 500:
                log.error("%s %s failed", page.method, request.url.path, exc_info=exc)
            return error_page(request, principal, err.status, err.message)

    asgi.__name__ = page.handler.__name__
    return asgi


def form_value(call: Call, name: str, default: str = "") -> str:
    form: dict[str, list[str]] = call.body or {}
    values = form.get(name)
    return values[0] if values else default
