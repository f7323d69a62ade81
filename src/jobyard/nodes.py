"""Jobs on nodes (AnyJob's face, CONTRACT.md "Job parameters and nodes"): a job of one type
on each of several named machines, as one jobset; a node's worker listens on queue
``node:NAME`` (``jobyard worker --node NAME``).

    jobset, ids = nodes.submit(yard, "restart", ["web1", "web2"], {"service": "nginx"})
    nodes.redirect(yard, ids[0], "web3")     # not started yet: it goes to web3 instead

A type may say how many nodes it takes (``@yard.job(min_nodes=1, max_nodes=3)``); an
abstract type (``yard.abstract("restart_all", "restart")``) has no handler of its own:
submitting it makes a jobset of its target type on the nodes given, or on every node a
live worker serves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.errors import InvalidInput, InvalidTransition, NotFound
from jobyard.i18n import _
from jobyard.params import from_text, parse_assignments
from jobyard.spec import parse_name
from jobyard.store.base import Update

if TYPE_CHECKING:
    from jobyard.yard import Yard

PREFIX = "node:"
MAX_NODES = 10_000
REDIRECTABLE = (model.WAITING, model.READY, model.PAUSED)
RESTARTABLE = (model.FAILED, model.CANCELLED)


@dataclass(frozen=True)
class Abstract:
    """A type name that stands for a jobset of ``target`` jobs, one per node."""

    name: str
    target: str
    description: str = ""


def queue_of(node: str) -> str:
    return PREFIX + node


def node_of(queue: str) -> str | None:
    return queue[len(PREFIX) :] if queue.startswith(PREFIX) else None


def parse_nodes(nodes: Any) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` → checked, distinct node names in order."""
    if isinstance(nodes, str):
        nodes = [n.strip() for n in nodes.split(",") if n.strip()]
    if not isinstance(nodes, list | tuple) or not nodes:
        raise InvalidInput(_("nodes must be one or more node names, e.g. web1,web2"))
    if len(nodes) > MAX_NODES:
        raise InvalidInput(
            _(
                "at most {MAX_NODES} nodes at once, got {n_nodes}",
                MAX_NODES=MAX_NODES,
                n_nodes=len(nodes),
            )
        )
    checked = [parse_name(n, "node name") for n in nodes]
    twice = sorted({n for n in checked if checked.count(n) > 1})
    if twice:
        raise InvalidInput(_("node(s) listed more than once: {twice}", twice=", ".join(twice)))
    return checked


def served(yard: Yard) -> list[str]:
    """The nodes a live worker listens for now, by name."""
    now, lease = time.time(), yard.config.lease
    found = {
        n
        for w in yard.store.list_workers()
        if model.worker_alive(w.heartbeat, w.lease if w.lease is not None else lease, now)
        for q in w.queues
        if (n := node_of(q))
    }
    return sorted(found)


def _at_nodes(message: str) -> InvalidInput:
    # The forms (web, Slack) show it under their nodes field, whatever the language.
    err = InvalidInput(message)
    err.field = "nodes"  # type: ignore[attr-defined]
    return err


def _bounds(yard: Yard, type_name: str, count: int) -> None:
    meta = yard.registry.node_rules(type_name)
    low, high = meta.get("min_nodes"), meta.get("max_nodes")
    if isinstance(low, int) and count < low:
        raise _at_nodes(
            _(
                "job type {type_name!r} runs on at least {low} node(s), got {count}",
                type_name=type_name,
                low=low,
                count=count,
            )
        )
    if isinstance(high, int) and count > high:
        raise _at_nodes(
            _(
                "job type {type_name!r} runs on at most {high} node(s), got {count}",
                type_name=type_name,
                high=high,
                count=count,
            )
        )


