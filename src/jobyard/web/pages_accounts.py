"""Login, logout, the first-admin setup page, and the admin pages: users and tokens, the
audit log."""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from jobyard import accounts
from jobyard.api.accounts import end_session, set_cookie, start_session
from jobyard.api.auth import ADMIN, READ
from jobyard.api.endpoint import Call
from jobyard.errors import AuthError, InvalidInput
from jobyard.i18n import N_, _
from jobyard.web.page import Pages, View, form_value

PAGES = Pages()


def _next(text: str) -> str:
    return text if text.startswith("/") and not text.startswith("//") else "/"


@PAGES.post("/login", N_("Log in"), roles=(), public=True)
def login_submit(call: Call) -> View | Response:
    nxt = _next(form_value(call, "next", "/"))
    try:
        session = start_session(call, form_value(call, "username"), form_value(call, "password"))
    except AuthError as exc:
        return View("login.html", {"next": nxt, "error": str(exc)}, 401)
    return set_cookie(call, RedirectResponse(nxt, 303), session)


@PAGES.post("/logout", N_("Log out"), roles=READ)
def logout_submit(call: Call) -> Response:
    return end_session(call, RedirectResponse("/login", 303))


@PAGES.get("/setup", N_("Set up the first admin"), roles=(), public=True)
def setup_page(call: Call) -> View:
    return View("setup.html", {"token": call.query("token") or "", "error": None})


@PAGES.post("/setup", N_("Set up the first admin"), roles=(), public=True)
def setup_submit(call: Call) -> View | Response:
    token = form_value(call, "token")
    name, password = form_value(call, "username"), form_value(call, "password")
    try:
        accounts.setup_admin(call.state.yard.store, token, name, password)
        session = start_session(call, name, password)
    except (AuthError, InvalidInput) as exc:
        return View("setup.html", {"token": token, "error": str(exc)}, 422)
    return set_cookie(call, RedirectResponse("/", 303), session)


@PAGES.get("/admin/users", N_("Users and tokens"), roles=ADMIN)
def users_page(call: Call) -> View:
    return _users_view(call)


def _users_view(call: Call) -> View:
    store = call.state.yard.store
    return View(
        "users.html",
        {
            "users": store.users(),
            "tokens": store.tokens(),
            "roles": accounts.USER_ROLES,
            "token_roles": accounts.ROLES,
            "new_token": None,
            "error": None,
        },
    )


@PAGES.post("/admin/users", N_("Users and tokens"), roles=ADMIN)
def users_submit(call: Call) -> View | Response:
    store = call.state.yard.store
    what = form_value(call, "what")
    new_token: Any = None
    error = None
    try:
        if what == "user":
            accounts.add_user(
                store,
                form_value(call, "name"),
                form_value(call, "role"),
                form_value(call, "password"),
            )
        elif what == "remove-user":
            accounts.remove_user(store, form_value(call, "name"))
        elif what == "token":
            expires = accounts.parse_expiry(form_value(call, "expires") or "90d")
            new_token = accounts.create_token(
                store, form_value(call, "name"), form_value(call, "role"), expires
            )
        elif what == "revoke":
            try:
                token_id = int(form_value(call, "id"))
            except ValueError:
                raise InvalidInput(_("which token?")) from None
            accounts.revoke_token(store, token_id)
        else:
            raise InvalidInput(_("unknown action"))
    except InvalidInput as exc:
        error = str(exc)
    if new_token is None and error is None:
        return RedirectResponse("/admin/users", 303)
    view = _users_view(call)
    view.context.update(new_token=new_token, error=error)
    view.status = 422 if error else 201
    return view


@PAGES.get("/admin/audit", N_("Audit log"), roles=ADMIN)
def audit_page(call: Call) -> View:
    before = call.query_int("before", None, 1)
    actor = call.query("actor") or None
    rows = accounts.audit_page(call.state.yard.store, actor, None, before, 101)
    return View(
        "audit.html",
        {
            "rows": rows[:100],
            "next": rows[99].id if len(rows) > 100 else None,
            "actor": actor or "",
        },
    )
