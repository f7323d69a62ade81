"""The pure half of the sites, batches and nodes views (:mod:`jobyard.views.sites` reads):
sites with their secrets hidden, a batch as a summary and as an (action, site) grid, and
the nodes seen with their workers, queue and recent jobs. No store access here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from jobyard.jobsets import UNFINISHED
from jobyard.model import Job, iso
from jobyard.sites.batch import latest_jobs, pair_failed
from jobyard.views.shapes import JobSummary, WorkerView, job_summary

HIDDEN = "(hidden)"
# A variable whose name says it holds a secret is never shown, nor a value that is a key.
_SECRET_NAME = re.compile(r"pass|secret|token|private|credential|api_?key|cookie", re.I)
_CONNECTION = ("host", "port", "user", "identity", "known_hosts", "jump", "connect_timeout")


def _shown(key: str, value: Any) -> Any:
    if _SECRET_NAME.search(key):
        return HIDDEN
    if isinstance(value, str) and ("PRIVATE KEY" in value or (key == "identity" and "\n" in value)):
        return HIDDEN
    if isinstance(value, dict):
        return {str(k): _shown(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(key, v) for v in value]
    return value


def site_view(site: Mapping[str, Any]) -> dict[str, Any]:
    """A site (``Site.to_dict()``) as people look at it: where its shell runs, its
    connection settings and its variables, each secret one shown as ``(hidden)``."""
    host = site.get("host")
    where = "local"
    if host:
        user = f"{site['user']}@" if site.get("user") else ""
        where = f"{user}{host}:{site.get('port', 22)}"
    rest = {k: v for k, v in site.items() if k not in ("name", "roles")}
    return {
        "name": str(site["name"]),
        "roles": list(site.get("roles") or []),
        "local": not host,
        "where": where,
        "connection": {k: _shown(k, rest[k]) for k in _CONNECTION if k in rest},
        "variables": {k: _shown(k, v) for k, v in sorted(rest.items()) if k not in _CONNECTION},
    }


def role_views(roles: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The roles with their sites, without each site's implicit role of its own name."""
    return {r: list(s) for r, s in roles.items() if list(s) != [r]}


# -- batches ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    """A batch as one row of a listing; ``state``: running, failed or ok."""

    id: int
    name: str
    actions: list[str]
    schedules: list[str]  # each stage's (a chained batch has several)
    created: float
    state: str
    total: int  # (step, site) pairs
    ok: int
    failed: int
    unfinished: int

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created": iso(self.created)}


def _stage_schedules(jobs: Iterable[Job], first: str) -> list[str]:
    found: dict[int, str] = {}
    for job in jobs:
        if isinstance(job.data, dict):
            stage = int(job.data.get("stage") or 0)
            found.setdefault(stage, str(job.data.get("schedule") or first))
    return [found[k] for k in sorted(found)] or [first]


def batch_summary(
    jobset: int, name: str, meta: Mapping[str, Any], created: float, jobs: Sequence[Job]
) -> BatchSummary:
    """A batch's counts from its jobs (oldest first): the latest job of each pair counts."""
    latest = latest_jobs(jobs)
    failed = sum(1 for j in latest if j.status not in UNFINISHED and pair_failed(j))
    unfinished = sum(1 for j in latest if j.status in UNFINISHED)
    state = "running" if unfinished else ("failed" if failed else "ok")
    actions = [str(j.data["action"]) for j in jobs if isinstance(j.data, dict)]
    return BatchSummary(
        id=jobset,
        name=name,
        actions=list(dict.fromkeys(actions)) or list(meta.get("actions") or []),
        schedules=_stage_schedules(jobs, str(meta.get("schedule") or "site-sequential")),
        created=created,
        state=state,
        total=len(latest),
        ok=len(latest) - failed - unfinished,
        failed=failed,
        unfinished=unfinished,
    )


