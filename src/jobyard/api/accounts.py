"""The real authenticator (tokens and sessions from the store) and the account
endpoints: login/logout/me, the first-admin setup, users, tokens and the audit log."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobyard import accounts
from jobyard.api.auth import ADMIN, PUBLIC, READ, WORK, Principal, Role
from jobyard.api.endpoint import JSON, Call, Endpoints, Param
from jobyard.errors import AuthError, InvalidInput
from jobyard.model import iso

if TYPE_CHECKING:
    from jobyard.store.accounts import TokenRow
    from jobyard.yard import Yard

ENDPOINTS = Endpoints("accounts")

COOKIE = "jobyard_session"
CACHE_SECONDS = 5.0  # a revoked token or ended session is refused within this long


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


class StoreAuth:
    """Bearer tokens and session cookies checked against the store, with a short cache
    (a hot API must not hash and query per request; revocation is seen within
    ``CACHE_SECONDS``, and at once in the process that revoked)."""

    enabled = True

    def __init__(self, yard: Yard, secure_cookies: bool = False) -> None:
        self.yard = yard
        self.secure_cookies = secure_cookies
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def _cached(self, key: str, now: float) -> tuple[bool, Principal | None]:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return True, hit[1]
        return False, None

    def _remember(self, key: str, now: float, principal: Principal | None) -> None:
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now, principal)

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
                self._remember(key, now, principal)
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
            self._remember(key, now, principal)
        return principal

    def audit(
        self, principal: Principal | None, action: str, target: str, detail: dict[str, Any]
    ) -> None:
        detail = dict(detail)
        address = detail.pop("address", None)
        accounts.audit(
            self.yard.store,
            principal.name if principal else None,
            principal.role if principal else None,
            principal.via if principal else None,
            action,
            target,
            address,
            str(detail.pop("outcome", "ok")),
            detail,
        )


def _token_principal(row: TokenRow) -> Principal:
    role: Role = row.role  # type: ignore[assignment]
    return Principal(row.name, role, "token", user_id=row.user_id, token_id=row.id)


def _store_auth(call: Call) -> StoreAuth:
    auth = call.state.auth
    if not isinstance(auth, StoreAuth):
        raise InvalidInput("this server runs without authentication (--no-auth)")
    return auth


def start_session(call: Call, name: str, password: str) -> accounts.NewSession:
    """Log in (audited either way); the caller sets the cookie with :func:`set_cookie`."""
    auth = _store_auth(call)
    address = client_address(call.request)
    try:
        session = accounts.login(call.state.yard.store, name, password, address)
    except AuthError as exc:
        detail = {"address": address, "outcome": "refused", "reason": type(exc).__name__}
        auth.audit(None, "login", str(name)[:100], detail)
        raise
    role: Role = session.user.role  # type: ignore[assignment]
    auth.audit(
        Principal(session.user.name, role, "session"),
        "login",
        session.user.name,
        {"address": address},
    )
    return session


def set_cookie(call: Call, response: Response, session: accounts.NewSession) -> Response:
    response.set_cookie(
        COOKIE,
        session.secret,
        max_age=accounts.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_store_auth(call).secure_cookies,
        path="/",
    )
    return response


def end_session(call: Call, response: Response) -> Response:
    secret = call.request.cookies.get(COOKIE, "")
    if secret:
        accounts.logout(call.state.yard.store, secret)
        _store_auth(call).forget()
    response.delete_cookie(COOKIE, path="/")
    return response


# -- endpoints --------------------------------------------------------------------------

_STR = {"type": "string"}
LOGIN_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["username", "password"],
    "properties": {"username": _STR, "password": _STR},
}
ME = {
    "type": "object",
    "required": ["name", "role", "via"],
    "properties": {"name": _STR, "role": _STR, "via": _STR, "csrf": {"type": ["string", "null"]}},
}


@ENDPOINTS.post("/api/v1/login", roles=PUBLIC, body=LOGIN_BODY, response=ME, errors=(401, 429))
def login(call: Call) -> Response:
    """Log in with a user name and password: a session cookie and its CSRF token."""
    session = start_session(call, call.body["username"], call.body["password"])
    user = session.user
    body = {"name": user.name, "role": user.role, "via": "session", "csrf": session.csrf}
    return set_cookie(call, JSON(body), session)


@ENDPOINTS.post("/api/v1/logout", roles=READ, audit=True)
def logout(call: Call) -> Response:
    """End this browser session."""
    return end_session(call, JSONResponse({"ok": True}))


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


@ENDPOINTS.post("/api/v1/setup", roles=PUBLIC, body=SETUP_BODY, status=201, errors=(401,))
def setup(call: Call) -> Any:
    """Create the first admin with the one-time setup link's token."""
    b = call.body
    user = accounts.setup_admin(call.state.yard.store, b["token"], b["username"], b["password"])
    p = Principal(user.name, "admin", "none")
    _store_auth(call).audit(p, "setup", user.name, {"address": client_address(call.request)})
    return {"name": user.name, "role": user.role}


