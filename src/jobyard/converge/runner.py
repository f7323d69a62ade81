"""The in-process converge runner shared by the DoJobber compat module and the native API.

One *try* of a node (:func:`attempt`): create a fresh object, give it a fresh
``storage`` and the run's shared storage, go back to the start directory, Check; if the
Check fails, Run (its failure is only recorded) and Check again. In no-act mode a
failed Check ends the try. Exceptions from user code never escape a try.

The :class:`Engine` works in *phases*: each phase walks the graph in DoJobber's order
(depth-first post-order) and gives every unblocked node that has tries left at most one
try. A node is blocked while any of its transitive dependencies is not ``True``. Phases
stop when everything passed, when no failed node has tries left, or after one phase in
no-act mode. Between two tries of one node the engine waits ``retry_delay`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from jobyard.converge.model import Graph, NodeSpec

__all__ = [
    "Attempt",
    "Driver",
    "Engine",
    "Event",
    "EventKind",
    "Listener",
    "Outcome",
    "Phase",
    "attempt",
]

log = logging.getLogger("jobyard.converge")

Phase = Literal["check", "recheck"]
Outcome = Literal["passed", "converged", "failed"]
EventKind = Literal[
    "try",
    "init-fail",
    "check-pass",
    "check-fail",
    "run-pass",
    "run-fail",
    "recheck-pass",
    "recheck-fail",
    "cleanup-start",
    "cleanup-pass",
    "cleanup-fail",
]


@dataclass(frozen=True)
class Event:
    """Something happened to a node; ``attempt`` counts its tries from 1."""

    node: str
    kind: EventKind
    attempt: int = 0
    error: BaseException | None = None
    result: Any = None
    no_act: bool = False


Listener = Callable[[Event], None]


class Driver(Protocol):
    """How the runner talks to one kind of node (DoJobber jobs, native nodes)."""

    def create(self, spec: NodeSpec) -> object: ...

    def bind(
        self,
        obj: object,
        storage: dict[str, Any],
        shared: dict[str, Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None: ...

    def check(
        self, obj: object, phase: Phase, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> object: ...

    def run(self, obj: object, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> object: ...

    def cleanup(self, obj: object) -> Callable[[], object] | None: ...


@dataclass
class Attempt:
    """What one try of a node ended with."""

    node: str
    ok: bool
    outcome: Outcome
    result: Any = None
    error: BaseException | None = None
    obj: object | None = None


def _chdir(path: str | None) -> None:
    if path is not None:
        os.chdir(path)


def attempt(
    spec: NodeSpec,
    driver: Driver,
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    shared: dict[str, Any] | None = None,
    no_act: bool = False,
    cwd: str | None = None,
    number: int = 1,
    emit: Listener | None = None,
) -> Attempt:
    """Run one try of ``spec``: create, (Check | Check, Run, recheck). Never raises."""
    kwargs = {} if kwargs is None else kwargs
    shared = {} if shared is None else shared

    def tell(kind: EventKind, error: BaseException | None = None, result: Any = None) -> None:
        if emit is not None:
            emit(Event(spec.name, kind, number, error, result, no_act))

    tell("try")
    try:
        obj = driver.create(spec)
        driver.bind(obj, {}, shared, args, kwargs)
    except Exception as err:
        tell("init-fail", err)
        return Attempt(spec.name, False, "failed", error=err)
    try:
        _chdir(cwd)
        result = driver.check(obj, "check", args, kwargs)
    except Exception as err:
        tell("check-fail", err)
        if no_act:
            return Attempt(spec.name, False, "failed", error=err, obj=obj)
    else:
        tell("check-pass", result=result)
        return Attempt(spec.name, True, "passed", result=result, obj=obj)
    try:
        _chdir(cwd)
        ran = driver.run(obj, args, kwargs)
    except Exception as err:
        tell("run-fail", err)
    else:
        tell("run-pass", result=ran)
    try:
        _chdir(cwd)
        result = driver.check(obj, "recheck", args, kwargs)
    except Exception as err:
        tell("recheck-fail", err)
        return Attempt(spec.name, False, "failed", error=err, obj=obj)
    tell("recheck-pass", result=result)
    return Attempt(spec.name, True, "converged", result=result, obj=obj)


@dataclass
class _Retry:
    tries_left: float
    delay: float
    next_try: float
    last_phase: int = -1
    attempts: int = 0


@dataclass
class Engine:
    """Runs a :class:`Graph` with a :class:`Driver`; keeps DoJobber's result dictionaries.

    Retry bookkeeping (tries left, phase counter) and the list of created objects live as
    long as the engine, as in DoJobber; each :meth:`run` starts fresh ``status``,
    ``outcomes`` and shared storage.
    """

    graph: Graph
    driver: Driver
    no_act: bool = False
    listeners: list[Listener] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    status: dict[str, bool | None] = field(default_factory=dict)
    exceptions: dict[str, BaseException] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    instances: list[tuple[str, object]] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)
    phase: int = 0
    _retry: dict[str, _Retry] = field(default_factory=dict, repr=False)
    _cwd: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        now = self.clock()
        for spec in self.graph.specs.values():
            self._retry[spec.name] = _Retry(spec.tries, spec.retry_delay, now)

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def attempts(self, name: str) -> int:
        """How many tries ``name`` has had so far."""
        return self._retry[name].attempts

    def tries_left(self, name: str) -> float:
        return self._retry[name].tries_left

    def success(self) -> bool:
        return bool(self.status) and all(self.status.values())

    def partial_success(self) -> bool:
        return bool(self.status) and any(self.status.values())

    def run(
        self,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        start: str | None = None,
    ) -> None:
        """Work in phases until success, no retriable failure left, or one no-act phase."""
        self._cwd = os.path.realpath(os.curdir)
        self.shared = {}
        self.status = {}
        self.outcomes = {}
        order = self.graph.order(start)
        call_args = tuple(args)
        call_kwargs = dict(kwargs or {})
        try:
            while True:
                self._phase(order, call_args, call_kwargs)
                if self.success():
                    break
                self.phase += 1
                retriable = any(
                    self.status.get(name) is False and self._retry[name].tries_left > 0
                    for name in order
                )
                if not retriable or self.no_act:
                    break
        finally:
            with contextlib.suppress(OSError):
                _chdir(self._cwd)

    def _phase(self, order: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for name in order:
            if self.status.get(name):
                continue
            self.status.setdefault(name, None)
            # Dependencies come first in the order and a node only passes once all of its
            # own dependencies passed, so "every direct dependency is True" means every
            # transitive one is too: DoJobber's blocking rule.
            if any(not self.status.get(dep) for dep in self.graph[name].deps):
                continue
            retry = self._retry[name]
            if retry.last_phase >= self.phase or retry.tries_left <= 0:
                continue
            wait = retry.next_try - self.clock()
            if wait > 0:
                self.sleep(wait)
            retry.next_try = self.clock() + retry.delay
            retry.last_phase = self.phase
            retry.tries_left -= 1
            retry.attempts += 1
            self._record(
                attempt(
                    self.graph[name],
                    self.driver,
                    args=args,
                    kwargs=kwargs,
                    shared=self.shared,
                    no_act=self.no_act,
                    cwd=self._cwd,
                    number=retry.attempts,
                    emit=self.emit,
                )
            )

    def _record(self, done: Attempt) -> None:
        if done.obj is not None:
            self.instances.append((done.node, done.obj))
        self.status[done.node] = done.ok
        self.outcomes[done.node] = done.outcome
        if done.ok:
            self.results[done.node] = done.result
        elif done.error is not None:
            self.exceptions[done.node] = done.error

    def cleanup(self, *, stop_on_error: bool, forget: bool = False) -> list[tuple[str, Exception]]:
        """Call each created object's cleanup, last created first.

        With ``stop_on_error`` the first exception is re-raised (DoJobber); otherwise
        every cleanup runs and the failures are returned. With ``forget`` the objects
        are dropped afterwards so a second call does nothing.
        """
        failures: list[tuple[str, Exception]] = []
        instances = list(reversed(self.instances))
        if forget:
            self.instances.clear()
        for name, obj in instances:
            method = self.driver.cleanup(obj)
            if method is None:
                continue
            self.emit(Event(name, "cleanup-start"))
            try:
                method()
            except Exception as err:
                self.emit(Event(name, "cleanup-fail", error=err))
                if stop_on_error:
                    raise
                failures.append((name, err))
            else:
                self.emit(Event(name, "cleanup-pass"))
        return failures
