"""The type registry (jobyard.types): a JobType holds no Yard; the registry binds it."""

from __future__ import annotations

from typing import Any

import pytest

from jobyard import Yard
from jobyard.errors import InvalidInput
from jobyard.store import Store
from jobyard.types import JobType, TypeRegistry


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def enqueue(self, type_name: str, data: Any = None) -> Any:
        self.calls.append((type_name, data))
        return len(self.calls)


def no_store() -> Store:
    raise AssertionError("binding types needs no store")


def noop(job: Any) -> None:
    pass


def test_a_job_type_takes_no_yard_and_keeps_none() -> None:
    jt = JobType("t", noop)
    assert not hasattr(jt, "yard")
    with pytest.raises(InvalidInput, match="belongs to no Yard"):
        jt.defer(a=1)


def test_defer_enqueues_through_the_registry_it_was_added_to() -> None:
    first, second = Recorder(), Recorder()
    jt = TypeRegistry(no_store, first).register(noop, {"name": "t", "queue": "q"})
    assert jt.defer(a=1) == 1 and first.calls == [("t", {"a": 1})]
    TypeRegistry(no_store, second).add(jt)  # adopted (the CLI's Yard): defer follows
    jt.defer(b=2)
    assert second.calls == [("t", {"b": 2})] and len(first.calls) == 1


def test_replace_binds_only_unbound_types() -> None:
    mine, other = Recorder(), Recorder()
    bound = TypeRegistry(no_store, other).register(noop, {"name": "bound"})
    registry = TypeRegistry(no_store, mine)
    loose = JobType("loose", noop)
    registry.replace({"bound": bound, "loose": loose})
    bound.defer()
    loose.defer()
    assert other.calls == [("bound", {})] and mine.calls == [("loose", {})]
    assert set(registry.local) == {"bound", "loose"}


@pytest.mark.parametrize("name", ["t\x00", "b\ud800", "x" * 201, 5])
def test_a_type_name_every_backend_can_store_or_a_clear_error(name: object) -> None:
    yard = Yard("sqlite://:memory:")
    with pytest.raises(InvalidInput, match="job type name"):
        yard.job(name=name)(lambda job: None)
    assert yard.types == {}
