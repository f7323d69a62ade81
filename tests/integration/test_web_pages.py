"""The web wrapper over real HTTP: security headers, HTML 404s, roles and CSRF on forms,
escaping (a browser drives the pages in tests/e2e/test_web_ui.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.requests import Request
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.auth import NoAuth, Principal
from jobyard.web.app import create_web_app


class SessionAuth:
    """Test authenticator: ``Cookie: who=ROLE`` is a browser session of that role."""

    enabled = True

    def __init__(self) -> None:
        self.audited: list[tuple[str, str]] = []

    def authenticate(self, request: Request) -> Principal | None:
        role = request.cookies.get("who")
        if role not in ("viewer", "operator", "admin"):
            return None
        return Principal(role, role, "session", csrf="tok-" + role)  # type: ignore[arg-type]

    def audit(self, principal: Principal | None, action: str, target: str, detail: object) -> None:
        self.audited.append((action, target))


@pytest.fixture
def app_yard(yard: Yard) -> Yard:
    yard.migrate()

    @yard.job
    def hello(job, name: str = "x") -> str:  # type: ignore[no-untyped-def]
        return name

    yard.sync_types()
    return yard


@pytest.fixture
def auth() -> SessionAuth:
    return SessionAuth()


@pytest.fixture
def base(app_yard: Yard, auth: SessionAuth) -> Iterator[str]:
    with serving(create_web_app(app_yard, auth)) as url:
        yield url


def get(base: str, path: str, role: str | None = None) -> httpx.Response:
    cookies = {"who": role} if role else {}
    return httpx.get(base + path, cookies=cookies, follow_redirects=False)


def post(base: str, path: str, role: str, data: dict[str, str]) -> httpx.Response:
    return httpx.post(base + path, cookies={"who": role}, data=data, follow_redirects=False)


def test_pages_carry_a_strict_csp_and_frame_denial(base: str) -> None:
    r = get(base, "/jobs", "viewer")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in r.text.replace('<script src="/static/app.js" defer></script>', "")


def test_static_files_are_cached_pages_are_not(base: str) -> None:
    assert "max-age" in get(base, "/static/app.js").headers["cache-control"]
    assert get(base, "/", "viewer").headers["cache-control"] == "no-store"


def test_no_session_goes_to_login_with_the_way_back(base: str) -> None:
    r = get(base, "/jobs?status=failed")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fjobs%3Fstatus%3Dfailed"
    assert get(base, "/login").status_code == 200


def test_unknown_page_is_an_html_404_and_api_paths_stay_json(base: str) -> None:
    r = get(base, "/no/such", "viewer")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    r = get(base, "/api/v1/no/such", "viewer")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_removed_job_is_a_clear_page(base: str) -> None:
    r = get(base, "/jobs/4242", "viewer")
    assert r.status_code == 404
    assert "no job 4242" in r.text


def test_viewer_sees_no_buttons_and_a_forged_post_is_refused(base: str, app_yard: Yard) -> None:
    h = app_yard.enqueue("hello")
    page = get(base, f"/jobs/{h.id}", "viewer").text
    assert "act-cancel" not in page
    assert 'name="ids"' not in get(base, "/jobs", "viewer").text
    r = post(base, f"/jobs/{h.id}/cancel", "viewer", {"csrf_token": "tok-viewer"})
    assert r.status_code == 403
    assert app_yard.get(h.id).job.status == "ready"
    assert get(base, "/new", "viewer").status_code == 403


def test_operator_needs_the_csrf_token(base: str, app_yard: Yard, auth: SessionAuth) -> None:
    h = app_yard.enqueue("hello")
    assert "act-cancel" in get(base, f"/jobs/{h.id}", "operator").text
    for token in ("", "tok-viewer"):
        r = post(base, f"/jobs/{h.id}/cancel", "operator", {"csrf_token": token})
        assert r.status_code == 403 and "CSRF" in r.text
    assert app_yard.get(h.id).job.status == "ready"
    r = post(base, f"/jobs/{h.id}/cancel", "operator", {"csrf_token": "tok-operator"})
    assert r.status_code == 303
    assert app_yard.get(h.id).job.status == "cancelled"
    assert ("POST /jobs/{id}/{action}", f"/jobs/{h.id}/cancel") in auth.audited


def test_type_edits_are_for_admins(base: str) -> None:
    r = post(base, "/types/hello/disable", "operator", {"csrf_token": "tok-operator"})
    assert r.status_code == 403
    r = post(base, "/types/hello/disable", "admin", {"csrf_token": "tok-admin"})
    assert r.status_code == 303


def test_form_errors_show_next_to_the_field_and_write_nothing(base: str, app_yard: Yard) -> None:
    r = post(
        base,
        "/new",
        "operator",
        {"csrf_token": "tok-operator", "type": "hello", "param.name": "a", "priority": "urgent!"},
    )
    assert r.status_code == 422
    assert 'id="err-priority"' in r.text
    assert app_yard.count() == 0


def test_oversized_form_is_refused(base: str, app_yard: Yard) -> None:
    r = post(
        base,
        "/new",
        "operator",
        {"csrf_token": "tok-operator", "type": "hello", "param.name": "x" * 300_000},
    )
    assert r.status_code == 413
    assert app_yard.count() == 0


def test_no_auth_mode_serves_every_page(app_yard: Yard) -> None:
    with serving(create_web_app(app_yard, NoAuth())) as url:
        assert "no auth" in httpx.get(url + "/").text


def test_search_jumps_to_a_job_or_a_type(base: str) -> None:
    assert get(base, "/jobs?q=%2312", "viewer").headers["location"] == "/jobs/12"
    assert get(base, "/jobs?q=hello", "viewer").headers["location"] == "/jobs?type=hello"


def test_bulk_by_filter_keeps_to_the_jobset(base: str, app_yard: Yard) -> None:
    js = app_yard.create_jobset("demo", "one")
    inside = [app_yard.enqueue("hello", jobset=js).id for _ in range(3)]
    outside = app_yard.enqueue("hello").id
    r = post(
        base,
        "/jobs/bulk",
        "operator",
        {
            "csrf_token": "tok-operator",
            "action": "cancel",
            "scope": "filter",
            "jobset": str(js),
            "back": f"/jobs?jobset={js}",
        },
    )
    assert r.status_code == 303 and "done=cancel:3" in r.headers["location"]
    assert [app_yard.get(i).job.status for i in inside] == ["cancelled"] * 3
    assert app_yard.get(outside).job.status == "ready"


def test_bad_filters_are_a_clear_400_page(base: str) -> None:
    r = get(base, "/jobs?status=exploded", "viewer")
    assert r.status_code == 422 and "unknown status" in r.text
    r = get(base, "/jobs?before=abc", "viewer")
    assert r.status_code == 400 and "whole number" in r.text
