"""How the runner builds and runs DoJobber job classes (used by :mod:`.compat`).

A job class is described by its ``__name__``, ``DEPS``, ``TRIES`` and ``RETRY_DELAY``;
:class:`JobDriver` creates one object per try and calls ``Check``/``Run``/``Cleanup``,
keeping DoJobber's ``_check_phase``, ``_check_results``, ``_run_exception``... attributes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from jobyard.converge.model import (
    DepsError,
    Described,
    Graph,
    NodeSpec,
    build,
    validate_retry_delay,
    validate_tries,
)
from jobyard.converge.runner import Phase
from jobyard.i18n import _

__all__ = ["JobDriver", "build_job_graph", "describe_job", "job_name"]


def job_name(ref: object) -> str | None:
    if isinstance(ref, str):
        return ref
    name = getattr(ref, "__name__", None)
    return name if isinstance(name, str) and callable(ref) else None


def describe_job(
    ref: object,
    default_tries: float = 3,
    default_retry_delay: float = 1,
    log: logging.Logger | None = None,
) -> Described:
    """What :func:`jobyard.converge.model.build` needs to know about a job class."""
    name = job_name(ref)
    if name is None:
        raise DepsError(_("{ref!r} is not a Job class", ref=ref))
    if isinstance(ref, str):
        return Described(ref, (), default_tries, default_retry_delay, ref, ref, True)
    tries = getattr(ref, "TRIES", None)
    delay = getattr(ref, "RETRY_DELAY", None)
    delay = validate_retry_delay(name, default_retry_delay if delay is None else delay)
    tries = validate_tries(name, default_tries if tries is None else tries)
    deps = getattr(ref, "DEPS", [])
    try:
        if isinstance(deps, str | bytes):
            raise TypeError("a string")
        found = tuple(deps)
    except TypeError:
        if log is not None:
            log.critical('DEPS for %s is not iterable; is "%s"', name, deps)
        raise DepsError(
            _(
                'DEPS for {name} is not an iterable of Job classes; is "{deps!r}"',
                name=name,
                deps=deps,
            )
        ) from None
    for dep in found:
        if job_name(dep) is None:
            raise DepsError(
                _("DEPS for {name} contains {dep!r}, which is not a Job class", name=name, dep=dep)
            )
    return Described(name, found, tries, delay, ref, ref)


def build_job_graph(
    root: object, default_tries: float = 3, default_retry_delay: float = 1
) -> Graph:
    """The graph of a DoJobber root class, nodes keyed by class name (first one wins)."""
    return build(root, lambda ref: describe_job(ref, default_tries, default_retry_delay))


class JobDriver:
    """Runner driver for DoJobber job classes."""

    def create(self, spec: NodeSpec) -> object:
        if isinstance(spec.target, str):
            raise TypeError(_("no Job class named {target!r} in the graph", target=spec.target))
        return spec.target()

    def bind(
        self,
        obj: object,
        storage: dict[str, Any],
        shared: dict[str, Any],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        setter = getattr(obj, "_set_storage", None)
        if callable(setter):
            setter(storage, shared)
        else:
            obj.storage = storage  # type: ignore[attr-defined]
            obj.global_storage = shared  # type: ignore[attr-defined]

    def check(
        self, obj: Any, phase: Phase, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> object:
        obj._check_phase = phase
        prefix = "_check" if phase == "check" else "_recheck"
        try:
            result = obj.Check(*args, **kwargs)
        except Exception as err:
            setattr(obj, f"{prefix}_exception", err)
            raise
        setattr(obj, f"{prefix}_results", result)
        return result

    def run(self, obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> object:
        try:
            result = obj.Run(*args, **kwargs)
        except Exception as err:
            obj._run_exception = err
            raise
        obj._run_results = result
        return result

    def cleanup(self, obj: object) -> Callable[[], object] | None:
        method = getattr(obj, "Cleanup", None)
        return method if callable(method) else None
