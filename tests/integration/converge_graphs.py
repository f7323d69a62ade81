"""Small converge graphs for the distributed tests (imported by workers as
``tests.integration.converge_graphs``)."""

from __future__ import annotations

from typing import Any

from dojobber import DummyJob, Job
from jobyard.converge import Action, Group, Node

# -- retries: each node passes on exactly the try named in PASS_ON -----------------------------

PASS_ON = {"Eight": 8, "Five": 5, "Three": 3, "TooFew": 3}


class _PassesOnTryN(Job):
    RETRY_DELAY = 0.02

    def Check(self, *a: Any, **k: Any) -> int:
        name = type(self).__name__
        done = int(self.global_storage.get(name, 0))
        if done < PASS_ON[name]:
            raise RuntimeError(f"{name}: {done} runs so far")
        return done

    def Run(self, *a: Any, **k: Any) -> None:
        name = type(self).__name__
        self.global_storage[name] = int(self.global_storage.get(name, 0)) + 1


class Eight(_PassesOnTryN):
    TRIES = 8


class Five(_PassesOnTryN):
    TRIES = 5


class Three(_PassesOnTryN):
    TRIES = 3


class TooFew(_PassesOnTryN):
    TRIES = 2  # would pass on its 3rd try


class AfterTooFew(Job):
    DEPS = (TooFew,)

    def Check(self, *a: Any, **k: Any) -> None:
        pass


class Retries(DummyJob):
    DEPS = (Eight, Five, Three, AfterTooFew)


# -- shared storage across nodes (native API): one node per host, from the arguments ----------


class Token(Node):
    """Writes the token into the run's shared storage."""

    def check(self) -> object:
        return self.shared.get("token") == self.args["token"]

    def run(self) -> None:
        self.shared["token"] = self.args["token"]


class HostReady(Node):
    def __init__(self, host: str) -> None:
        super().__init__(host=host)
        self.host = host

    def requires(self) -> list[Any]:
        return [Token]

    def check(self) -> object:
        return self.shared.get(f"host:{self.host}") == self.shared["token"]

    def run(self) -> None:
        self.shared[f"host:{self.host}"] = self.shared["token"]


class Fleet(Group):
    def requires(self) -> list[Any]:
        return [HostReady(host=h) for h in self.args["hosts"]]


class Report(Action):
    deps = [Fleet]

    def run(self) -> object:
        return {key: self.shared[key] for key in sorted(self.shared)}
