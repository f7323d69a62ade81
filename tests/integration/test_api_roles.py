"""Every endpoint x every role over real HTTP: allowed where the table says, 401 without
credentials, 403 for a role not in the table. The test fails when an endpoint has no
entry, so a new endpoint must say who may call it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.requests import Request
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import endpoints
from jobyard.api.auth import Principal
from jobyard.web.app import create_web_app

V, OP, A, W = "viewer", "operator", "admin", "worker"
READERS, MANAGERS, ADMINS, WORKERS = {V, OP, A}, {OP, A}, {A}, {W}
PUBLIC: set[str] = set()

TABLE: dict[str, set[str]] = {
    "GET /healthz": PUBLIC,
    "GET /api/v1/openapi.json": PUBLIC,
    "POST /api/v1/login": PUBLIC,
    "POST /api/v1/setup": PUBLIC,
    "POST /api/v1/logout": READERS,
    "GET /api/v1/me": READERS | WORKERS,
    "GET /api/v1/users": ADMINS,
    "POST /api/v1/users": ADMINS,
    "DELETE /api/v1/users/{name}": ADMINS,
    "GET /api/v1/tokens": ADMINS,
    "POST /api/v1/tokens": ADMINS,
    "DELETE /api/v1/tokens/{id}": ADMINS,
    "GET /api/v1/audit": ADMINS,
    "POST /api/v1/jobs": MANAGERS,
    "POST /api/v1/jobs/bulk": MANAGERS,
    "GET /api/v1/jobs": READERS,
    "GET /api/v1/jobs/{id}": READERS,
    "GET /api/v1/jobs/{id}/log": READERS,
    **{
        f"POST /api/v1/jobs/{{id}}/{op}": MANAGERS
        for op in ("cancel", "pause", "resume", "restart", "rerun", "remove", "redirect")
    },
    "GET /api/v1/jobsets/{id}": READERS,
    "GET /api/v1/types": READERS,
    "GET /api/v1/semaphores": READERS,
    "PATCH /api/v1/types/{name}": ADMINS,
    "POST /api/v1/events": MANAGERS,
    "GET /api/v1/events": READERS,
    "GET /api/v1/workers": READERS,
    "GET /api/v1/sites": READERS,
    "GET /api/v1/batches": READERS,
    "GET /api/v1/batches/{id}": READERS,
    "POST /api/v1/batches/{id}/rerun": MANAGERS,
    "GET /api/v1/nodes": READERS,
    "GET /api/v1/collections": READERS,
    "GET /api/v1/collections/{name}": READERS,
    "GET /api/v1/stream": READERS,
    "GET /api/v1/work/types": WORKERS,
    **{
        f"POST /api/v1/work/{verb}": WORKERS
        for verb in (
            "register",
            "unregister",
            "beat",
            "claim",
            "record",
            "hand-back",
            "next-due",
            "job",
            "cancel",
            "emit",
            "script-ran",
            "collection",
            "kv",
            "wait",
        )
    },
    **{
        f"POST /api/v1/work/{{id}}/{verb}": WORKERS
        for verb in (
            "done",
            "fail",
            "heartbeat",
            "progress",
            "log",
            "semaphore",
            "semaphore/release",
        )
    },
    "GET /metrics": READERS,
    # Signed by Slack instead (tests/integration/test_slack.py); 404 here: no [slack].
    "POST /slack/command": PUBLIC,
    "POST /slack/interactive": PUBLIC,
}


class RoleAuth:
    """``Authorization: Bearer ROLE`` is a token of that role (the real tokens are tested
    in test_auth_api.py; this table tests the policy of every endpoint)."""

    enabled = True

    def authenticate(self, request: Request) -> Principal | None:
        role = request.headers.get("authorization", "").removeprefix("Bearer ")
        if role in (V, OP, A, W):
            return Principal(f"t-{role}", role, "token")  # type: ignore[arg-type]
        return None

    def audit(self, *args: object) -> None:
        return None


def test_every_endpoint_has_a_table_entry() -> None:
    names = {ep.name for ep in endpoints()}
    missing = sorted(names - set(TABLE))
    assert not missing, f"add these endpoints to TABLE with the roles allowed: {missing}"
    assert not sorted(set(TABLE) - names), "TABLE lists endpoints that do not exist"
    for ep in endpoints():
        assert set(ep.roles) == TABLE[ep.name], ep.name


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    y = Yard(f"sqlite:///{tmp_path_factory.mktemp('roles') / 'r.db'}")
    y.migrate()
    with serving(create_web_app(y, RoleAuth())) as url:
        yield url
    y.close()


def _url(path: str) -> str:
    return re.sub(r"{\w+}", "1", path)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_roles_of(base: str, name: str) -> None:
    method, path = name.split(" ", 1)
    allowed = TABLE[name]
    for who in ("anonymous", V, OP, A, W):
        headers = {} if who == "anonymous" else {"Authorization": f"Bearer {who}"}
        if name == "GET /api/v1/stream":  # endless: only its status line is read
            with httpx.stream(method, base + _url(path), headers=headers) as r:
                check(name, who, allowed, r)
            continue
        r = httpx.request(method, base + _url(path), headers=headers, json={})
        check(name, who, allowed, r)


def check(name: str, who: str, allowed: set[str], r: httpx.Response) -> None:
    if not allowed:
        assert r.status_code not in (401, 403), (name, who, r.status_code)
    elif who == "anonymous":
        assert r.status_code == 401, (name, who, r.status_code)
    elif who in allowed:
        assert r.status_code not in (401, 403), (name, who, r.status_code)
    else:
        assert r.status_code == 403, (name, who, r.status_code)
        r.read()
        assert r.json()["error"]["code"] == "forbidden"
