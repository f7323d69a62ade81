"""Admin endpoints of the accounts: users, API tokens and the audit log (ADMIN only).

A token's secret is in the answer of its creation only; no listing shows a secret, a
password or a password hash."""

from __future__ import annotations

from typing import Any

from jobyard import accounts
from jobyard.account_views import audit_view, token_view, user_view
from jobyard.api.accounts import forget_credentials, text_field
from jobyard.api.auth import ADMIN
from jobyard.api.endpoint import Call, Endpoints, Param

ENDPOINTS = Endpoints("accounts")

_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
OK = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}
USER = {
    "type": "object",
    "required": ["name", "role", "created"],
    "properties": {"name": _STR, "role": _STR, "lang": _OPT_STR, "created": _STR},
}
TOKEN = {
    "type": "object",
    "required": ["id", "name", "role", "prefix", "created", "expires", "revoked", "last_used"],
    "properties": {
        "id": {"type": "integer"},
        "name": _STR,
        "role": _STR,
        "user": _OPT_STR,
        "prefix": _STR,
        "created": _STR,
        "expires": _OPT_STR,
        "revoked": _OPT_STR,
        "last_used": _OPT_STR,
        "token": _STR,  # only in the answer of POST /api/v1/tokens
    },
}
AUDIT_ENTRY = {
    "type": "object",
    "required": ["id", "time", "action", "target", "outcome"],
    "properties": {
        "id": {"type": "integer"},
        "time": _STR,
        "actor": _OPT_STR,
        "role": _OPT_STR,
        "via": _OPT_STR,
        "action": _STR,
        "target": _STR,
        "address": _OPT_STR,
        "outcome": _STR,
        "detail": {"type": "object"},
    },
}


USERS = {
    "type": "object",
    "required": ["users"],
    "properties": {"users": {"type": "array", "items": USER}},
}


@ENDPOINTS.get("/api/v1/users", roles=ADMIN, response=USERS)
def users(call: Call) -> Any:
    """Every user (never a password or its hash)."""
    return {"users": [user_view(u) for u in call.state.yard.store.users()]}


USER_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "role", "password"],
    "properties": {"name": _STR, "role": {"enum": list(accounts.USER_ROLES)}, "password": _STR},
}


@ENDPOINTS.post("/api/v1/users", roles=ADMIN, body=USER_BODY, status=201, response=USER)
def add_user(call: Call) -> Any:
    """Add a user (roles viewer, operator, admin; a password of at least 8 characters)."""
    b = call.body
    name, role = text_field(b, "name"), text_field(b, "role")
    user = accounts.add_user(call.state.yard.store, name, role, text_field(b, "password"))
    return user_view(user)


@ENDPOINTS.delete("/api/v1/users/{name}", roles=ADMIN, response=OK, errors=(404,))
def remove_user(call: Call) -> Any:
    """Remove a user with their sessions and tokens (never the last admin)."""
    accounts.remove_user(call.state.yard.store, str(call.path["name"]))
    forget_credentials(call)
    return {"ok": True}


TOKENS = {
    "type": "object",
    "required": ["tokens"],
    "properties": {"tokens": {"type": "array", "items": TOKEN}},
}


@ENDPOINTS.get("/api/v1/tokens", roles=ADMIN, response=TOKENS)
def tokens(call: Call) -> Any:
    """Every API token (never its secret)."""
    store = call.state.yard.store
    owners = {u.id: u.name for u in store.users()}
    return {"tokens": [token_view(t, owners) for t in store.tokens()]}


TOKEN_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "role"],
    "properties": {
        "name": _STR,
        "role": {"enum": list(accounts.ROLES)},
        "expires": {"type": "string", "description": "30d, 12h, 90m, seconds or never; 90d"},
        "user": {"type": "string", "description": "the user it belongs to (removed with them)"},
    },
}


@ENDPOINTS.post("/api/v1/tokens", roles=ADMIN, body=TOKEN_BODY, status=201, response=TOKEN)
def create_token(call: Call) -> Any:
    """Create an API token; its secret (``token``) is in this answer only."""
    b = call.body
    expires = accounts.parse_expiry(text_field(b, "expires", "90d"))
    user = text_field(b, "user", None)
    store = call.state.yard.store
    new = accounts.create_token(store, text_field(b, "name"), text_field(b, "role"), expires, user)
    owners = {new.row.user_id: user} if new.row.user_id is not None and user else {}
    return {**token_view(new.row, owners), "token": new.secret}


@ENDPOINTS.delete("/api/v1/tokens/{id}", roles=ADMIN, response=OK, errors=(404,))
def revoke_token(call: Call) -> Any:
    """Revoke an API token (every server refuses it within seconds; this one at once)."""
    accounts.revoke_token(call.state.yard.store, call.path_int("id"))
    forget_credentials(call)
    return {"ok": True}


AUDIT_PAGE = {
    "type": "object",
    "required": ["entries", "next"],
    "properties": {
        "entries": {"type": "array", "items": AUDIT_ENTRY},
        "next": {"type": ["integer", "null"]},
    },
}
_TIME = {"type": "number", "minimum": 0}


@ENDPOINTS.get(
    "/api/v1/audit",
    roles=ADMIN,
    response=AUDIT_PAGE,
    params=(
        Param("actor", description="a user or token name"),
        Param("action", description='e.g. "POST /api/v1/jobs" or "login"'),
        Param("outcome", description="ok, refused or failed"),
        Param("since", schema=_TIME, description="Unix time: entries at or after it"),
        Param("cursor", schema={"type": "integer", "minimum": 1}, description="next of a page"),
        Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
    ),
)
def audit(call: Call) -> Any:
    """The audit log, newest first; pass ``next`` back as ``cursor`` for older entries."""
    limit = call.query_int("limit", 100, 1, 1000) or 100
    before = call.query_int("cursor", None, 1)
    since = call.query_int("since", None, 0)
    rows = accounts.audit_page(
        call.state.yard.store,
        call.query("actor"),
        call.query("action"),
        before,
        limit + 1,
        outcome=call.query("outcome"),
        since=None if since is None else float(since),
    )
    shown = rows[:limit]
    return {
        "entries": [audit_view(r) for r in shown],
        "next": shown[-1].id if len(rows) > limit else None,
    }
