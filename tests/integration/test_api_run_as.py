"""run_as over real HTTP: an operator may not pick the user a job runs as; an admin may,
and sets a script type's run_as with PATCH (checked against this machine's users)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.apiserver import serving
from tests.integration.test_api_roles import RoleAuth

from jobyard import Yard
from jobyard.scripts.meta import write_type
from jobyard.web.app import create_web_app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Yard, str]]:
    y = Yard(f"sqlite:///{tmp_path / 'r.db'}")
    y.migrate()
    y.job(name="noop")(lambda job: None)
    y.sync_types()
    write_type(y, "tool", {"path": "/bin/true"}, enabled=True)
    with serving(create_web_app(y, RoleAuth())) as url:
        yield y, url
    y.close()


def _as(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {role}"}


def test_props_run_as_needs_an_admin(served: tuple[Yard, str]) -> None:
    yard, url = served
    body = {"type": "noop", "props": {"run_as": "nobody"}}
    r = httpx.post(f"{url}/api/v1/jobs", json=body, headers=_as("operator"))
    assert r.status_code == 403 and "admin only" in r.text
    r = httpx.post(f"{url}/api/v1/jobs/bulk", json={**body, "items": [None]},
                   headers=_as("operator"))  # fmt: skip
    assert r.status_code == 403
    assert yard.count() == 0
    r = httpx.post(f"{url}/api/v1/jobs", json=body, headers=_as("admin"))
    assert r.status_code == 201 and r.json()["props"]["run_as"] == "nobody"
    bad = {"type": "noop", "props": {"run_as": "jyt_nobody_here"}}
    r = httpx.post(f"{url}/api/v1/jobs", json=bad, headers=_as("admin"))
    assert r.status_code == 422 and "no user 'jyt_nobody_here'" in r.text
    ok = httpx.post(f"{url}/api/v1/jobs", json={"type": "noop"}, headers=_as("operator"))
    assert ok.status_code == 201  # without run_as, operators create jobs as before


def test_patch_a_script_types_run_as(served: tuple[Yard, str]) -> None:
    _, url = served
    r = httpx.patch(f"{url}/api/v1/types/tool", json={"run_as": "nobody:nogroup"},
                    headers=_as("admin"))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["run_as"] == "nobody:nogroup"
    r = httpx.patch(f"{url}/api/v1/types/tool", json={"run_as": {"user": "jyt_nobody_here"}},
                    headers=_as("admin"))  # fmt: skip
    assert r.status_code == 422 and "no user 'jyt_nobody_here'" in r.text
    r = httpx.patch(f"{url}/api/v1/types/tool", json={"run_as": None}, headers=_as("admin"))
    assert r.status_code == 200 and r.json()["run_as"] is None
    listed = httpx.get(f"{url}/api/v1/types", headers=_as("viewer")).json()["types"]
    assert next(t for t in listed if t["name"] == "tool")["run_as"] is None
