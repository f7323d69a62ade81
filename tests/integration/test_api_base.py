"""The API's shared wrapper over real HTTP: JSON errors, body checks, health."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth


@pytest.fixture
def base(yard: Yard) -> Iterator[str]:
    yard.migrate()
    with serving(create_app(yard, NoAuth())) as url:
        yield url


def test_healthz_answers_from_the_database(base: str) -> None:
    r = httpx.get(f"{base}/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_unknown_path_is_a_json_404(base: str) -> None:
    r = httpx.get(f"{base}/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "/api/v1/nope" in r.json()["error"]["message"]


def test_wrong_method_is_a_json_405(base: str) -> None:
    r = httpx.post(f"{base}/healthz")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_healthz_is_503_when_the_database_is_gone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    y = Yard(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    with serving(create_app(y, NoAuth())) as url:
        r = httpx.get(f"{url}/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "unhealthy"
