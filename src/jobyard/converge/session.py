"""Running a graph of either kind (native nodes or DoJobber jobs) and its :class:`Result`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobyard.converge import compat_driver
from jobyard.converge.graph import to_dot
from jobyard.converge.model import Graph
from jobyard.converge.native import NodeDriver, build_node_graph, is_native
from jobyard.converge.runner import Driver, Engine, Listener, Outcome

__all__ = ["Result", "converge", "graph_and_driver", "plan", "run_graph"]


@dataclass(frozen=True)
class Result:
    """How a converge run ended."""

    graph: Graph
    status: Mapping[str, bool | None]
    outcomes: Mapping[str, Outcome] = field(default_factory=dict)
    results: Mapping[str, Any] = field(default_factory=dict)
    errors: Mapping[str, BaseException] = field(default_factory=dict)
    attempts: Mapping[str, int] = field(default_factory=dict)
    cleanup_errors: tuple[tuple[str, Exception], ...] = ()
    no_act: bool = False

    @property
    def success(self) -> bool:
        """Every node is True (in no-act mode: nothing would have to run)."""
        return bool(self.status) and all(self.status.values())

    @property
    def partial_success(self) -> bool:
        return bool(self.status) and any(self.status.values())

    def _names(self, wanted: bool | None) -> tuple[str, ...]:
        return tuple(name for name, value in self.status.items() if value is wanted)

    @property
    def passed(self) -> tuple[str, ...]:
        return self._names(True)

    @property
    def failed(self) -> tuple[str, ...]:
        return self._names(False)

    @property
    def blocked(self) -> tuple[str, ...]:
        """Nodes not tried: a dependency is not True (or the run stopped before them)."""
        return self._names(None)

    def to_dot(self) -> str:
        return to_dot(self.graph, self.outcomes)


def graph_and_driver(
    root: object,
    args: Mapping[str, Any] | None = None,
    default_tries: float = 3,
    default_retry_delay: float = 1,
) -> tuple[Graph, Driver]:
    """Build the graph of a native or a DoJobber root and the driver that runs it."""
    if is_native(root):
        return build_node_graph(root, args, default_tries, default_retry_delay), NodeDriver()
    return compat_driver.build_job_graph(
        root, default_tries, default_retry_delay
    ), compat_driver.JobDriver()


def run_graph(
    graph: Graph,
    driver: Driver,
    *,
    args: Mapping[str, Any] | None = None,
    no_act: bool = False,
    cleanup: bool = True,
    listeners: Iterable[Listener] = (),
) -> Result:
    """Run an already built graph with its driver (see :func:`graph_and_driver`)."""
    engine = Engine(graph, driver, no_act=no_act, listeners=list(listeners))
    engine.run((), args)
    failures = engine.cleanup(stop_on_error=False, forget=True) if cleanup else []
    return Result(
        graph=graph,
        status=dict(engine.status),
        outcomes=dict(engine.outcomes),
        results=dict(engine.results),
        errors={n: e for n, e in engine.exceptions.items() if engine.status.get(n) is False},
        attempts={name: engine.attempts(name) for name in graph.names},
        cleanup_errors=tuple(failures),
        no_act=no_act,
    )


def converge(
    root: object,
    *,
    args: Mapping[str, Any] | None = None,
    no_act: bool = False,
    cleanup: bool = True,
    default_tries: float = 3,
    default_retry_delay: float = 1,
    listeners: Iterable[Listener] = (),
) -> Result:
    """Check and run the graph under ``root`` (a Node or a DoJobber Job) until it converges.

    ``args`` are given to every node (``self.args``; keyword arguments of a DoJobber
    job's Check and Run). Cleanup failures are collected, never raised.
    """
    graph, driver = graph_and_driver(root, args, default_tries, default_retry_delay)
    return run_graph(graph, driver, args=args, no_act=no_act, cleanup=cleanup, listeners=listeners)


def plan(root: object, **kwargs: Any) -> Result:
    """Run only the checks (no-act): True = already converged, False = would run."""
    return converge(root, no_act=True, **kwargs)
