"""Accounts policy: users, API tokens, browser sessions, the first-admin setup link,
login rate limiting and the audit log (docs/auth.md).

- Passwords are hashed with argon2id (argon2-cffi); at least 8 characters.
- Tokens, sessions and setup links are random (``secrets.token_urlsafe``, 256 bits) and
  stored only as their SHA-256: a high-entropy secret needs no slow hash, and a stolen
  database gives no usable credential. A token is printed once, when it is made.
- A failed login is counted per user name and per client address in the store, so every
  server process of one database sees the same count; past the limit a login is refused
  (RateLimited, HTTP 429) until the window has passed, even with the right password.
- The audit log records who did what, never a secret or a request body.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobyard import i18n
from jobyard.credentials import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    NAME_PATTERN,
    ROLES,
    TOKEN_PREFIX,
    USER_ROLES,
    check_name,
    check_password,
    check_role,
    digest,
    dummy_hash,
    hash_password,
    new_secret,
    parse_expiry,
    verify_password,
)
from jobyard.errors import AuthError, InvalidInput, NotFound, RateLimited
from jobyard.i18n import _
from jobyard.store import Store
from jobyard.store.accounts import AuditRow, SessionRow, TokenRow, UserRow

SESSION_SECONDS = 12 * 3600
SETUP_SECONDS = 3600
FAILURE_WINDOW = 60.0
MAX_USER_FAILURES = 5  # per user name and minute
MAX_ADDRESS_FAILURES = 20  # per client address and minute (many people may share one)
TOUCH_EVERY = 60.0  # a token's last-used time is written at most once a minute

# Re-exported: callers use ``accounts.check_name`` and friends.
__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "ROLES",
    "TOKEN_PREFIX",
    "USER_ROLES",
    "check_name",
    "check_password",
    "check_role",
    "digest",
    "hash_password",
    "parse_expiry",
    "verify_password",
]


# -- users ------------------------------------------------------------------------------


def add_user(store: Store, name: str, role: str, password: str) -> UserRow:
    check_name(name)
    check_role(role, USER_ROLES)
    hashed = hash_password(password)
    if store.user_by_name(name) is not None:
        raise InvalidInput(
            _("user {name!r} exists already; change it with `jobyard user passwd`", name=name)
        )
    store.insert_user(name, role, hashed, time.time())
    user = store.user_by_name(name)
    assert user is not None
    return user


def get_user(store: Store, name: str) -> UserRow:
    user = store.user_by_name(check_name(name))
    if user is None:
        raise NotFound(_("no user {name!r}", name=name))
    return user


def set_password(store: Store, name: str, password: str) -> None:
    """A new password ends the user's sessions (a stolen session dies with the old one)."""
    user = get_user(store, name)
    hashed = hash_password(password)
    with store.transaction():
        store.set_user_password(user.id, hashed, time.time())
        store.delete_sessions_of_user(user.id)


def _keep_an_admin(store: Store, user: UserRow, what: str) -> None:
    # Without an admin nobody can manage users through the API any more.
    if user.role == "admin" and store.count_users("admin") <= 1:
        raise InvalidInput(
            _(
                "{name!r} is the last admin: add another admin before {what}",
                name=user.name,
                what=what,
            )
        )


def set_role(store: Store, name: str, role: str) -> None:
    user = get_user(store, name)
    check_role(role, USER_ROLES)
    with store.transaction():
        if role != "admin":
            _keep_an_admin(store, user, "changing their role")
        store.set_user_role(user.id, role, time.time())


def set_language(store: Store, name: str, lang: str | None) -> UserRow:
    """Remember the language ``name`` reads (``ru``, ``ru_RU.UTF-8``, ...; None forgets
    it): the answers to them in Slack use it (docs/slack.md)."""
    user = get_user(store, name)
    chosen = None if lang is None else i18n.normalize(lang)
    if lang is not None and chosen is None:
        raise InvalidInput(
            _(
                "unknown language {value!r}; choose one of: {languages}",
                value=lang,
                languages=", ".join(i18n.LANGUAGES),
            )
        )
    if chosen != user.lang:
        store.set_user_lang(user.id, chosen, time.time())
    found = store.user_by_id(user.id)
    assert found is not None
    return found


def remember_language(store: Store, user_id: int, lang: str) -> None:
    """The web UI's language switch, used by a logged-in user: their choice is kept with
    the account (one write, only when it changes)."""
    user = store.user_by_id(user_id)
    chosen = i18n.normalize(lang)
    if user is not None and chosen is not None and chosen != user.lang:
        store.set_user_lang(user.id, chosen, time.time())


def remove_user(store: Store, name: str) -> None:
    """Remove a user with their sessions and tokens (never the last admin)."""
    user = get_user(store, name)
    with store.transaction():
        _keep_an_admin(store, user, "removing them")
        store.delete_user(user.id)


# -- tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    row: TokenRow
    secret: str  # shown once


