"""What a Python type's registration records, so that other processes (the API server, a
worker with older code) treat its jobs the same way: its defaults and its running-at-once
limit (TypeRegistry.record / set_limit, LocalPort.claim), on both backends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from jobyard import Yard
from jobyard.errors import InvalidInput, UnknownJobType
from jobyard.worker.local import LocalPort
from jobyard.worker.port import ClaimRequest


@pytest.fixture
def other(store_url: str) -> Iterator[Yard]:
    """A second process on the same database that has no handler for the types."""
    y = Yard(store_url)
    yield y
    y.close()


def register(yard: Yard, **options: object) -> None:
    yard.job(name="mailer", **options)(lambda job, **data: None)
    yard.sync_types()


def test_an_enqueue_elsewhere_gets_the_handlers_defaults(yard: Yard, other: Yard) -> None:
    register(yard, queue="mail", priority="high", retry={"retries": 3, "wait": 1.5}, timeout=7)
    job = other.enqueue("mailer", {"to": "x"}).job
    assert job.queue == "mail"
    assert job.priority == yard.types["mailer"].priority != 0
    assert (job.retry_limit, job.retry_wait) == (3, 1.5)
    assert job.timeout == 7
    # the caller's own options still win
    assert other.enqueue("mailer", queue="bulk", priority="low").job.queue == "bulk"


def test_a_broken_stored_row_gives_plain_defaults(yard: Yard, other: Yard) -> None:
    from jobyard.store.workers import StoredType

    row = StoredType("odd", "python", True, {"queue": 5, "priority": "urgent!", "retry": "x"})
    yard.store.upsert_types([row], time.time())
    job = other.enqueue("odd").job
    assert (job.queue, job.priority, job.retry_limit) == ("default", 0, 0)


def claim(yard: Yard, n: int) -> int:
    req = ClaimRequest("w1", ["default"], ["mailer"], n, 30.0)
    return len(LocalPort(yard).claim(req))


def test_the_stored_limit_binds_workers_whose_code_names_none(yard: Yard, other: Yard) -> None:
    register(yard, limit=2)
    other.job(name="mailer")(lambda job, **data: None)  # older code: no limit
    other.sync_types()  # ... registering does not lift the stored one
    assert other.stored_types(refresh=True)["mailer"].meta["limit"] == 2
    other.enqueue_many("mailer", [None] * 5)
    assert claim(other, 5) == 2  # its claim request names no limit: the store's applies
    assert claim(other, 5) == 0
    other.registry.set_limit("mailer", None)
    assert claim(other, 5) == 3
    other.registry.set_limit("mailer", 1)
    assert yard.stored_types(refresh=True)["mailer"].meta["limit"] == 1


def test_set_limit_refuses_what_it_cannot_apply(yard: Yard) -> None:
    register(yard)
    for bad in (0, -1, 2**31, True, 1.5):
        with pytest.raises(InvalidInput, match="limit"):
            yard.registry.set_limit("mailer", bad)  # type: ignore[arg-type]
    with pytest.raises(UnknownJobType):
        yard.registry.set_limit("nope", 2)
    from jobyard.store.workers import StoredType

    script = StoredType("nightly", "script", True, {"path": "nightly.sh"})
    yard.store.upsert_types([script], time.time())
    with pytest.raises(InvalidInput, match="mutex"):
        yard.registry.set_limit("nightly", 2)
