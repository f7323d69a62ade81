"""The converge graph: nodes, their dependencies, tries and retry delays.

A graph is built once from a root (a DoJobber ``Job`` class or a native :class:`Node`)
by following dependencies depth first. Nodes are keyed by name. The execution order is
DoJobber's: a depth-first post-order from the root that follows each node's
dependencies in the order they were declared, so every node comes after all of its
dependencies and the root comes last.

:class:`Graph` is plain data on purpose: a distributed runner can map each
:class:`NodeSpec` onto a queue job (``deps`` become job dependencies, ``tries`` and
``retry_delay`` the retry policy) without knowing anything about the in-process runner.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobyard.errors import ConvergeError
from jobyard.i18n import _

__all__ = [
    "CycleError",
    "DepsError",
    "Described",
    "Graph",
    "GraphError",
    "NodeSpec",
    "RetryDelayError",
    "TriesError",
    "build",
    "validate_retry_delay",
    "validate_tries",
]


class GraphError(ConvergeError):
    """A converge graph cannot be built."""


class CycleError(GraphError, RuntimeError):
    """The dependencies contain a cycle (a ``RuntimeError``, as in DoJobber)."""


class DepsError(GraphError, TypeError):
    """``DEPS`` / ``deps`` is not an iterable of nodes (a ``TypeError``, as in DoJobber)."""


class TriesError(GraphError, RuntimeError):
    """``TRIES`` is smaller than one (a ``RuntimeError``, as in DoJobber)."""


class RetryDelayError(GraphError, RuntimeError):
    """``RETRY_DELAY`` is negative (a ``RuntimeError``, as in DoJobber)."""


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph: what a runner needs to schedule it."""

    name: str
    deps: tuple[str, ...]
    tries: float
    retry_delay: float
    target: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "deps": list(self.deps),
            "tries": self.tries,
            "retry_delay": self.retry_delay,
        }


@dataclass(frozen=True)
class Described:
    """What a describer learned about one node reference (see :func:`build`)."""

    name: str
    deps: tuple[object, ...]
    tries: float
    retry_delay: float
    target: object
    key: Hashable = None
    placeholder: bool = False


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_tries(name: str, tries: object) -> float:
    """Return ``tries`` if it is a number whose integer part is at least one."""
    if not _is_number(tries) or math.isnan(tries):  # type: ignore[arg-type]
        raise TriesError(
            _('{name}: TRIES "{tries}" must be a number >= 1.', name=name, tries=tries)
        )
    assert isinstance(tries, int | float)
    if int(tries) < 1:
        raise TriesError(_('{name}: TRIES "{tries}" must be >= 1.', name=name, tries=tries))
    return tries


def validate_retry_delay(name: str, delay: object) -> float:
    """Return ``delay`` if it is a non-negative number of seconds."""
    if not _is_number(delay) or math.isnan(delay):  # type: ignore[arg-type]
        raise RetryDelayError(
            _('{name}: RETRY_DELAY "{delay}" must be a number of seconds', name=name, delay=delay)
        )
    assert isinstance(delay, int | float)
    if delay < 0:
        raise RetryDelayError(
            _('{name}: RETRY_DELAY "{delay}" cannot be negative', name=name, delay=delay)
        )
    return delay


