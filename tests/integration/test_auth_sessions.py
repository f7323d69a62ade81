"""Sessions, forms, the audit log and bad input over real HTTP, on SQLite and PostgreSQL:
form logins (the web UI's /login page posts here), CSRF from a form field, refused
changes audited, the audit cursor, expired tokens, no secret or hash in any answer; the
web UI's language switch of a logged-in user kept with the account."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.apiserver import serving
from tests.pgfixtures import BACKENDS

from jobyard import Yard, accounts
from jobyard.api.accounts import COOKIE, StoreAuth
from jobyard.api.app import create_app
from jobyard.web.app import create_web_app


@pytest.fixture(params=BACKENDS)
def yard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Yard]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'auth.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    y = Yard(url)
    y.migrate()
    accounts.add_user(y.store, "ann", "admin", "correct horse")
    accounts.add_user(y.store, "vic", "viewer", "viewer pass")
    try:
        yield y
    finally:
        y.close()


@pytest.fixture
def base(yard: Yard) -> Iterator[str]:
    with serving(create_app(yard, StoreAuth(yard))) as url:
        yield url


def bearer(yard: Yard, role: str) -> tuple[str, dict[str, str]]:
    secret = accounts.create_token(yard.store, f"t-{role}", role, 3600).secret
    return secret, {"Authorization": f"Bearer {secret}"}


FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_a_form_login_sets_the_cookie_and_a_form_field_carries_the_csrf_token(
    base: str,
) -> None:
    with httpx.Client(base_url=base) as c:
        r = c.post("/api/v1/login", data={"username": "ann", "password": "correct horse"})
        assert r.status_code == 200, r.text
        assert "httponly" in r.headers["set-cookie"].lower()
        assert "secure" not in r.headers["set-cookie"].lower()  # plain http, no config
        csrf = r.json()["csrf"]
        assert c.get("/api/v1/me").json() == {
            "name": "ann",
            "role": "admin",
            "via": "session",
            "csrf": csrf,
        }
        assert c.post("/api/v1/logout", data={}).status_code == 403  # a form without it
        assert c.post("/api/v1/logout", data={"csrf_token": "wrong"}).status_code == 403
        assert c.get("/api/v1/me").status_code == 200  # still logged in
        assert c.post("/api/v1/logout", data={"csrf_token": csrf}).status_code == 200
        assert c.get("/api/v1/me").status_code == 401


def test_a_form_login_with_next_redirects_only_to_a_local_path(base: str) -> None:
    with httpx.Client(base_url=base) as c:
        creds = {"username": "vic", "password": "viewer pass"}
        r = c.post("/api/v1/login", data={**creds, "next": "/jobs?status=failed"})
        assert r.status_code == 303 and r.headers["location"] == "/jobs?status=failed"
        assert COOKIE in r.headers["set-cookie"]
        for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            r = c.post("/api/v1/login", data={**creds, "next": evil})
            assert r.status_code == 200 and "location" not in r.headers, evil


def test_a_wrong_form_login_is_401_json_and_nothing_is_set(base: str) -> None:
    r = httpx.post(f"{base}/api/v1/login", data={"username": "ann", "password": "nope nope"})
    assert r.status_code == 401 and "set-cookie" not in r.headers
    assert r.json()["error"]["message"] == "wrong user name or password"
    twice = "username=ann&username=bob&password=x"
    r = httpx.post(f"{base}/api/v1/login", content=twice, headers=FORM)
    assert r.status_code == 400 and "more than once" in r.json()["error"]["message"]


def test_forms_are_refused_where_an_endpoint_takes_json_only(base: str, yard: Yard) -> None:
    _, admin = bearer(yard, "admin")
    body = "name=zed&role=viewer&password=long+enough"
    r = httpx.post(f"{base}/api/v1/users", content=body, headers={**admin, **FORM})
    assert r.status_code == 415
    assert yard.store.user_by_name("zed") is None


def test_a_session_reads_without_the_csrf_token_but_never_changes(base: str) -> None:
    with httpx.Client(base_url=base) as c:
        c.post("/api/v1/login", json={"username": "ann", "password": "correct horse"})
        assert c.get("/api/v1/users").status_code == 200  # a read needs no CSRF token
        r = c.delete("/api/v1/users/vic")
        assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
        assert len(c.get("/api/v1/users").json()["users"]) == 2


def test_secure_cookies_when_configured(yard: Yard) -> None:
    with serving(create_app(yard, StoreAuth(yard, secure_cookies=True))) as url:
        r = httpx.post(f"{url}/api/v1/login", json={"username": "ann", "password": "correct horse"})
        assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()


def test_an_expired_token_is_401_over_http(base: str, yard: Yard) -> None:
    secret = "jy_" + "e" * 43
    now = time.time()
    yard.store.insert_token("old", "admin", None, accounts.digest(secret), "jy_eeee", now - 10, now)
    r = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


def test_refused_changes_are_audited_and_pages_follow_the_cursor(base: str, yard: Yard) -> None:
    _, viewer = bearer(yard, "viewer")
    admin_secret, admin = bearer(yard, "admin")
    body = {"name": "zed", "role": "viewer", "password": "secret-pass-123"}
    assert httpx.post(f"{base}/api/v1/users", headers=viewer, json=body).status_code == 403
    for i in range(3):
        made = httpx.post(
            f"{base}/api/v1/tokens", headers=admin, json={"name": f"n{i}", "role": "viewer"}
        )
        assert made.status_code == 201
    r = httpx.get(f"{base}/api/v1/audit", headers=admin, params={"outcome": "refused"})
    [entry] = r.json()["entries"]
    assert entry["actor"] == "t-viewer" and entry["via"] == "token" and entry["role"] == "viewer"
    assert entry["action"] == "POST /api/v1/users" and entry["detail"]["status"] == 403
    assert entry["detail"]["token"] > 0 and entry["address"] == "127.0.0.1"
    first = httpx.get(f"{base}/api/v1/audit", headers=admin, params={"limit": 2}).json()
    assert len(first["entries"]) == 2 and first["next"] is not None
    rest = httpx.get(
        f"{base}/api/v1/audit", headers=admin, params={"limit": 100, "cursor": first["next"]}
    ).json()
    ids = [e["id"] for e in first["entries"] + rest["entries"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == 4
    assert rest["next"] is None
    everything = httpx.get(f"{base}/api/v1/audit", headers=admin).text
    for secret in ("secret-pass-123", admin_secret):
        assert secret not in everything
    r = httpx.get(f"{base}/api/v1/audit", headers=admin, params={"cursor": "x"})
    assert r.status_code == 400


def test_no_answer_shows_a_password_hash_or_a_token_secret(base: str, yard: Yard) -> None:
    secret, admin = bearer(yard, "admin")
    users = httpx.get(f"{base}/api/v1/users", headers=admin)
    assert "argon2" not in users.text and "password" not in users.text
    tokens = httpx.get(f"{base}/api/v1/tokens", headers=admin)
    assert secret not in tokens.text and accounts.digest(secret) not in tokens.text


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/tokens", {"name": "ci", "role": "viewer", "expires": 30}, "expires"),
        ("/api/v1/tokens", {"name": "ci", "role": "viewer", "expires": "30y"}, "expiry"),
        ("/api/v1/tokens", {"name": 5, "role": "viewer"}, "name"),
        ("/api/v1/tokens", {"name": "ci", "role": "root"}, "role"),
        ("/api/v1/tokens", {"name": "ci", "role": "viewer", "user": "nobody"}, "nobody"),
        ("/api/v1/users", {"name": "zed", "role": "viewer", "password": "short"}, "at least 8"),
        ("/api/v1/users", {"name": "zed", "role": "worker", "password": "long enough"}, "role"),
        ("/api/v1/users", {"name": "ann", "role": "viewer", "password": "long enough"}, "exists"),
        ("/api/v1/login", {"username": ["ann"], "password": "x"}, "username"),
    ],
)
def test_bad_account_bodies_are_one_clear_4xx_and_write_nothing(
    base: str, yard: Yard, path: str, body: dict[str, object], field: str
) -> None:
    _, admin = bearer(yard, "admin")
    before = (len(yard.store.users()), len(yard.store.tokens()))
    r = httpx.post(f"{base}{path}", headers=admin, json=body)
    assert 400 <= r.status_code < 500 and field in r.json()["error"]["message"], r.text
    assert (len(yard.store.users()), len(yard.store.tokens())) == before


def test_the_last_admin_cannot_be_removed_over_http(base: str, yard: Yard) -> None:
    _, admin = bearer(yard, "admin")
    r = httpx.delete(f"{base}/api/v1/users/ann", headers=admin)
    assert r.status_code == 422 and "last admin" in r.json()["error"]["message"]
    assert httpx.delete(f"{base}/api/v1/users/nobody", headers=admin).status_code == 404
    assert httpx.delete(f"{base}/api/v1/users/vic", headers=admin).status_code == 200
    assert [u.name for u in yard.store.users()] == ["ann"]


def test_failed_logins_are_audited_until_the_limit_then_429(base: str, yard: Yard) -> None:
    creds = {"username": "vic", "password": "not it!"}
    codes = [httpx.post(f"{base}/api/v1/login", json=creds).status_code for _ in range(8)]
    assert codes == [401] * accounts.MAX_USER_FAILURES + [429] * 3
    limited = httpx.post(f"{base}/api/v1/login", json={**creds, "password": "viewer pass"})
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    refused = accounts.audit_page(yard.store, None, "login", None, 100, outcome="refused")
    assert len(refused) == accounts.MAX_USER_FAILURES  # a flood past the limit adds nothing
    assert all(r.target == "vic" and r.address == "127.0.0.1" for r in refused)


def lang_of(yard: Yard, name: str) -> str | None:
    user = yard.store.user_by_name(name)
    assert user is not None
    return user.lang


def test_the_switch_of_a_logged_in_user_is_kept_with_the_account(yard: Yard) -> None:
    with serving(create_web_app(yard, StoreAuth(yard))) as base, httpx.Client(base_url=base) as c:
        r = c.post("/api/v1/login", json={"username": "ann", "password": "correct horse"})
        assert r.status_code == 200, r.text
        assert c.get("/jobs").status_code == 200
        assert lang_of(yard, "ann") is None  # Accept-Language alone chooses nothing
        page = c.get("/jobs?lang=ru")
        assert page.status_code == 200 and '<html lang="ru">' in page.text
        assert lang_of(yard, "ann") == "ru"
        c.cookies.delete("jobyard_lang")  # another browser: the account still says ru
        assert c.get("/jobs?lang=de").status_code == 200  # not shipped: nothing kept
        assert lang_of(yard, "ann") == "ru"
        c.get("/types?lang=en")
        assert lang_of(yard, "ann") == "en"
        admin = c.get("/api/v1/users").json()["users"]
        assert {u["name"]: u["lang"] for u in admin} == {"ann": "en", "vic": None}
        # a token's caller (no session) and a page opened before logging in keep nothing
        token = accounts.create_token(yard.store, "ci", "viewer", 3600, user="vic").secret
        httpx.get(f"{base}/jobs?lang=ru", headers={"Authorization": f"Bearer {token}"})
        httpx.get(f"{base}/login?lang=ru")
        assert lang_of(yard, "vic") is None
