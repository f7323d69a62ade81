"""The real authenticator (:class:`StoreAuth`: API tokens and session cookies from the
store) and the session endpoints: login, logout, me and the first-admin setup. The admin
endpoints (users, tokens, audit) are in :mod:`jobyard.api.accounts_admin`."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from jobyard import accounts
from jobyard.api.auth import PUBLIC, READ, WORK, Principal, Role
from jobyard.api.endpoint import JSON, Call, Endpoints
from jobyard.errors import AuthError, InvalidInput, RateLimited
from jobyard.i18n import _

if TYPE_CHECKING:
    from jobyard.store.accounts import TokenRow
    from jobyard.yard import Yard

ENDPOINTS = Endpoints("accounts")

COOKIE = "jobyard_session"
CACHE_SECONDS = 5.0  # a revoked token or ended session is refused within this long
CACHE_ENTRIES = 10_000


def client_address(request: Request) -> str | None:
    """The peer's address (no X-Forwarded-For: a client could send any; docs/auth.md)."""
    return request.client.host if request.client else None


class StoreAuth:
    """Bearer tokens and session cookies checked against the store, with a short cache:
    a hot API must not hash and query on every request. A revoked token or ended session
    is refused within ``CACHE_SECONDS`` by every server, at once by the one that did it;
    an entry never outlives the token's or session's own expiry."""

    enabled = True

    def __init__(self, yard: Yard, secure_cookies: bool = False) -> None:
        self.yard = yard
        self.secure_cookies = secure_cookies
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal | None]] = {}  # key -> (until, who)

    def _cached(self, key: str, now: float) -> tuple[bool, Principal | None]:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now < hit[0]:
            return True, hit[1]
        return False, None

    def _remember(
        self, key: str, now: float, principal: Principal | None, expires: float | None
    ) -> None:
        until = now + CACHE_SECONDS if expires is None else min(now + CACHE_SECONDS, expires)
        with self._lock:
            if len(self._cache) >= CACHE_ENTRIES:  # bogus tokens must not grow it forever
                self._cache.clear()
            self._cache[key] = (until, principal)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def authenticate(self, request: Request) -> Principal | None:
        now = time.time()
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            secret = header[7:].strip()
            key = "t:" + accounts.digest(secret)
            found, principal = self._cached(key, now)
            if not found:
                row = accounts.check_token(self.yard.store, secret, now)
                principal = _token_principal(row) if row else None
                self._remember(key, now, principal, row.expires if row else None)
            return principal
        secret = request.cookies.get(COOKIE, "")
        if not secret:
            return None
        key = "s:" + accounts.digest(secret)
        found, principal = self._cached(key, now)
        if not found:
            session = accounts.check_session(self.yard.store, secret, now)
            principal = None
            if session is not None:
                role: Role = session.role  # type: ignore[assignment]
                principal = Principal(
                    session.name, role, "session", user_id=session.user_id, csrf=session.csrf
                )
            self._remember(key, now, principal, session.expires if session else None)
        return principal

    def audit(
        self, principal: Principal | None, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        """``detail`` may carry ``address`` and ``outcome`` (default ok); the rest is kept
        as given (never a body: the wrapper passes the status only)."""
        detail = dict(detail)
        address = detail.pop("address", None)
        outcome = str(detail.pop("outcome", "ok"))
        if principal is not None and principal.token_id is not None:
            detail["token"] = principal.token_id
        accounts.audit(
            self.yard.store,
            principal.name if principal else None,
            principal.role if principal else None,
            principal.via if principal else None,
            action,
            target,
            address,
            outcome,
            detail,
        )


def _token_principal(row: TokenRow) -> Principal:
    role: Role = row.role  # type: ignore[assignment]
    return Principal(row.name, role, "token", user_id=row.user_id, token_id=row.id)


def _store_auth(call: Call) -> StoreAuth:
    auth = call.state.auth
    if not isinstance(auth, StoreAuth):
        raise InvalidInput(_("this server runs without authentication (--no-auth)"))
    return auth


def forget_credentials(call: Call) -> None:
    """After a revocation or removal: this server stops trusting its cache at once."""
    auth = call.state.auth
    if isinstance(auth, StoreAuth):
        auth.forget()


def text_field(body: Mapping[str, Any], name: str, default: Any = ...) -> Any:
    """A body field that must be a string (``default`` when absent, if given)."""
    if name not in body and default is not ...:
        return default
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidInput(
            _("{name} must be a string, got {name2}", name=name, name2=type(value).__name__)
        )
    return value


def start_session(call: Call, name: str, password: str) -> accounts.NewSession:
    """Log in (audited either way); the caller sets the cookie with :func:`set_cookie`."""
    auth = _store_auth(call)
    address = client_address(call.request)
    try:
        session = accounts.login(call.state.yard.store, name, password, address)
    except RateLimited:
        raise  # not audited: the failures that led here are, and a flood must not grow it
    except AuthError:
        detail = {"address": address, "outcome": "refused"}
        auth.audit(None, "login", str(name)[:100], detail)
        raise
    role: Role = session.user.role  # type: ignore[assignment]
    who = Principal(session.user.name, role, "session", user_id=session.user.id)
    auth.audit(who, "login", session.user.name, {"address": address})
    return session


def set_cookie(call: Call, response: Response, session: accounts.NewSession) -> Response:
    """The session cookie: HttpOnly, SameSite=Lax, Secure over https or with
    ``[web] secure_cookies`` (a TLS proxy in front)."""
    secure = _store_auth(call).secure_cookies or call.request.url.scheme == "https"
    response.set_cookie(
        COOKIE,
        session.secret,
        max_age=accounts.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    return response


def end_session(call: Call, response: Response) -> Response:
    secret = call.request.cookies.get(COOKIE, "")
    if secret:
        accounts.logout(call.state.yard.store, secret)
        forget_credentials(call)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _local_path(text: Any) -> str | None:
    # Only a path on this server: an open redirect would help phishing.
    if isinstance(text, str) and text.startswith("/") and not text.startswith(("//", "/\\")):
        return text
    return None


# -- endpoints --------------------------------------------------------------------------

_STR = {"type": "string"}
LOGIN_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["username", "password"],
    "properties": {
        "username": _STR,
        "password": _STR,
        "next": {"type": "string", "description": "forms: a local path to go to (303)"},
    },
}
ME = {
    "type": "object",
    "required": ["name", "role", "via"],
    "properties": {"name": _STR, "role": _STR, "via": _STR, "csrf": {"type": ["string", "null"]}},
}


@ENDPOINTS.post(
    "/api/v1/login",
    roles=PUBLIC,
    body=LOGIN_BODY,
    response=ME,
    errors=(401, 429),
    form=True,
    audit=False,  # audited by start_session, refused logins too
)
def login(call: Call) -> Response:
    """Log in with a user name and password (JSON, or a form with fields ``username`` and
    ``password``): a session cookie, and the CSRF token that session's changes need."""
    b = call.body
    session = start_session(call, text_field(b, "username"), text_field(b, "password"))
    user = session.user
    nxt = _local_path(b.get("next"))
    if nxt is not None:
        return set_cookie(call, RedirectResponse(nxt, 303), session)
    body = {"name": user.name, "role": user.role, "via": "session", "csrf": session.csrf}
    return set_cookie(call, JSON(body), session)


LOGOUT_BODY = {"type": "object", "additionalProperties": False, "properties": {}}


@ENDPOINTS.post(
    "/api/v1/logout", roles=READ, body=LOGOUT_BODY, body_required=False, form=True, response=ME
)
def logout(call: Call) -> Response:
    """End this browser session (a form may post its ``csrf_token``)."""
    p = call.principal
    body = {"name": p.name, "role": p.role, "via": p.via, "csrf": None}
    return end_session(call, JSONResponse(body))


@ENDPOINTS.get("/api/v1/me", roles=READ | WORK, response=ME)
def me(call: Call) -> Any:
    """Who the caller is (and, for a session, its CSRF token)."""
    p = call.principal
    return {"name": p.name, "role": p.role, "via": p.via, "csrf": p.csrf}


SETUP_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["token", "username", "password"],
    "properties": {"token": _STR, "username": _STR, "password": _STR},
}
SETUP_DONE = {
    "type": "object",
    "required": ["name", "role"],
    "properties": {"name": _STR, "role": _STR},
}


@ENDPOINTS.post(
    "/api/v1/setup",
    roles=PUBLIC,
    body=SETUP_BODY,
    status=201,
    response=SETUP_DONE,
    errors=(401,),
    form=True,
    audit=False,  # audited below, with the new admin as the actor
)
def setup(call: Call) -> Any:
    """Create the first admin with the one-time setup link's token (only while there is
    no user at all; the link works once)."""
    b = call.body
    token, name = text_field(b, "token"), text_field(b, "username")
    auth = _store_auth(call)
    try:
        user = accounts.setup_admin(call.state.yard.store, token, name, text_field(b, "password"))
    except AuthError:
        detail = {"address": client_address(call.request), "outcome": "refused"}
        auth.audit(None, "setup", name[:100], detail)
        raise
    p = Principal(user.name, "admin", "none", user_id=user.id)
    auth.audit(p, "setup", user.name, {"address": client_address(call.request)})
    return {"name": user.name, "role": user.role}