@dataclass(frozen=True)
class Graph:
    """A validated, acyclic converge graph.

    ``specs`` keeps declaration order (the root first, then depth-first pre-order);
    iterating the graph or reading ``nodes`` gives DoJobber's execution order.
    """

    root: str
    specs: Mapping[str, NodeSpec]
    nodes: tuple[NodeSpec, ...] = ()
    _closure: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        order = post_order(self.specs, self.root)
        object.__setattr__(self, "nodes", tuple(self.specs[name] for name in order))

    def __iter__(self) -> Iterator[NodeSpec]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __getitem__(self, name: str) -> NodeSpec:
        return self.specs[name]

    @property
    def names(self) -> tuple[str, ...]:
        """Node names in execution order."""
        return tuple(spec.name for spec in self.nodes)

    def order(self, start: str | None = None) -> tuple[str, ...]:
        """Execution order of the sub-graph under ``start`` (default: the whole graph)."""
        if start is None or start == self.root:
            return self.names
        if start not in self.specs:
            raise GraphError(
                _("no node named {start!r} in the graph of {root}", start=start, root=self.root)
            )
        return post_order(self.specs, start)

    def requires(self, name: str) -> frozenset[str]:
        """Every node ``name`` depends on, directly or not."""
        found = self._closure.get(name)
        if found is None:
            found = frozenset(post_order(self.specs, name)[:-1])
            self._closure[name] = found
        return found

    def dependents(self, name: str) -> tuple[str, ...]:
        """Nodes that list ``name`` among their direct dependencies."""
        return tuple(spec.name for spec in self.specs.values() if name in spec.deps)

    def edges(self) -> list[tuple[str, str]]:
        """``(dependent, dependency)`` pairs in declaration order."""
        return [(spec.name, dep) for spec in self.specs.values() for dep in spec.deps]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description: the root and the nodes in execution order."""
        return {"root": self.root, "nodes": [spec.to_dict() for spec in self.nodes]}


def post_order(specs: Mapping[str, NodeSpec], start: str) -> tuple[str, ...]:
    """Depth-first post-order from ``start``, following ``deps`` in declared order."""
    seen = {start}
    out: list[str] = []
    stack: list[tuple[str, Iterator[str]]] = [(start, iter(specs[start].deps))]
    while stack:
        name, pending = stack[-1]
        for dep in pending:
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, iter(specs[dep].deps)))
                break
        else:
            stack.pop()
            out.append(name)
    return tuple(out)


def find_cycle(specs: Mapping[str, NodeSpec]) -> list[str] | None:
    """Return one dependency cycle as a list of names (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for first in specs:
        if first in state:
            continue
        path: list[str] = [first]
        state[first] = 1
        stack: list[Iterator[str]] = [iter(specs[first].deps)]
        while stack:
            for dep in stack[-1]:
                if state.get(dep) == 1:
                    return [*path[path.index(dep) :], dep]
                if dep not in state:
                    state[dep] = 1
                    path.append(dep)
                    stack.append(iter(specs[dep].deps))
                    break
            else:
                stack.pop()
                state[path.pop()] = 2
    return None


Describer = Callable[[object], Described]


def build(root: object, describe: Describer, *, strict_names: bool = False) -> Graph:
    """Build a :class:`Graph` from ``root`` by following what ``describe`` reports.

    A name seen again is the same node. With ``strict_names`` two different
    references (by ``key``) with one name are an error; otherwise the first one wins,
    as in DoJobber. A placeholder (a dependency given only by name) is replaced by a
    real node of that name met anywhere in the graph.
    """
    found: dict[str, Described] = {}
    deps: dict[str, tuple[str, ...]] = {}

    def register(ref: object) -> tuple[str, tuple[object, ...] | None]:
        """Record ``ref``; return its name and, when it is new, its dependencies."""
        info = describe(ref)
        known = found.get(info.name)
        if known is not None:
            if known.placeholder and not info.placeholder:
                found[info.name] = info
                return info.name, info.deps
            if strict_names and not info.placeholder and known.key != info.key:
                raise GraphError(
                    _(
                        "two different nodes are named {name!r}; give them distinct names",
                        name=info.name,
                    )
                )
            return info.name, None
        found[info.name] = info
        return info.name, info.deps

    root_name, root_deps = register(root)
    stack: list[tuple[str, Iterator[object], list[str]]] = [(root_name, iter(root_deps or ()), [])]
    while stack:
        name, pending, names = stack[-1]
        for ref in pending:
            child, child_deps = register(ref)
            names.append(child)
            if child_deps is not None:
                stack.append((child, iter(child_deps), []))
                break
        else:
            stack.pop()
            deps[name] = tuple(dict.fromkeys(names))
    specs = {
        name: NodeSpec(name, deps.get(name, ()), info.tries, info.retry_delay, info.target)
        for name, info in found.items()
    }
    cycle = find_cycle(specs)
    if cycle is not None:
        raise CycleError("Programmer error: graph contains cycles: " + " -> ".join(cycle))
    return Graph(root=root_name, specs=specs)