@dataclass(frozen=True)
class Cell:
    """One (step, site) of a batch: its latest job, and how many runs it has had."""

    job: int
    status: str
    failed: bool
    runs: int
    error: str | None

    @property
    def outcome(self) -> str:
        """What the pair came to: ``failed`` for an action that failed even though its job
        completed (``ctx.fail`` without break_on_error), else its job's status."""
        return "failed" if self.failed and self.status == "completed" else self.status

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": self.outcome}


@dataclass(frozen=True)
class Step:
    step: int
    action: str
    stage: int
    schedule: str


@dataclass(frozen=True)
class BatchGrid:
    """A batch as a grid: a column per step, a row per site (``None``: no such pair)."""

    summary: BatchSummary
    steps: list[Step]
    sites: list[str]
    cells: dict[str, list[Cell | None]] = field(default_factory=dict)

    @property
    def failed(self) -> list[tuple[str, str]]:
        return [
            (s.action, site)
            for site in self.sites
            for s, c in zip(self.steps, self.cells[site], strict=True)
            if c is not None and c.failed
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary.to_dict(),
            "steps": [asdict(s) for s in self.steps],
            "sites": [
                {"name": site, "cells": [c.to_dict() if c else None for c in self.cells[site]]}
                for site in self.sites
            ],
            "failed_pairs": [list(p) for p in self.failed],
        }


def _error(job: Job) -> str | None:
    if isinstance(job.result, dict) and job.result.get("error"):
        return str(job.result["error"])
    if job.error:
        return job.error
    return "not run (an earlier failure stopped it)" if job.status == "cancelled" else None


def batch_grid(
    jobset: int, name: str, meta: Mapping[str, Any], created: float, jobs: Sequence[Job]
) -> BatchGrid:
    summary = batch_summary(jobset, name, meta, created, jobs)
    runs: dict[tuple[int, str], int] = {}
    steps: dict[int, Step] = {}
    sites: list[str] = []
    for job in jobs:
        if not isinstance(job.data, dict) or "step" not in job.data:
            continue
        step = int(job.data["step"])
        runs[(step, str(job.site))] = runs.get((step, str(job.site)), 0) + 1
        steps.setdefault(
            step,
            Step(
                step,
                str(job.data["action"]),
                int(job.data.get("stage") or 0),
                str(job.data.get("schedule") or ""),
            ),
        )
        if str(job.site) not in sites:
            sites.append(str(job.site))
    order = sorted(steps)
    cells: dict[str, list[Cell | None]] = {s: [None] * len(order) for s in sites}
    column = {step: i for i, step in enumerate(order)}
    for job in latest_jobs(jobs):
        step, site = int(job.data["step"]), str(job.site)
        done_badly = job.status not in UNFINISHED and pair_failed(job)
        cells[site][column[step]] = Cell(
            job.id, job.status, done_badly, runs[(step, site)], _error(job) if done_badly else None
        )
    return BatchGrid(summary, [steps[s] for s in order], sites, cells)


# -- nodes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeView:
    """A node seen (a worker serves its queue, or jobs wait on it): alive while a live
    worker serves it."""

    name: str
    alive: bool
    workers: list[WorkerView]
    queue: dict[str, int]  # its queue's jobs ready, running or waiting
    recent: list[JobSummary]  # newest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alive": self.alive,
            "workers": [w.to_dict() for w in self.workers],
            "queue": dict(self.queue),
            "recent": [asdict(j) for j in self.recent],
        }


def node_views(
    names: Iterable[str],
    workers: Sequence[WorkerView],
    by_queue: Mapping[str, Mapping[str, int]],
    recent: Mapping[str, Sequence[Job]],
    prefix: str = "node:",
) -> list[NodeView]:
    out = []
    for name in sorted(set(names)):
        queue = prefix + name
        mine = [w for w in workers if queue in w.queues]
        out.append(
            NodeView(
                name=name,
                alive=any(w.alive for w in mine),
                workers=mine,
                queue=dict(by_queue.get(queue, {})),
                recent=[job_summary(j) for j in recent.get(name, ())],
            )
        )
    return out
