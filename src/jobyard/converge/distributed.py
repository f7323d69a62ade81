"""Distributed converge: the same graph runs as a jobset, one job per node, on any workers.

:func:`submit` builds the graph (exactly as the in-process runner does) and creates, in
one transaction, a jobset of kind ``converge`` with one ``converge.node`` job per node, in
DoJobber's order:

- the node's dependencies are the job's ``depends``, so a node runs once all of its
  dependencies completed, and when one fails for good the queue cancels its dependents,
  transitively: DoJobber's *blocked* (``None``);
- the node's tries are the job's attempts: ``Retry(ceil(tries) - 1, wait=retry_delay,
  backoff="constant")`` (a fractional ``TRIES`` such as 1.1 gives two tries, as in
  DoJobber); in no-act mode every node has one try;
- the job data is ``{"root": "module:Class", "node": name, "args": {...},
  "default_tries", "default_retry_delay", "no_act"}``.

A worker that knows the ``converge.node`` type (:func:`register`, or
``app = ["jobyard.converge.app"]``) runs a job by importing the root (``load_root``, as
the CLI does: the graph module must be importable by the workers — on their
``PYTHONPATH`` or listed in ``app``), rebuilding the graph and running **one** try of that
node with :func:`jobyard.converge.runner.attempt` (so ``DummyJob``, ``RunonlyJob``,
native ``Group`` and ``Action`` behave as in-process). The check (or recheck) result
becomes the job result (its ``repr`` when it is not JSON); a failed try raises, so the
queue retries the job after ``RETRY_DELAY`` and fails it once its tries are spent, with
the node's exception in the job's ``failures`` (``"PermissionError: vault sealed"``).
Each try also writes DoJobber's verbose lines to the job log.

``global_storage`` (``self.shared`` for native nodes) is the jobset's storage
(:mod:`jobyard.jobsets`): a try starts from a copy of every key, and afterwards writes back
the keys it added or changed and deletes the keys it removed — whether the try passed or
not. Values must be JSON. Two nodes running at the same time that change one key: the
last one to finish wins (keys changed by only one of them are merged fine). Give each
node its own keys, or order writers with dependencies, when that matters.

Differences from the in-process runner: nodes run in the worker's working directory; a
node's ``Cleanup()`` runs at the end of each try, on the worker (a cleanup failure is
logged, it does not fail the node); the queue is at-least-once, so a try interrupted by a
dying worker runs again. Final statuses are the same: with node outcomes that depend only
on the node's own history, :func:`status` after the run equals DoJobber's ``nodestatus``.
"""

from __future__ import annotations

import builtins
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.converge.model import Graph, GraphError, NodeSpec
from jobyard.converge.node import NODE_TYPE, NodeFailed, run_node
from jobyard.converge.resolve import load_root
from jobyard.converge.runner import Event, EventKind, Listener, Outcome
from jobyard.converge.session import Result, graph_and_driver
from jobyard.errors import InvalidInput, WaitTimeout
from jobyard.i18n import _
from jobyard.joblog import read_log
from jobyard.model import Job, Retry

if TYPE_CHECKING:
    from jobyard.jobsets import Jobset
    from jobyard.yard import JobType, Yard

__all__ = [
    "JOBSET_KIND",
    "NODE_TYPE",
    "NodeFailed",
    "follow",
    "graph_of",
    "node_jobs",
    "register",
    "result",
    "root_ref",
    "run_node",
    "status",
    "submit",
    "wait",
]

JOBSET_KIND = "converge"


# -- submitting -------------------------------------------------------------------------------


def root_ref(root: object) -> str:
    """``module:QualName`` of a root class, checked to import back to the same object."""
    module = getattr(root, "__module__", None)
    qualname = getattr(root, "__qualname__", None)
    if not isinstance(root, type) or not module or not qualname:
        raise InvalidInput(
            _("cannot name {root!r} for the workers: give the root as 'module:Class'", root=root)
        )
    if module == "__main__" or "<locals>" in qualname:
        raise InvalidInput(
            _(
                "{module}.{qualname} cannot be imported by workers: define it in an importable "
                "module and give it as 'module:Class'",
                module=module,
                qualname=qualname,
            )
        )
    ref = f"{module}:{qualname}"
    if load_root(ref) is not root:
        raise InvalidInput(_("{ref} does not import back to {root!r}", ref=ref, root=root))
    return ref


def _absolute_ref(ref: str) -> str:
    """A ``path/to/file.py:Root`` reference with an absolute path (workers may run in
    another directory); dotted module names are kept."""
    module, sep, attr = ref.rpartition(":")
    if sep and (module.endswith(".py") or os.sep in module):
        return f"{os.path.abspath(module)}:{attr}"
    return ref