def check(yard: Yard, type_name: str, nodes: Any, data: Any, options: dict[str, Any]) -> list[str]:
    """Everything :func:`submit` refuses, checked without writing (``type_name`` is a
    real type, not an abstract one): the checked node names."""
    checked = parse_nodes(nodes)
    if "queue" in options:
        raise InvalidInput(_("give nodes or a queue, not both: a node's queue is node:NAME"))
    if "jobset" in options:
        raise InvalidInput(_("jobs on nodes make a jobset of their own: leave jobset out"))
    _bounds(yard, type_name, len(checked))
    yard.registry.check_data(type_name, data)
    yard.specs.build(type_name, data, options, time.time())
    return checked


def split_nodes(params: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """``NODE,NODE name=value ...``: the first argument without ``=`` names the nodes."""
    if params and "=" not in params[0]:
        return params[0], params[1:]
    for p in params:
        if "=" not in p:
            raise InvalidInput(
                _("bad argument {p!r}: nodes come first (a,b), then name=value", p=p)
            )
    return None, params


def typed_params(yard: Yard, type_name: str, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` text as the type's handler declares each parameter (``007`` stays a
    string for a ``str``; ``3`` is a number for an ``int``); undeclared names as JSON-ish
    values, for the data check to judge."""
    sig = yard.registry.signature_of(type_name)
    declared = {p.name: p for p in sig.params} if sig is not None else {}
    out = parse_assignments(tuple(p for p in pairs if p.partition("=")[0] not in declared))
    for pair in pairs:
        name, _unused, raw = pair.partition("=")
        if name in declared:
            out[name] = from_text(declared[name], raw)
    return out


def submit(
    yard: Yard, type_name: str, nodes: Any, data: Any = None, **options: Any
) -> tuple[int, list[int]]:
    """One job of ``type_name`` per node, each on queue ``node:NAME``, in a new jobset, all
    in one transaction: nothing is written when anything is refused. An abstract type
    becomes its target type (on every served node when ``nodes`` is None)."""
    abstract = yard.registry.abstract.get(type_name)
    if abstract is not None:
        type_name = abstract.target
        if nodes is None:
            nodes = served(yard)
            if not nodes:
                raise InvalidInput(
                    _(
                        "{name!r} runs on every node, and no worker serves a node now (start one "
                        "with jobyard worker --node NAME, or name the nodes)",
                        name=abstract.name,
                    )
                )
    checked = check(yard, type_name, nodes, data, options)
    with yard.store.transaction():
        name = abstract.name if abstract is not None else type_name
        jobset = yard.create_jobset("nodes", name, {"type": type_name, "nodes": checked})
        ids = [
            yard.enqueue(type_name, data, **options, queue=queue_of(n), jobset=jobset).id
            for n in checked
        ]
    return jobset, ids


def redirect(yard: Yard, job_id: int, node: str) -> model.Job:
    """Send a job to another node: one that has not started moves (its status kept); one
    that failed or was cancelled starts over there. A running one is refused: cancel it."""
    queue = queue_of(parse_name(node, "node name"))
    now = time.time()
    with yard.store.transaction():
        found = yard.store.get_jobs([job_id], lock=True)
        if not found:
            raise NotFound(_("no job with id {job_id}", job_id=job_id))
        job = found[0]
        if job.status in RESTARTABLE:
            changes: dict[str, Any] = {"queue": queue, "updated": now}
            yard.store.update_jobs([Update(job.id, changes, RESTARTABLE)])
            yard.restart(job.id)
        elif job.status in REDIRECTABLE:
            changes = {"queue": queue, "updated": now}
            yard.store.update_jobs([Update(job.id, changes, REDIRECTABLE)])
            yard.store.notify([queue])
        else:
            raise InvalidTransition(job.id, "redirect", job.status, REDIRECTABLE + RESTARTABLE)
        yard.store.add_job_events("job.redirected", [job.id], now, {"from": job.queue})
    moved = yard.find(job_id)
    assert moved is not None
    return moved


def nodes_of(jobs: Sequence[model.Job]) -> dict[int, str | None]:
    return {j.id: node_of(j.queue) for j in jobs}
