"""Authentication over real HTTP: tokens per role, sessions with CSRF, expiry and
revocation, login rate limiting, the setup link, the audit log, no secret leaks."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from tests.apiserver import serving

from jobyard import Yard, accounts
from jobyard.api import accounts as api_accounts
from jobyard.api.accounts import StoreAuth
from jobyard.api.app import create_app


@pytest.fixture
def base(yard: Yard) -> Iterator[str]:
    yard.migrate()
    accounts.add_user(yard.store, "ann", "admin", "correct horse")
    accounts.add_user(yard.store, "vic", "viewer", "viewer pass")
    with serving(create_app(yard, StoreAuth(yard))) as url:
        yield url


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token(yard: Yard, role: str, expires: float | None = 3600) -> str:
    return accounts.create_token(yard.store, f"t-{role}", role, expires).secret


def test_no_credentials_is_401_and_healthz_is_public(base: str) -> None:
    r = httpx.get(f"{base}/api/v1/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{base}/api/v1/me", headers=bearer("jy_bogus")).status_code == 401
    assert httpx.get(f"{base}/healthz").status_code == 200


@pytest.mark.parametrize(
    ("role", "me", "users"),
    [("viewer", 200, 403), ("operator", 200, 403), ("admin", 200, 200), ("worker", 200, 403)],
)
def test_each_role_reaches_what_it_may(
    base: str, yard: Yard, role: str, me: int, users: int
) -> None:
    h = bearer(token(yard, role))
    assert httpx.get(f"{base}/api/v1/me", headers=h).status_code == me
    assert httpx.get(f"{base}/api/v1/me", headers=h).json()["role"] == role
    assert httpx.get(f"{base}/api/v1/users", headers=h).status_code == users


def test_expired_token_is_refused(base: str, yard: Yard) -> None:
    new = accounts.create_token(yard.store, "short", "viewer", 60)
    assert httpx.get(f"{base}/api/v1/me", headers=bearer(new.secret)).status_code == 200
    later = time.time() + 120
    assert accounts.check_token(yard.store, new.secret, later) is None


def test_revocation_applies_within_the_cache_window(base: str, yard: Yard) -> None:
    secret = token(yard, "viewer")
    h = bearer(secret)
    assert httpx.get(f"{base}/api/v1/me", headers=h).status_code == 200
    row = accounts.check_token(yard.store, secret, time.time())
    assert row is not None and row.last_used is not None
    accounts.revoke_token(yard.store, row.id)  # from "another process": the store only
    deadline = time.monotonic() + api_accounts.CACHE_SECONDS + 3
    while httpx.get(f"{base}/api/v1/me", headers=h).status_code == 200:
        assert time.monotonic() < deadline, "a revoked token still works past the cache window"
        time.sleep(0.25)


def test_revocation_through_the_api_is_immediate(base: str, yard: Yard) -> None:
    admin = bearer(token(yard, "admin"))
    made = httpx.post(f"{base}/api/v1/tokens", headers=admin, json={"name": "ci", "role": "viewer"})
    assert made.status_code == 201
    secret, token_id = made.json()["token"], made.json()["id"]
    assert httpx.get(f"{base}/api/v1/me", headers=bearer(secret)).status_code == 200
    listed = httpx.get(f"{base}/api/v1/tokens", headers=admin).text
    assert secret not in listed  # shown once, never listed
    assert httpx.delete(f"{base}/api/v1/tokens/{token_id}", headers=admin).status_code == 200
    assert httpx.get(f"{base}/api/v1/me", headers=bearer(secret)).status_code == 401


def login(client: httpx.Client, base: str, name: str, password: str) -> httpx.Response:
    return client.post(f"{base}/api/v1/login", json={"username": name, "password": password})


def test_session_cookie_needs_the_csrf_token_for_changes(base: str) -> None:
    with httpx.Client() as c:
        r = login(c, base, "ann", "correct horse")
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        csrf = r.json()["csrf"]
        assert c.get(f"{base}/api/v1/me").json()["name"] == "ann"
        body = {"name": "newbie", "role": "viewer", "password": "long enough"}
        refused = c.post(f"{base}/api/v1/users", json=body)
        assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
        wrong = c.post(f"{base}/api/v1/users", json=body, headers={"X-CSRF-Token": "nope"})
        assert wrong.status_code == 403
        ok = c.post(f"{base}/api/v1/users", json=body, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201
        out = c.post(f"{base}/api/v1/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 200
        assert c.get(f"{base}/api/v1/me").status_code == 401


def test_login_is_rate_limited(base: str) -> None:
    with httpx.Client() as c:
        for _ in range(accounts.MAX_USER_FAILURES):
            assert login(c, base, "vic", "not it").status_code == 401
        r = login(c, base, "vic", "viewer pass")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_setup_link_once(yard: Yard) -> None:
    yard.migrate()
    secret = accounts.setup_link(yard.store)
    assert secret is not None
    with serving(create_app(yard, StoreAuth(yard))) as url:
        body = {"token": secret, "username": "root", "password": "correct horse"}
        assert httpx.post(f"{url}/api/v1/setup", json=body).status_code == 201
        again = httpx.post(f"{url}/api/v1/setup", json={**body, "username": "second"})
        assert again.status_code == 401
        assert [u.name for u in yard.store.users()] == ["root"]


def test_audit_records_who_did_what_without_secrets(base: str, yard: Yard) -> None:
    admin_secret = token(yard, "admin")
    with httpx.Client() as c:
        login(c, base, "vic", "wrong wrong")
        login(c, base, "ann", "correct horse")
    body = {"name": "zed", "role": "viewer", "password": "secret-pass-123"}
    assert (
        httpx.post(f"{base}/api/v1/users", headers=bearer(admin_secret), json=body).status_code
        == 201
    )
    r = httpx.get(f"{base}/api/v1/audit", headers=bearer(admin_secret))
    entries = r.json()["entries"]
    actions = [(e["action"], e["outcome"]) for e in entries]
    assert ("POST /api/v1/users", "ok") in actions
    assert ("login", "refused") in actions and ("login", "ok") in actions
    assert all(e["address"] == "127.0.0.1" for e in entries)
    text = r.text
    for secret in ("secret-pass-123", "correct horse", "wrong wrong", admin_secret):
        assert secret not in text


def test_bad_login_bodies_are_4xx(base: str) -> None:
    for body in ({}, {"username": "ann"}, {"username": "ann", "password": "x", "extra": 1}):
        r = httpx.post(f"{base}/api/v1/login", json=body)
        assert r.status_code == 422, body
    assert httpx.post(f"{base}/api/v1/login", content=b"{nope").status_code == 400