def _user(u: Any) -> dict[str, Any]:
    return {"name": u.name, "role": u.role, "created": iso(u.created)}


def _token(t: TokenRow) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "role": t.role,
        "prefix": t.prefix,
        "created": iso(t.created),
        "expires": iso(t.expires),
        "revoked": iso(t.revoked),
        "last_used": iso(t.last_used),
    }


@ENDPOINTS.get("/api/v1/users", roles=ADMIN)
def users(call: Call) -> Any:
    """Every user (never a password hash)."""
    return {"users": [_user(u) for u in call.state.yard.store.users()]}


USER_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "role", "password"],
    "properties": {"name": _STR, "role": {"enum": list(accounts.USER_ROLES)}, "password": _STR},
}


@ENDPOINTS.post("/api/v1/users", roles=ADMIN, body=USER_BODY, status=201)
def add_user(call: Call) -> Any:
    """Add a user."""
    b = call.body
    return _user(accounts.add_user(call.state.yard.store, b["name"], b["role"], b["password"]))


@ENDPOINTS.delete("/api/v1/users/{name}", roles=ADMIN)
def remove_user(call: Call) -> Any:
    """Remove a user, their sessions and tokens."""
    accounts.remove_user(call.state.yard.store, str(call.path["name"]))
    _store_auth(call).forget()
    return {"ok": True}


@ENDPOINTS.get("/api/v1/tokens", roles=ADMIN)
def tokens(call: Call) -> Any:
    """Every API token (never its secret)."""
    return {"tokens": [_token(t) for t in call.state.yard.store.tokens()]}


TOKEN_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "role"],
    "properties": {
        "name": _STR,
        "role": {"enum": list(accounts.ROLES)},
        "expires": _STR,
        "user": _STR,
    },
}


@ENDPOINTS.post("/api/v1/tokens", roles=ADMIN, body=TOKEN_BODY, status=201)
def create_token(call: Call) -> Any:
    """Create an API token; its secret is in this response only."""
    b = call.body
    expires = accounts.parse_expiry(b.get("expires", "90d"))
    new = accounts.create_token(call.state.yard.store, b["name"], b["role"], expires, b.get("user"))
    return {**_token(new.row), "token": new.secret}


@ENDPOINTS.delete("/api/v1/tokens/{id}", roles=ADMIN)
def revoke_token(call: Call) -> Any:
    """Revoke an API token."""
    accounts.revoke_token(call.state.yard.store, call.path_int("id"))
    _store_auth(call).forget()
    return {"ok": True}


@ENDPOINTS.get(
    "/api/v1/audit",
    roles=ADMIN,
    params=(
        Param("actor"),
        Param("action"),
        Param("before", schema={"type": "integer", "minimum": 1}),
        Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
    ),
)
def audit(call: Call) -> Any:
    """The audit log, newest first (cursor: ``before`` = the last id you saw)."""
    limit = call.query_int("limit", 100, 1, 1000) or 100
    before = call.query_int("before", None, 1)
    rows = accounts.audit_page(
        call.state.yard.store, call.query("actor"), call.query("action"), before, limit + 1
    )
    shown = rows[:limit]
    return {
        "entries": [
            {
                "id": r.id,
                "time": iso(r.time),
                "actor": r.actor,
                "role": r.role,
                "via": r.via,
                "action": r.action,
                "target": r.target,
                "address": r.address,
                "outcome": r.outcome,
                "detail": r.detail,
            }
            for r in shown
        ],
        "next": shown[-1].id if len(rows) > limit else None,
    }