def create_token(
    store: Store, name: str, role: str, expires_in: float | None, user: str | None = None
) -> NewToken:
    check_name(name, "token name")
    check_role(role)
    owner = get_user(store, user).id if user is not None else None
    secret = new_secret(TOKEN_PREFIX)
    now = time.time()
    expires = None if expires_in is None else now + expires_in
    token_id = store.insert_token(name, role, owner, digest(secret), secret[:7], now, expires)
    row = next(t for t in store.tokens() if t.id == token_id)
    return NewToken(row, secret)


def token_valid(row: TokenRow | None, now: float) -> bool:
    return row is not None and row.revoked is None and (row.expires is None or row.expires > now)


def check_token(store: Store, secret: str, now: float) -> TokenRow | None:
    """The token of ``secret`` if it is known, not revoked and not expired (its last-used
    time is written at most once a minute)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = store.token_by_hash(digest(secret))
    if not token_valid(row, now):
        return None
    assert row is not None
    if row.last_used is None or now - row.last_used >= TOUCH_EVERY:
        store.touch_token(row.id, now)
    return row


def revoke_token(store: Store, token_id: int) -> None:
    revoked = store.revoke_token(token_id, time.time())
    if not revoked and not any(t.id == token_id for t in store.tokens()):
        raise NotFound(_("no token {token_id}", token_id=token_id))


# -- logins and sessions ----------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    secret: str  # the cookie's value
    csrf: str
    user: UserRow
    expires: float


def _throttle(store: Store, keys: Mapping[str, int], now: float) -> None:
    """RateLimited when a key had ``limit`` failures in the window; Retry-After is when the
    oldest of them leaves it (so a client that waits that long may try once more)."""
    for key, limit in keys.items():
        count, oldest = store.login_failures(key, now - FAILURE_WINDOW)
        if count >= limit:
            wait = FAILURE_WINDOW - (now - (oldest if oldest is not None else now))
            raise RateLimited(max(1, math.ceil(wait)))


def login(store: Store, name: str, password: str, address: str | None) -> NewSession:
    """A new session for a correct name and password; AuthError (one message for every
    wrong part) or RateLimited. Failures are counted, success clears the user's count."""
    now = time.time()
    keys = {f"user:{str(name)[:100]}": MAX_USER_FAILURES}
    if address:
        keys[f"addr:{address}"] = MAX_ADDRESS_FAILURES
    if secrets.randbelow(50) == 0:  # now and then (failures too: guessing must not grow it)
        store.prune_sessions(now)
        store.prune_login_failures(now - FAILURE_WINDOW)
    _throttle(store, keys, now)
    user = store.user_by_name(name) if isinstance(name, str) and NAME_PATTERN.match(name) else None
    given = password if isinstance(password, str) and len(password) <= MAX_PASSWORD else None
    ok = verify_password(user.password_hash if user else dummy_hash(), given or "")
    if not ok or user is None or given is None:
        with store.transaction():
            for key in keys:
                store.add_login_failure(key, now)
        raise AuthError(_("wrong user name or password"))
    store.clear_login_failures(f"user:{name}")
    secret, csrf = new_secret(), secrets.token_urlsafe(24)
    expires = now + SESSION_SECONDS
    store.insert_session(digest(secret), user.id, csrf, now, expires)
    return NewSession(secret, csrf, user, expires)


def check_session(store: Store, secret: str, now: float) -> SessionRow | None:
    if not secret or len(secret) > 200:
        return None
    row = store.session_by_hash(digest(secret))
    if row is None or row.expires <= now:
        return None
    return row


def logout(store: Store, secret: str) -> None:
    store.delete_session(digest(secret))


# -- the first admin --------------------------------------------------------------------


def setup_link(store: Store) -> str | None:
    """A one-time secret for creating the first admin, when there is no user yet."""
    if store.count_users() > 0:
        return None
    secret = new_secret()
    now = time.time()
    store.insert_setup_link(digest(secret), now, now + SETUP_SECONDS)
    return secret


def setup_admin(store: Store, secret: str, name: str, password: str) -> UserRow:
    """Create the first admin with a setup link's secret (once; only while no user exists)."""
    check_name(name)
    check_password(password)
    with store.transaction():
        if store.count_users() > 0:
            raise AuthError(_("setup is done: an admin exists; log in instead"))
        if not isinstance(secret, str) or not store.use_setup_link(digest(secret), time.time()):
            raise AuthError(_("this setup link is unknown, used or expired; run jobyard web again"))
        return add_user(store, name, "admin", password)


# -- audit ------------------------------------------------------------------------------


def audit(
    store: Store,
    actor: str | None,
    role: str | None,
    via: str | None,
    action: str,
    target: str,
    address: str | None,
    outcome: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    store.insert_audit(
        time.time(), actor, role, via, action[:200], target[:500], address, outcome, detail or {}
    )


def audit_page(
    store: Store,
    actor: str | None,
    action: str | None,
    before: int | None,
    limit: int,
    outcome: str | None = None,
    since: float | None = None,
) -> list[AuditRow]:
    """Newest first; ``before`` is the cursor (the last id seen)."""
    return store.audit_page(actor, action, before, limit, outcome, since)
