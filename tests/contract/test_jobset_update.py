"""Jobset storage written at once (``storage.update(put, delete=...)``, port verb
``kv_update``) and its async form ``job.ashared``: locally, and over HTTP through a remote
worker's port, on both backends."""

from __future__ import annotations

import asyncio

import pytest
from tests.apiserver import serving

from jobyard import Yard
from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth
from jobyard.context import AsyncStorage, PortStorage
from jobyard.errors import InvalidInput
from jobyard.jobsets import JobsetStorage
from jobyard.worker.local import LocalPort
from jobyard.worker.remote import HttpPort


def storages(yard: Yard, jobset: int) -> list[JobsetStorage]:
    return [yard.jobset(jobset).storage, PortStorage(LocalPort(yard), jobset)]


def test_update_puts_and_deletes_at_once(yard: Yard) -> None:
    js = yard.create_jobset("t", "kv")
    for storage in storages(yard, js):
        storage.update({"a": 1, "b": 2, "c": 3})
        storage.update({"a": 10}, delete=["b", "missing"])
        assert storage.snapshot() == {"a": 10, "c": 3}
        storage.update(d=4)  # dict.update's keyword form
        assert storage["d"] == 4
        # a value over the limit refuses the whole update: nothing of it is written
        with pytest.raises(InvalidInput):
            storage.update({"e": 5, "big": "x" * (yard.config.max_data_bytes + 1)}, delete=["a"])
        assert storage.snapshot() == {"a": 10, "c": 3, "d": 4}
        storage.update(delete=list(storage.snapshot()))
        assert storage.snapshot() == {}


def test_ashared_runs_off_the_loop(yard: Yard) -> None:
    js = yard.create_jobset("t", "kv")
    shared = AsyncStorage(PortStorage(LocalPort(yard), js))

    async def use() -> tuple[object, object, dict[str, object]]:
        await shared.set("x", {"n": 1})
        await shared.update({"y": 2}, delete=["x"])
        gone = await shared.delete("y")
        await shared.set("z", 3)
        return await shared.get("x", "none"), gone, await shared.snapshot()

    assert asyncio.run(use()) == ("none", True, {"z": 3})


def test_update_over_http(yard: Yard) -> None:
    yard.migrate()
    js = yard.create_jobset("t", "kv")
    with serving(create_app(yard, NoAuth())) as base:
        port = HttpPort(base, None, retry_for=2)
        storage = PortStorage(port, js)
        storage.update({"a": 1, "b": 2})
        storage.update({"c": 3}, delete=["a"])
        assert storage.snapshot() == {"b": 2, "c": 3}
        port.close()
    assert yard.jobset(js).storage.snapshot() == {"b": 2, "c": 3}
