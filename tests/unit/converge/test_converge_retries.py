"""Retries: TRIES 8, 5 and 3 succeed exactly on try N; N+1 fails and blocks dependents.

Also the retry delay (with a fake clock on the engine) and tries not spent while blocked.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from dojobber import DoJobber, DummyJob, Job, RunonlyJob
from jobyard.converge import build_graph
from jobyard.converge.compat_driver import JobDriver
from jobyard.converge.runner import Engine


class Flaky(Job):
    """Passes once Run has run ``kwargs[<name>]`` times (counted across tries)."""

    def Check(self, *a: Any, **k: Any) -> None:
        name = type(self).__name__
        if self.global_storage.get(name, 0) < k[name]:
            raise RuntimeError(f"{name} not yet")

    def Run(self, *a: Any, **k: Any) -> None:
        name = type(self).__name__
        self.global_storage[name] = self.global_storage.get(name, 0) + 1
        k["runs"][name] = k["runs"].get(name, 0) + 1


class Eight(Flaky):
    TRIES = 8
    RETRY_DELAY = 0


class Five(Flaky):
    DEPS = (Eight,)
    TRIES = 5


class Three(RunonlyJob):
    TRIES = 3

    def Run(self, *a: Any, **k: Any) -> str:
        k["runs"]["Three"] = k["runs"].get("Three", 0) + 1
        if k["runs"]["Three"] < k["Three"]:
            raise RuntimeError("Three not yet")
        return "done"


class UsesFive(DummyJob):
    DEPS = (Five,)


class UsesThree(DummyJob):
    DEPS = (Three,)


class Meal(DummyJob):
    DEPS = (UsesFive, UsesThree)


def converge(eight: int, five: int, three: int) -> tuple[DoJobber, dict[str, int]]:
    runs: dict[str, int] = {}
    dojob = DoJobber()
    dojob.configure(Meal, default_retry_delay=0)
    dojob.set_args(Eight=eight, Five=five, Three=three, runs=runs)
    dojob.checknrun()
    return dojob, runs


def test_every_node_succeeds_on_its_last_try() -> None:
    dojob, runs = converge(8, 5, 3)
    assert dojob.success()
    assert runs == {"Eight": 8, "Five": 5, "Three": 3}


def test_succeeds_earlier_when_possible() -> None:
    dojob, runs = converge(2, 1, 1)
    assert dojob.success()
    assert runs == {"Eight": 2, "Five": 1, "Three": 1}


@pytest.mark.parametrize(
    ("counts", "status", "runs"),
    [
        (
            (9, 5, 3),
            {"Eight": False, "Five": None, "UsesFive": None, "Three": True, "UsesThree": True},
            {"Eight": 8, "Three": 3},
        ),
        (
            (8, 6, 3),
            {"Eight": True, "Five": False, "UsesFive": None, "Three": True, "UsesThree": True},
            {"Eight": 8, "Five": 5, "Three": 3},
        ),
        (
            (8, 5, 4),
            {"Eight": True, "Five": True, "UsesFive": True, "Three": False, "UsesThree": None},
            {"Eight": 8, "Five": 5, "Three": 3},
        ),
    ],
)
def test_one_more_than_tries_fails_and_blocks_dependents(
    counts: tuple[int, int, int], status: dict[str, bool | None], runs: dict[str, int]
) -> None:
    dojob, ran = converge(*counts)
    assert dojob.nodestatus == {**status, "Meal": None}
    assert ran == runs
    assert not dojob.success()


def test_tries_are_not_spent_while_blocked() -> None:
    # Five waits 7 phases for Eight, then still has all of its 5 tries.
    dojob, runs = converge(8, 5, 1)
    assert dojob.success()
    assert runs["Five"] == 5


class Slow(Job):
    TRIES = 3
    RETRY_DELAY = 0.05

    def Check(self, *a: Any, **k: Any) -> None:
        raise RuntimeError("never")

    def Run(self, *a: Any, **k: Any) -> None:
        pass


def test_retry_delay_is_waited_between_tries_of_a_node() -> None:
    started = time.monotonic()
    dojob = DoJobber()
    dojob.configure(Slow)
    dojob.checknrun()
    assert dojob.nodestatus == {"Slow": False}
    assert time.monotonic() - started >= 0.1  # two waits of 0.05 s


class Quick(Job):
    TRIES = 2
    RETRY_DELAY = 10

    def Check(self, *a: Any, **k: Any) -> None:
        raise RuntimeError("never")

    def Run(self, *a: Any, **k: Any) -> None:
        pass


class Other(Job):
    TRIES = 2
    RETRY_DELAY = 4

    def Check(self, *a: Any, **k: Any) -> None:
        raise RuntimeError("never")

    def Run(self, *a: Any, **k: Any) -> None:
        pass


class Pair(DummyJob):
    DEPS = (Quick, Other)


def test_engine_sleeps_only_what_is_left_of_each_nodes_delay() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    engine = Engine(build_graph(Pair), JobDriver(), clock=lambda: now[0], sleep=sleep)
    engine.run()
    assert engine.status == {"Quick": False, "Other": False, "Pair": None}
    # phase 1: Quick waits its 10 s; by then Other's 4 s have passed already
    assert slept == [10.0]
    assert engine.attempts("Quick") == 2 and engine.attempts("Other") == 2
