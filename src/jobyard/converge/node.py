"""One try of one converge node on a worker: the ``converge.node`` handler.

The worker's side of :mod:`jobyard.converge.distributed` (see that module for how a graph
becomes a jobset): rebuild the graph from the job's root, run **one** try of the node with
:func:`jobyard.converge.runner.attempt`, write the shared storage back and the verbose
lines to the job log.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from typing import TYPE_CHECKING, Any

from jobyard.converge.model import Graph
from jobyard.converge.resolve import load_root
from jobyard.converge.runner import Driver, Event, EventKind, attempt
from jobyard.converge.session import graph_and_driver
from jobyard.errors import ConvergeError, Fatal, InvalidInput
from jobyard.i18n import _

if TYPE_CHECKING:
    from jobyard.context import JobContext
    from jobyard.jobsets import JobsetStorage

NODE_TYPE = "converge.node"


class NodeFailed(ConvergeError):
    """A try of a node failed; the message is the node's error (``Type: message``)."""

    plain = True  # the worker records the message alone, not "NodeFailed: ..."


# -- running one node (the worker's side) -------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _cached_graph(
    ref: str, args_json: str, default_tries: float, default_retry_delay: float
) -> tuple[Graph, Driver]:
    args = json.loads(args_json)
    return graph_and_driver(load_root(ref), args, default_tries, default_retry_delay)


_graph_lock = threading.Lock()


def _graph(
    ref: str, args_json: str, default_tries: float, default_retry_delay: float
) -> tuple[Graph, Driver]:
    """The graph and driver of a root, built once per worker process and argument set
    (under a lock: a ``.py`` root imported twice at once would make two sets of classes)."""
    with _graph_lock:
        return _cached_graph(ref, args_json, default_tries, default_retry_delay)


_LOG_LEVEL: dict[EventKind, str] = {
    "init-fail": "danger",
    "check-pass": "success",
    "check-fail": "info",
    "run-pass": "info",
    "run-fail": "warning",
    "recheck-pass": "success",
    "recheck-fail": "danger",
}


def _log_line(event: Event) -> str:
    """DoJobber's verbose line for an event (with the error, where there is one)."""
    step = event.kind.replace("-", ": ")
    if event.kind == "init-fail":
        return f'{event.node}.check: fail (could not create the node: "{event.error}")'
    if event.error is not None:
        return f'{event.node}.{step} "{event.error}"'
    return f"{event.node}.{step}"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _canonical(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):  # e.g. a dict mixing str and int keys
        return repr(value)


def _write_back(storage: JobsetStorage, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Store the keys a try added or changed; delete the keys it removed."""
    changed = {
        key: value
        for key, value in after.items()
        if key not in before or _canonical(before[key]) != _canonical(value)
    }
    if not all(isinstance(key, str) for key in changed):
        bad = next(key for key in changed if not isinstance(key, str))
        raise InvalidInput(_("global storage keys must be strings, got {bad!r}", bad=bad))
    storage.update(changed, delete=[key for key in before if key not in after])


def _cleanup(job: JobContext, driver: Driver, name: str, obj: object | None) -> None:
    method = driver.cleanup(obj) if obj is not None else None
    if method is None:
        return
    try:
        method()
    except Exception as err:
        job.log(f'{name}.cleanup: fail "{err}"', level="warning")


def run_node(
    job: JobContext,
    root: str,
    node: str,
    args: dict[str, Any] | None = None,
    default_tries: float = 3,
    default_retry_delay: float = 1,
    no_act: bool = False,
    **_ignored: Any,
) -> Any:
    """The ``converge.node`` handler: one try of one node (see the module doc)."""
    given = dict(args or {})
    graph, driver = _graph(
        root, json.dumps(given, sort_keys=True), default_tries, default_retry_delay
    )
    if node not in graph:
        raise Fatal(
            _(
                "the graph of {root} has no node {node!r} any more (was the code changed?)",
                root=root,
                node=node,
            )
        )
    storage = job.shared
    before = storage.snapshot()
    shared = copy.deepcopy(before)
    events: list[Event] = []
    done = attempt(
        graph[node],
        driver,
        kwargs=given,
        shared=shared,
        no_act=no_act,
        number=job.attempt,
        emit=events.append,
    )
    try:
        _write_back(storage, before, shared)
    finally:
        logged = [e for e in events if e.kind in _LOG_LEVEL]
        for index, event in enumerate(logged):
            data: dict[str, Any] = {"event": event.kind}
            if index == len(logged) - 1:
                data["outcome"] = done.outcome  # how the try ended (read by result())
            job.log(_log_line(event), level=_LOG_LEVEL[event.kind], data=data)
        _cleanup(job, driver, node, done.obj)
    if done.ok:
        return _jsonable(done.result)
    error = done.error
    text = f"{type(error).__name__}: {error}" if error is not None else "failed"
    raise NodeFailed(text) from error