def register(yard: Yard, *, queue: str = "default", timeout: float | None = None) -> JobType:
    """Register the ``converge.node`` job type on ``yard`` (submitters and workers)."""
    jt: JobType = yard.job(name=NODE_TYPE, queue=queue, timeout=timeout)(run_node)
    return jt


def _tries_to_retries(tries: float) -> int:
    """DoJobber keeps trying while tries left > 0: ``ceil(tries)`` tries in all."""
    return max(math.ceil(tries) - 1, 0)


def submit(
    yard: Yard,
    root: object,
    args: Mapping[str, Any] | None = None,
    *,
    default_tries: float = 3,
    default_retry_delay: float = 1,
    no_act: bool = False,
    queue: str | None = None,
    name: str | None = None,
) -> int:
    """Create the jobset of ``root``'s graph (one job per node); returns the jobset id.

    ``root`` is ``"module:Class"`` (or a ``.py`` path ``"path/file.py:Class"``) or a class
    importable under its own module name. ``args`` (JSON) are given to every node, like
    ``converge(args=...)``; ``default_tries`` and ``default_retry_delay`` apply to nodes
    that set no ``TRIES``/``RETRY_DELAY``. The graph is built and checked here first, so
    a cycle or a bad setting fails the submit, not the workers.
    """
    if isinstance(root, str):
        target = load_root(root)
        ref = _absolute_ref(root)
    else:
        ref, target = root_ref(root), root
    given = dict(args or {})
    graph, _unused = graph_and_driver(target, given, default_tries, default_retry_delay)
    if NODE_TYPE not in yard.types:
        register(yard)
    meta = {
        "root": ref,
        "args": given,
        "no_act": no_act,
        "default_tries": default_tries,
        "default_retry_delay": default_retry_delay,
        "graph": graph.to_dict(),
    }
    options: dict[str, Any] = {"queue": queue} if queue else {}
    store = yard.store
    with store.transaction():
        jobset = yard.create_jobset(JOBSET_KIND, name or graph.root, meta)
        ids: dict[str, int] = {}
        for spec in graph.nodes:  # dependencies first: their ids exist
            data = {
                "root": ref,
                "node": spec.name,
                "args": given,
                "default_tries": default_tries,
                "default_retry_delay": default_retry_delay,
                "no_act": no_act,
            }
            retries = 0 if no_act else _tries_to_retries(spec.tries)
            handle = yard.enqueue(
                NODE_TYPE,
                data,
                jobset=jobset,
                depends=[ids[dep] for dep in spec.deps],
                retry=Retry(retries, wait=spec.retry_delay, backoff="constant"),
                **options,
            )
            ids[spec.name] = handle.id
    return jobset


# -- reading a run ----------------------------------------------------------------------------


def _converge_jobset(yard: Yard, jobset: int) -> Jobset:
    found = yard.jobset(jobset)
    if found.kind != JOBSET_KIND:
        raise InvalidInput(
            _(
                "jobset {jobset} is a {kind!r} jobset, not a converge run",
                jobset=jobset,
                kind=found.kind,
            )
        )
    return found


def node_jobs(yard: Yard, jobset: int) -> dict[str, Job]:
    """The jobs of a converge jobset by node name, in DoJobber's order."""
    return _node_jobs(_converge_jobset(yard, jobset))


def _node_jobs(found: Jobset) -> dict[str, Job]:
    return {
        str(job.data["node"]): job
        for job in found.jobs
        if job.type == NODE_TYPE and isinstance(job.data, dict)
    }


def _node_status(job: Job) -> bool | None:
    if job.status == model.COMPLETED:
        return True
    if job.status == model.FAILED or job.failures:
        return False  # failed for good, or failed a try and waits for the next one
    return None  # cancelled (blocked) or not tried yet


def status(yard: Yard, jobset: int) -> dict[str, bool | None]:
    """DoJobber's ``nodestatus``: completed → True, failed → False, cancelled or not run →
    None. During the run a node that failed a try and will retry is False, as in-process."""
    return {name: _node_status(job) for name, job in node_jobs(yard, jobset).items()}


def graph_of(yard: Yard, jobset: int) -> Graph:
    """The graph a converge jobset was made from (as recorded at submit; no import)."""
    return _graph_from_meta(_converge_jobset(yard, jobset))


def _graph_from_meta(found: Jobset) -> Graph:
    recorded = found.meta.get("graph") or {}
    try:
        specs = {
            str(n["name"]): NodeSpec(
                str(n["name"]), tuple(n["deps"]), float(n["tries"]), float(n["retry_delay"])
            )
            for n in recorded["nodes"]
        }
        return Graph(root=str(recorded["root"]), specs=specs)
    except (KeyError, TypeError, ValueError) as exc:
        raise GraphError(
            _("jobset {id} records no usable graph ({exc!r})", id=found.id, exc=exc)
        ) from None


