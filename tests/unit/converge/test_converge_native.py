"""The native API: Node/Group/Action, dynamic nodes from arguments, the shared runner."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from dojobber import DummyJob, Job
from jobyard.converge import (
    Action,
    DepsError,
    Event,
    GraphError,
    Group,
    Node,
    NotConverged,
    build_graph,
    converge,
    is_native,
    plan,
)

# A tiny fake "world" the nodes converge: it is passed in the run's arguments.


class Reachable(Node):
    def __init__(self, host: str) -> None:
        super().__init__(host=host)
        self.host = host

    def check(self) -> object:
        return self.host not in self.args["world"]["down"]

    def run(self) -> None:
        self.args["world"]["log"].append(f"reboot {self.host}")


class Installed(Node):
    retry_delay = 0

    def __init__(self, host: str, package: str) -> None:
        super().__init__(host=host, package=package)
        self.host, self.package = host, package

    def requires(self) -> Iterable[Any]:
        return [Reachable(host=self.host)]

    def check(self) -> object:
        installed = self.args["world"]["installed"]
        if self.package not in installed.get(self.host, set()):
            raise LookupError(f"{self.package} missing on {self.host}")
        return f"{self.package}@{self.host}"

    def run(self) -> None:
        self.args["world"]["log"].append(f"install {self.package} on {self.host}")
        self.args["world"]["installed"].setdefault(self.host, set()).add(self.package)


class Fleet(Group):
    def requires(self) -> Iterable[Any]:
        return [Installed(host=h, package="nginx") for h in self.args["hosts"]]


def world(*down: str) -> dict[str, Any]:
    return {"down": set(down), "installed": {"web1": {"nginx"}}, "log": []}


def test_one_node_per_host_from_the_arguments() -> None:
    state = world("web3")
    args = {"hosts": ["web1", "web2", "web3"], "world": state}
    result = converge(Fleet, args=args, default_retry_delay=0)
    assert result.status == {
        "Reachable[host=web1]": True,
        "Installed[host=web1, package=nginx]": True,
        "Reachable[host=web2]": True,
        "Installed[host=web2, package=nginx]": True,
        "Reachable[host=web3]": False,
        "Installed[host=web3, package=nginx]": None,
        "Fleet": None,
    }
    assert result.outcomes["Installed[host=web1, package=nginx]"] == "passed"
    assert result.outcomes["Installed[host=web2, package=nginx]"] == "converged"
    assert result.results["Installed[host=web2, package=nginx]"] == "nginx@web2"
    assert result.attempts["Reachable[host=web3]"] == 3
    assert isinstance(result.errors["Reachable[host=web3]"], NotConverged)
    assert set(result.errors) == set(result.failed) == {"Reachable[host=web3]"}
    assert result.blocked == ("Installed[host=web3, package=nginx]", "Fleet")
    assert state["log"] == ["install nginx on web2"] + ["reboot web3"] * 3
    assert not result.success and result.partial_success


def test_graph_of_a_dynamic_root_depends_on_the_arguments() -> None:
    graph = build_graph(Fleet, args={"hosts": ["a", "b"]}, default_retry_delay=2)
    assert graph.names == (
        "Reachable[host=a]",
        "Installed[host=a, package=nginx]",
        "Reachable[host=b]",
        "Installed[host=b, package=nginx]",
        "Fleet",
    )
    assert graph["Installed[host=a, package=nginx]"].retry_delay == 0
    assert graph["Reachable[host=a]"].retry_delay == 2
    assert graph["Fleet"].deps == (
        "Installed[host=a, package=nginx]",
        "Installed[host=b, package=nginx]",
    )


def test_a_converged_fleet_and_plan() -> None:
    state = world()
    args = {"hosts": ["web1", "web2"], "world": state}
    before = plan(Fleet, args=args)
    assert before.no_act and not before.success
    assert before.failed == ("Installed[host=web2, package=nginx]",)
    assert state["log"] == []  # plan never runs anything
    assert converge(Fleet, args=args).success
    assert plan(Fleet, args=args).success


class Counter(Node):
    tries = 4

    def check(self) -> object:
        return self.shared.get("n", 0) >= 3

    def run(self) -> None:
        self.shared["n"] = self.shared.get("n", 0) + 1
        self.storage["mine"] = True


class AfterCounter(Node):
    deps = [Counter]

    def check(self) -> object:
        return self.shared["n"]


def test_retries_shared_and_per_try_storage() -> None:
    result = converge(AfterCounter, default_retry_delay=0)
    assert result.status == {"Counter": True, "AfterCounter": True}
    assert result.attempts == {"Counter": 3, "AfterCounter": 1}
    assert result.results["AfterCounter"] == 3


CALLS: list[str] = []


class Shout(Action):
    label = "shout {word}"

    def run(self) -> object:
        CALLS.append(self.params["word"])
        if self.params["word"] == "boom":
            raise RuntimeError("boom!")
        return self.params["word"].upper()


class Chorus(Group):
    def requires(self) -> Iterable[Any]:
        return [Shout(word="hey"), Shout(word="boom"), Shout(word="hey")]


def test_actions_run_every_try_and_labels_name_nodes() -> None:
    CALLS.clear()
    result = converge(Chorus, default_tries=2, default_retry_delay=0)
    assert result.status == {"shout hey": True, "shout boom": False, "Chorus": None}
    assert result.results["shout hey"] == "HEY"
    assert str(result.errors["shout boom"]) == "boom!"
    assert CALLS == ["hey", "boom", "boom"]
    CALLS.clear()
    planned = plan(Chorus)
    assert planned.status == {"shout hey": False, "shout boom": False, "Chorus": None}
    assert "always runs" in str(planned.errors["shout hey"])
    assert CALLS == []


class Twin(Node):
    label = "twin"

    def __init__(self, n: int) -> None:
        super().__init__(n=n)

    def check(self) -> None:
        pass


class Twins(Group):
    deps = [Twin(n=1), Twin(n=2)]


def test_two_different_nodes_with_one_name_are_refused() -> None:
    with pytest.raises(GraphError, match="two different nodes are named 'twin'"):
        build_graph(Twins)


class BadRequires(Group):
    def requires(self) -> Iterable[Any]:
        raise KeyError("hosts")


class NotIterable(Group):
    deps = 5  # type: ignore[assignment]


class NotANode(Group):
    deps = [object()]


def test_bad_dependencies_are_configure_errors() -> None:
    with pytest.raises(GraphError, match=r"BadRequires.requires\(\) failed: KeyError"):
        build_graph(BadRequires)
    with pytest.raises(DepsError) as caught:
        build_graph(NotIterable)
    assert isinstance(caught.value, TypeError)
    with pytest.raises(DepsError, match="not a Node class"):
        build_graph(NotANode)


class Fragile(Node):
    def __init__(self) -> None:
        raise RuntimeError("cannot build")

    def check(self) -> None:
        pass


class OnFragile(Group):
    deps = [Fragile]


class Fine(Group):
    pass


class FragileRoot(Group):
    deps = [OnFragile, Fine]


def test_broken_constructor_fails_its_node_only() -> None:
    result = converge(FragileRoot, default_retry_delay=0)
    assert result.status == {
        "Fragile": False,
        "OnFragile": None,
        "Fine": True,
        "FragileRoot": None,
    }
    assert str(result.errors["Fragile"]) == "cannot build"
    assert result.attempts["Fragile"] == 3


SEEN: list[object] = []


class Tidy(Node):
    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        SEEN.append(self)

    def check(self) -> None:
        pass

    def cleanup(self) -> None:
        CALLS.append(f"cleanup {self.params['name']}")
        if self.params["name"] == "bad":
            raise OSError("cannot tidy")


class TidyAll(Group):
    deps = [Tidy(name="first"), Tidy(name="bad"), Tidy(name="last")]


def test_cleanups_run_lifo_and_errors_are_collected() -> None:
    CALLS.clear()
    SEEN.clear()
    result = converge(TidyAll)
    assert result.success
    assert CALLS == ["cleanup last", "cleanup bad", "cleanup first"]
    assert [(name, str(err)) for name, err in result.cleanup_errors] == [
        ("Tidy[name=bad]", "cannot tidy")
    ]
    # every try works on a fresh object built from the same parameters
    assert len(SEEN) == 3


def test_events_reach_listeners() -> None:
    events: list[Event] = []
    converge(AfterCounter, default_retry_delay=0, listeners=[events.append])
    kinds = [(e.node, e.kind, e.attempt) for e in events if e.node == "Counter"]
    assert kinds[:4] == [
        ("Counter", "try", 1),
        ("Counter", "check-fail", 1),
        ("Counter", "run-pass", 1),
        ("Counter", "recheck-fail", 1),
    ]
    assert kinds[-1] == ("Counter", "recheck-pass", 3)


class LegacyLeaf(DummyJob):
    pass


class LegacyRoot(Job):
    DEPS = (LegacyLeaf,)

    def Check(self, *args: Any, **kwargs: Any) -> object:
        return kwargs["answer"]


def test_converge_runs_dojobber_jobs_on_the_same_runner() -> None:
    assert not is_native(LegacyRoot) and is_native(Fleet) and is_native(Fleet())
    result = converge(LegacyRoot, args={"answer": 42})
    assert result.success
    assert result.results == {"LegacyLeaf": None, "LegacyRoot": 42}


class ByName(Group):
    deps = ["Named"]


class Named(Group):
    pass


class NamedRoot(Group):
    deps = [ByName, Named]


def test_dependencies_by_name() -> None:
    assert converge(NamedRoot).status == {"Named": True, "ByName": True, "NamedRoot": True}


def test_args_are_read_only_for_nodes() -> None:
    class Writer(Node):
        def check(self) -> None:
            self.args["x"] = 1  # type: ignore[index]

        def run(self) -> None:
            pass

    result = converge(Writer, default_tries=1)
    assert isinstance(result.errors["Writer"], TypeError)


def test_node_without_check_fails_clearly() -> None:
    class Forgetful(Node):
        pass

    result = converge(Forgetful, default_tries=1)
    assert "Forgetful defines no check()" in str(result.errors["Forgetful"])
    assert repr(Forgetful()) == "<Forgetful>"
