"""Auth end to end: `jobyard user add` / `jobyard token create` (real CLI processes), a
real `jobyard web` with auth on, and a real browser logging in; a viewer sees no buttons
and a forged post is refused; the first-admin setup link."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobyard.api.accounts import CACHE_SECONDS
from tests.e2e.webui import Site, shot, start_site
from tests.helpers import ROOT, run_cli, until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.fixture
def authsite(tmp_path: Path) -> Any:
    s = start_site(tmp_path, extra=())
    yield s
    s.close()


def add_user(site: Site, name: str, role: str, password: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jobyard", "user", "add", name, "--role", role, "--password-stdin"],
        input=password + "\n",
        env=site.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert password not in out.stdout + out.stderr


def test_cli_token_works_over_http(authsite: Site) -> None:
    out = run_cli(authsite.env, "token", "create", "--name", "ci", "--role", "operator")
    assert out.returncode == 0, out.stderr
    secret = out.stdout.strip()
    assert secret.startswith("jy_") and "not shown again" in out.stderr
    h = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{authsite.url}/api/v1/me", headers=h).json()["role"] == "operator"
    listed = run_cli(authsite.env, "token", "list")
    assert secret not in listed.stdout and "ci" in listed.stdout
    assert run_cli(authsite.env, "token", "revoke", "1").returncode == 0
    # Another process revoked it: the server's short cache lets it pass a few seconds more.
    until(
        lambda: httpx.get(f"{authsite.url}/api/v1/me", headers=h).status_code == 401,
        timeout=CACHE_SECONDS + 3,
        interval=0.25,
    )
    bad = run_cli(
        authsite.env, "token", "create", "--name", "x", "--role", "viewer", "--expires", "soon"
    )
    assert bad.returncode == 2 and "invalid expiry" in bad.stderr


def test_short_password_is_refused_in_one_line(authsite: Site) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobyard",
            "user",
            "add",
            "bob",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        input="short\n",
        env=authsite.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "at least 8" in out.stderr
    assert "Traceback" not in out.stderr


def test_browser_login_roles_and_forged_post(authsite: Site, page: Any) -> None:
    add_user(authsite, "ann", "operator", "correct horse")
    add_user(authsite, "vic", "viewer", "viewer pass")
    h = authsite.yard.enqueue("parked")
    page.goto(f"{authsite.url}/jobs/{h.id}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#username", "vic")
    page.fill("#password", "wrong pass")
    page.click("button.primary")
    assert "wrong user name or password" in page.locator("p.error").inner_text()
    page.fill("#username", "vic")
    page.fill("#password", "viewer pass")
    page.click("button.primary")
    page.wait_for_url(f"{authsite.url}/jobs/{h.id}")  # back where the link pointed
    assert page.locator("button.act-cancel").count() == 0  # a viewer sees no buttons
    page.goto(f"{authsite.url}/jobs")
    assert page.locator("input[name='ids']").count() == 0
    # A forged post with the viewer's own session is refused by the server.
    status = page.evaluate(
        """async (id) => (await fetch('/jobs/' + id + '/cancel', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'x=1'})).status""",
        h.id,
    )
    assert status == 403
    assert authsite.yard.get(h.id).job.status == "ready"
    page.click("button.link")  # log out
    page.wait_for_url(re.compile(r"/login"))
    page.fill("#username", "ann")
    page.fill("#password", "correct horse")
    page.click("button.primary")
    page.goto(f"{authsite.url}/jobs/{h.id}")
    # An operator's post without the form's CSRF token is refused too.
    status = page.evaluate(
        """async (id) => (await fetch('/jobs/' + id + '/cancel', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'x=1'})).status""",
        h.id,
    )
    assert status == 403
    page.click("button.act-cancel")
    page.wait_for_selector(".job-status .s-cancelled")
    assert authsite.yard.get(h.id).job.status == "cancelled"


def test_setup_link_creates_the_first_admin(tmp_path: Path, page: Any) -> None:
    site = start_site(tmp_path, extra=())
    try:
        # The link was printed by `jobyard web` at start; a fresh one is the same kind.
        from jobyard import accounts

        secret = accounts.setup_link(site.yard.store)
        page.goto(f"{site.url}/setup?token={secret}")
        page.fill("#username", "root")
        page.fill("#password", "correct horse")
        page.click("button.primary")
        page.wait_for_url(f"{site.url}/")
        assert page.locator("nav a[href='/admin/users']").count() == 1
        page.goto(f"{site.url}/admin/users")
        page.fill("form.filters:has(input[value='token']) input[name='name']", "deploy")
        page.click("form.filters:has(input[value='token']) button")
        secret_shown = page.locator("#new-token").inner_text().strip()
        assert secret_shown.startswith("jy_")
        shot(page, "users")
        page.goto(f"{site.url}/admin/audit")
        assert "login" in page.locator("table").inner_text()
        shot(page, "audit")
        assert secret_shown not in page.content()
        page.goto(f"{site.url}/setup?token={secret}")
        page.fill("#username", "second")
        page.fill("#password", "correct horse")
        page.click("button.primary")
        assert "setup is done" in page.locator("p.error").inner_text()
    finally:
        site.close()