def _outcome(yard: Yard, job: Job) -> Outcome:
    """How a completed node passed: its check ("passed") or its recheck ("converged")."""
    for entry in reversed(read_log(yard.store, job.id)):
        data = entry.get("data")
        if isinstance(data, dict) and data.get("outcome") in ("passed", "converged"):
            return "converged" if data["outcome"] == "converged" else "passed"
    return "passed"


def rebuild_error(text: str | None) -> BaseException:
    """An exception for a recorded failure: a built-in type when the text names one
    (``"LookupError: no record"``), else :class:`NodeFailed` with the whole text."""
    text = text or "failed"
    name, sep, message = text.partition(": ")
    found = getattr(builtins, name, None) if sep else None
    if isinstance(found, type) and issubclass(found, Exception):
        try:
            return found(message)
        except Exception:
            pass
    return NodeFailed(text)


def result(yard: Yard, jobset: int) -> Result:
    """The run as a :class:`jobyard.converge.Result` (the in-process runner's result)."""
    found = _converge_jobset(yard, jobset)
    return _result(yard, found, _graph_from_meta(found), {})


def _result(yard: Yard, found: Jobset, graph: Graph, outcomes: dict[int, Outcome]) -> Result:
    jobs = _node_jobs(found)
    status_of = {name: _node_status(job) for name, job in jobs.items()}
    done_outcomes: dict[str, Outcome] = {}
    for name, job in jobs.items():
        if job.status == model.COMPLETED:
            if job.id not in outcomes:
                outcomes[job.id] = _outcome(yard, job)
            done_outcomes[name] = outcomes[job.id]
        elif status_of[name] is False:
            done_outcomes[name] = "failed"
    return Result(
        graph=graph,
        status=status_of,
        outcomes=done_outcomes,
        results={n: j.result for n, j in jobs.items() if j.status == model.COMPLETED},
        errors={n: rebuild_error(j.error) for n, j in jobs.items() if status_of[n] is False},
        attempts={n: j.attempts for n, j in jobs.items()},
        no_act=bool(found.meta.get("no_act")),
    )


def wait(
    yard: Yard, jobset: int, timeout: float | None = None, poll: float = 0.1
) -> dict[str, bool | None]:
    """Block until no node job is left to run; returns :func:`status`.

    Raises :class:`jobyard.WaitTimeout` after ``timeout`` seconds.
    """
    return dict(follow(yard, jobset, (), timeout=timeout, poll=poll).status)


def _events(name: str, job: Job, outcome: Callable[[Job], Outcome]) -> list[Event]:
    """Runner events that bring a display up to date with a node job's state."""
    tries = job.attempts
    if not tries or job.status == model.CANCELLED:
        return []  # not tried yet, or blocked
    started = Event(name, "try", tries)  # sets the try count shown
    if job.status == model.COMPLETED:
        kind: EventKind = "check-pass" if outcome(job) == "passed" else "recheck-pass"
        return [started, Event(name, kind, tries, result=job.result)]
    if job.status == model.FAILED or (job.failures and job.status != model.RUNNING):
        return [started, Event(name, "recheck-fail", tries, error=rebuild_error(job.error))]
    return [started]


def follow(
    yard: Yard,
    jobset: int,
    listeners: Iterable[Listener],
    *,
    timeout: float | None = None,
    poll: float = 0.2,
) -> Result:
    """Poll a converge jobset until it is done, telling ``listeners`` (runner listeners,
    e.g. the CLI's live tree) of every change; returns the final :class:`Result`."""
    tell = list(listeners)
    deadline = None if timeout is None else time.monotonic() + timeout
    found = _converge_jobset(yard, jobset)
    graph = _graph_from_meta(found)
    seen: dict[str, tuple[str, int]] = {}
    outcomes: dict[int, Outcome] = {}

    def outcome(job: Job) -> Outcome:
        if job.id not in outcomes:
            outcomes[job.id] = _outcome(yard, job)
        return outcomes[job.id]

    while True:
        for name, job in _node_jobs(found).items():
            state = (job.status, job.attempts)
            if seen.get(name) == state:
                continue
            seen[name] = state
            for event in _events(name, job, outcome):
                for listener in tell:
                    listener(event)
        if found.done:
            return _result(yard, found, graph, outcomes)
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeout(
                _(
                    "converge jobset {jobset} still running after {timeout} s",
                    jobset=jobset,
                    timeout=timeout,
                )
            )
        time.sleep(poll if deadline is None else max(min(poll, deadline - time.monotonic()), 0))
        found = yard.jobset(jobset)
