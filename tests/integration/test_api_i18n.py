"""API errors in the client's language over real HTTP: ``Accept-Language`` (q-values) and
``?lang=``; codes, fields and statuses stay English data."""

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

    @yard.job
    def hello(job, name: str = "x") -> str:  # type: ignore[no-untyped-def]
        return name

    yard.sync_types()
    with serving(create_app(yard, NoAuth())) as url:
        yield url


def test_error_in_russian_by_accept_language(base: str, yard: Yard) -> None:
    r = httpx.post(
        f"{base}/api/v1/jobs",
        json={"type": "nope"},
        headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_type"
    assert r.json()["error"]["message"] == ("неизвестный тип задания 'nope'; известные типы: hello")
    assert r.headers["content-language"] == "ru"
    assert yard.count() == 0


def test_q_values_and_query_parameter(base: str) -> None:
    prefers_en = {"Accept-Language": "ru;q=0.3, en;q=0.9"}
    r = httpx.get(f"{base}/api/v1/jobs/12345", headers=prefers_en)
    assert r.status_code == 404
    assert r.json()["error"]["message"].startswith("no job")
    r = httpx.get(f"{base}/api/v1/jobs/12345?lang=ru", headers=prefers_en)
    assert r.json()["error"]["message"].startswith("нет задания")
    r = httpx.get(f"{base}/api/v1/no/such/path", headers={"Accept-Language": "ru"})
    assert r.json()["error"] == {
        "code": "not_found",
        "message": "нет такого пути: /api/v1/no/such/path",
    }


def test_deep_validation_error_is_translated(base: str) -> None:
    """A message made deep in the library (the params check, in a thread) is Russian too."""
    r = httpx.post(
        f"{base}/api/v1/jobs",
        json={"type": "hello", "data": {"who": 1}},
        headers={"Accept-Language": "ru"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "у типа задания 'hello' нет параметра 'who' (его параметры: name)"
    )


def test_semaphore_422_in_russian(yard: Yard) -> None:
    yard.semaphore("db", count=1)
    yard.job(name="t")(lambda job: None)
    with serving(create_app(yard, NoAuth())) as url:
        r = httpx.post(
            f"{url}/api/v1/jobs",
            json={"type": "t", "semaphores": ["nope"]},
            headers={"Accept-Language": "ru"},
        )
        assert r.status_code == 422
        message = r.json()["error"]["message"]
        assert message.startswith("задание типа 't': неизвестный семафор 'nope'; задайте его"), (
            message
        )
        assert message.endswith("(заданы: db)"), message
        english = httpx.post(f"{url}/api/v1/jobs", json={"type": "t", "semaphores": ["db:x"]})
        assert english.status_code == 422
        assert "the mode after ':' must be 'read' or 'write'" in english.json()["error"]["message"]
    assert yard.count() == 0
