"""The accounts CLI as real commands against ``jobyard web`` in a subprocess: a user added
with the password on stdin logs in, a printed token works over HTTP until revoked (then
within the cache window it is refused), the setup link works once, ``jobyard audit``
shows who did what, and no secret reaches argv, the server's output or the audit log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobyard.api.accounts import CACHE_SECONDS
from tests.apiserver import free_port
from tests.helpers import ROOT, cli_env, run_cli, until

PASSWORD = "correct horse battery"


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobyard", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )


class Server:
    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.err = tmp / f"web-{self.port}.err"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "web", "--bind", f"127.0.0.1:{self.port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.err.open("w"),
        )
        until(self._up, timeout=30)

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.stderr()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stderr(self) -> str:
        return self.err.read_text()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    found = cli_env(tmp_path / "auth.db", "")
    found.pop("JOBYARD_APP")
    return found


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    s = Server(env, tmp_path)
    try:
        yield s
    finally:
        s.stop()


def test_user_add_reads_the_password_from_stdin_and_refuses_bad_ones(
    env: dict[str, str],
) -> None:
    short = cli(env, "user", "add", "ann", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.returncode == 2
    assert short.stderr.strip() == "jobyard: error: the password must be at least 8 characters"
    bad_role = cli(env, "user", "add", "ann", "--role", "worker", "--password-stdin", stdin="x\n")
    assert bad_role.returncode == 2
    listed = run_cli(env, "user", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # nothing written
    ok = cli(env, "user", "add", "ann", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert ok.returncode == 0, ok.stderr
    assert PASSWORD not in ok.stdout + ok.stderr
    again = cli(env, "user", "add", "ann", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 2 and "exists already" in again.stderr
    [user] = json.loads(run_cli(env, "user", "list", "--json").stdout)
    assert user["name"] == "ann" and user["role"] == "admin" and "password" not in str(user)


def test_user_lang_sets_shows_refuses_and_forgets(env: dict[str, str]) -> None:
    ok = cli(env, "user", "add", "ann", "--role", "operator", "--password-stdin", stdin=PASSWORD)
    assert ok.returncode == 0, ok.stderr
    fresh = cli(env, "user", "list")
    assert fresh.stdout.split()[:3] == ["ann", "operator", "-"]  # no language chosen
    ru = cli(env, "user", "lang", "ann", "ru_RU.UTF-8")
    assert ru.returncode == 0 and ru.stdout.strip() == "ann reads ru now", ru.stderr
    [user] = json.loads(run_cli(env, "user", "list", "--json").stdout)
    assert user["lang"] == "ru"
    assert cli(env, "user", "list").stdout.split()[:3] == ["ann", "operator", "ru"]
    bad = cli(env, "user", "lang", "ann", "de")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "jobyard: error: unknown language 'de'; choose one of: en, ru"
    nobody = cli(env, "user", "lang", "bob", "ru")
    assert nobody.returncode == 2 and nobody.stderr.strip() == "jobyard: error: no user 'bob'"
    in_russian = cli(env, "--lang", "ru", "user", "lang", "ann", "default")
    assert in_russian.returncode == 0
    assert in_russian.stdout.strip() == "у ann теперь язык по умолчанию"  # noqa: RUF001
    [user] = json.loads(run_cli(env, "user", "list", "--json").stdout)
    assert user["lang"] is None


def test_a_printed_token_works_over_http_until_revoked(env: dict[str, str], tmp_path: Path) -> None:
    added = cli(env, "user", "add", "ann", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    made = run_cli(env, "token", "create", "--name", "ci", "--role", "operator", "--expires", "30d")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("jy_") and "not shown again" in made.stderr
    server = Server(env, tmp_path)
    try:
        auth = {"Authorization": f"Bearer {secret}"}
        me = httpx.get(f"{server.url}/api/v1/me", headers=auth)
        assert me.status_code == 200 and me.json()["role"] == "operator"
        assert httpx.get(f"{server.url}/api/v1/users", headers=auth).status_code == 403
        assert "No user yet" not in server.stderr()  # there is a user: no setup link
        login = httpx.post(
            f"{server.url}/api/v1/login", json={"username": "ann", "password": PASSWORD}
        )
        assert login.status_code == 200 and login.json()["role"] == "admin"
        [listed] = json.loads(run_cli(env, "token", "list", "--json").stdout)
        assert listed["last_used"] is not None and secret not in json.dumps(listed)
        revoked = run_cli(env, "token", "revoke", str(listed["id"]))
        assert revoked.returncode == 0, revoked.stderr
        started = time.monotonic()
        while httpx.get(f"{server.url}/api/v1/me", headers=auth).status_code == 200:
            assert time.monotonic() - started < CACHE_SECONDS + 2, "revocation not seen"
            time.sleep(0.2)
        audit = run_cli(env, "audit", "--json")
        entries = json.loads(audit.stdout)
        actions = {(e["action"], e["via"]) for e in entries}
        assert ("login", "session") in actions and ("token revoke", "cli") in actions
        assert ("token create", "cli") in actions and ("user add", "cli") in actions
        logs = server.stderr() + audit.stdout + run_cli(env, "audit").stdout
        assert secret not in logs and PASSWORD not in logs
    finally:
        server.stop()


def test_a_fresh_database_prints_a_setup_link_that_works_once(server: Server) -> None:
    until(lambda: "setup?token=" in server.stderr(), timeout=10)
    line = next(x for x in server.stderr().splitlines() if "setup?token=" in x)
    link = line.strip()
    assert link.startswith(f"http://127.0.0.1:{server.port}/setup?token=")
    token = link.split("token=", 1)[1]
    body = {"token": token, "username": "root", "password": PASSWORD}
    wrong = httpx.post(f"{server.url}/api/v1/setup", json={**body, "token": "nope"})
    assert wrong.status_code == 401
    short = httpx.post(f"{server.url}/api/v1/setup", json={**body, "password": "short"})
    assert short.status_code == 422 and "at least 8" in short.json()["error"]["message"]
    made = httpx.post(f"{server.url}/api/v1/setup", json=body)
    assert made.status_code == 201 and made.json() == {"name": "root", "role": "admin"}
    again = httpx.post(f"{server.url}/api/v1/setup", json={**body, "username": "two"})
    assert again.status_code == 401
    login = httpx.post(
        f"{server.url}/api/v1/login", json={"username": "root", "password": PASSWORD}
    )
    assert login.status_code == 200


def test_web_refuses_no_auth_off_loopback_and_bad_secure_cookies(
    env: dict[str, str], tmp_path: Path
) -> None:
    r = run_cli(env, "web", "--bind", "0.0.0.0:1", "--no-auth")
    assert r.returncode == 2 and "loopback" in r.stderr
    conf = tmp_path / "jobyard.toml"
    conf.write_text(f'db = "sqlite:///{tmp_path / "c.db"}"\n[web]\nsecure_cookies = "yes"\n')
    r = run_cli({**env, "JOBYARD_DB": ""}, "--config", str(conf), "web", "--bind", "127.0.0.1:1")
    assert r.returncode == 2 and "secure_cookies must be true or false" in r.stderr, r.stderr
