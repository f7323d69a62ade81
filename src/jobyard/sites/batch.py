"""Batches: a run of actions over sites, lowered onto the spine as one jobset.

One job per (step, site) — a step is one position of the batch's action list, so
``["update", "snapshot", "deploy", "snapshot"]`` runs ``snapshot`` twice per site — and
the schedule becomes dependencies between them:

- ``site-sequential`` (default): a chain per site, in the list's order;
- ``sequential``: each step waits for every job of the step before (a barrier);
- ``atomic``: one chain through every (step, site);
- ``parallel``: none.

``serial=N`` (or ``"N%"`` of the sites) rolls a site-sequential batch over groups of N
sites, each group starting when the one before has finished. A site in several roles of
an action (or of the restriction) still gets one job per step. The jobs are made in one
transaction: a batch exists whole or not at all. ``then(...)`` chains a further run into
the same jobset (same ``shared``), starting once everything before it has finished.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.errors import InvalidInput, WaitTimeout
from jobyard.i18n import _
from jobyard.jobsets import UNFINISHED
from jobyard.semaphores import parse_count
from jobyard.sites.action import FAILED_KEY, Actions
from jobyard.sites.inventory import Inventory, roles_of
from jobyard.sites.schedule import SCHEDULES, Pair, lower, max_fail_count, serial_size
from jobyard.spec import job_filter

if TYPE_CHECKING:
    from jobyard.model import Job
    from jobyard.yard import Yard

__all__ = [
    "JOBSET_KIND",
    "SCHEDULES",
    "Batch",
    "create",
    "latest_jobs",
    "pair_failed",
    "rerun_failed",
    "run_concurrency",
]

JOBSET_KIND = "batch"
MAX_IN_PROCESS = 256  # threads of an in-process worker (one per action running at once)


def run_concurrency(jobs: int) -> int:
    """Slots of the in-process worker of ``jobyard batch`` for a batch of ``jobs``: an
    action mostly waits on its site, so every job that the schedule lets start gets a
    slot (a parallel batch of 100 sites runs in one wave, not two of 64 and 36)."""
    return min(MAX_IN_PROCESS, max(4, jobs))


def plan(
    inventory: Inventory,
    actions: Actions,
    names: Sequence[str],
    roles: str | Sequence[str] | None,
    first_step: int = 0,
    allow_missing: bool = False,
) -> list[Pair]:
    """Every (step, action, site) of a run, checked (unknown action, role, empty role).
    ``allow_missing``: an unknown action is left out instead (poly's "unless allowed")."""
    if isinstance(names, str):
        names = [names]
    if not names:
        raise InvalidInput(_("a batch needs at least one action"))
    restrict = inventory.require(roles_of(roles)) if roles is not None else None
    pairs: list[Pair] = []
    for step, name in enumerate(names, first_step):
        if allow_missing and name not in actions.by_name:
            continue
        action = actions.get(name)
        members = inventory.list(action.roles)
        if not members:
            raise InvalidInput(
                _(
                    "action {name!r}: its role(s) {roles} have no sites; add sites with "
                    "yard.sites.add or [sites.NAME] roles = [...]",
                    name=name,
                    roles=", ".join(action.roles),
                )
            )
        if restrict is not None:
            members = inventory.list(action.roles, restrict)
        pairs.extend(Pair(step, name, site) for site in members)
    if not pairs and restrict is not None:
        raise InvalidInput(
            _("no site of roles {restrict} runs these actions", restrict=", ".join(restrict))
        )
    if not pairs:
        raise InvalidInput(
            _("none of the actions {names} is known: nothing to run", names=", ".join(names))
        )
    return pairs


def _enqueue(
    yard: Yard,
    jobset: int,
    pairs: Sequence[Pair],
    deps: list[list[int]],
    meta: dict[str, Any],
    after: Sequence[int] = (),
    sites: dict[str, Any] | None = None,
    types: dict[str, str] | None = None,
) -> list[int]:
    """The jobs of ``pairs``; roots wait for ``after``. ``sites``: the site copies to give
    (a re-run keeps the ones its batch was made with), else the inventory's now.
    ``types``: the job type of each action (a re-run: its failed jobs' own, so a process
    without the actions — the web UI — can re-run), else from the registered actions."""
    ids: list[int] = []
    for n, (pair, wait) in enumerate(zip(pairs, deps, strict=True)):
        if sites is not None and pair.site in sites:
            site_data = sites[pair.site]
        else:
            site = yard.sites.get(pair.site)
            if site is None:
                raise InvalidInput(_("unknown site {site!r}", site=pair.site))
            site_data = site.to_dict()
        data = {
            "action": pair.action,
            "site": site_data,
            "step": pair.step,
            "n": meta["first_n"] + n,
            "stage": meta.get("stage", 0),
            "schedule": meta["schedule"],
            "serial": meta.get("serial_size"),
            "break_on_error": meta["break_on_error"],
            "max_fail": meta.get("max_fail"),
            "options": meta.get("options") or {},
        }
        depends = [ids[i] for i in wait] or list(after)
        max_jobs = site_data.get("max_jobs") if isinstance(site_data, dict) else None
        type_name = (types or {}).get(pair.action) or yard.actions.get(pair.action).type_name
        handle = yard.enqueue(
            type_name,
            data,
            jobset=jobset,
            depends=depends,
            site=pair.site,
            site_max_jobs=max_jobs,  # the site's cap, all batches (jobyard.semaphores)
            site_cap=meta.get("site_cap"),  # this batch's cap per site
        )
        ids.append(handle.id)
    return ids


def create(
    yard: Yard,
    names: Sequence[str],
    schedule: str = "site-sequential",
    roles: str | Sequence[str] | None = None,
    break_on_error: bool = False,
    serial: int | str | None = None,
    max_fail: int | str | None = None,
    options: dict[str, Any] | None = None,
    allow_missing: bool = False,
    site_cap: int | None = None,
    **unknown: Any,
) -> Batch:
    """Make the batch's jobset and jobs (in one transaction); returns its handle."""
    if unknown:
        known = (
            "schedule, roles, break_on_error, serial, max_fail, options, allow_missing, site_cap"
        )
        raise InvalidInput(
            _(
                "unknown batch option(s) {unknown}; known: {known}",
                unknown=", ".join(sorted(unknown)),
                known=known,
            )
        )
    names = [names] if isinstance(names, str) else list(names)
    pairs = plan(yard.sites, yard.actions, names, roles, allow_missing=allow_missing)
    size = serial_size(serial, len({p.site for p in pairs}))
    deps = lower(pairs, schedule, size)
    meta: dict[str, Any] = {
        "actions": names,
        "schedule": schedule,
        "roles": roles_of(roles) if roles is not None else None,
        "break_on_error": bool(break_on_error),
        "serial": serial,
        "max_fail": max_fail_count(max_fail, len(pairs)),
        "max_fail_given": max_fail,
        "options": dict(options or {}),
        "first_n": 0,
        "site_cap": None if site_cap is None else parse_count(site_cap, "site_cap"),
    }
    with yard.store.transaction():
        jobset = yard.create_jobset(JOBSET_KIND, " ".join(names), meta)
        _enqueue(yard, jobset, pairs, deps, {**meta, "serial_size": size})
    return Batch(yard, jobset)


class Batch:
    """A batch's handle: ``id`` (its jobset), ``wait()``, ``failed``, ``ok``, ``then()``."""

    def __init__(self, yard: Yard, jobset: int) -> None:
        self.yard = yard
        self.id = jobset

    def __repr__(self) -> str:
        return f"<Batch {self.id}>"

    def jobs(self) -> list[Job]:
        """The latest job of each (step, site): a re-run's job replaces the failed one."""
        found = self.yard.jobset(self.id)
        if found.kind != JOBSET_KIND:
            raise InvalidInput(
                _("jobset {id} is a {kind!r} jobset, not a batch", id=self.id, kind=found.kind)
            )
        return latest_jobs(found.jobs)

    @property
    def done(self) -> bool:
        # a count, not the jobs: wait() asks this every poll, and loading N jobs (their data
        # carries each site) cost a busy batch more CPU than its own bookkeeping
        unfinished = job_filter(sorted(UNFINISHED), None, None, self.id, None, None)
        return self.yard.store.count_jobs(unfinished) == 0

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(action, site) of every pair that failed, was not run, or is cancelled."""
        return [(str(j.data["action"]), str(j.site)) for j in self.jobs() if pair_failed(j)]

    @property
    def ok(self) -> bool:
        return self.done and not self.failed

    def wait(self, timeout: float | None = None, poll: float = 0.02) -> Batch:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(
                    _("batch {id} still running after {timeout} s", id=self.id, timeout=timeout)
                )
            time.sleep(poll)
        return self

    def then(
        self,
        names: Sequence[str],
        schedule: str = "site-sequential",
        roles: str | Sequence[str] | None = None,
        serial: int | str | None = None,
    ) -> Batch:
        """Chain a run into this batch: it starts once every job so far has finished."""
        names = [names] if isinstance(names, str) else list(names)
        found = self.yard.jobset(self.id)
        ours = [j.data for j in found.jobs if isinstance(j.data, dict)]
        steps = [int(d["step"]) for d in ours]
        pairs = plan(self.yard.sites, self.yard.actions, names, roles, max(steps, default=-1) + 1)
        size = serial_size(serial, len({p.site for p in pairs}))
        deps = lower(pairs, schedule, size)
        meta = {
            **found.meta,
            "schedule": schedule,
            "first_n": len(found.jobs),
            "stage": max((_stage(d) for d in ours), default=-1) + 1,
            "serial_size": size,
        }
        with self.yard.store.transaction():
            _enqueue(self.yard, self.id, pairs, deps, meta, after=[j.id for j in found.jobs])
        return self


def latest_jobs(jobs: Sequence[Job]) -> list[Job]:
    """Of a batch's jobs (oldest first), the latest of each (step, site), by step then site."""
    latest: dict[tuple[int, str], Job] = {}
    for job in jobs:
        if isinstance(job.data, dict) and "step" in job.data:
            latest[(int(job.data["step"]), str(job.site))] = job
    return [latest[k] for k in sorted(latest)]


def pair_failed(job: Job) -> bool:
    """The (action, site) pair of ``job`` failed: it failed, was cancelled (not run after
    an earlier failure), or its action reported a failure (``ctx.fail``)."""
    if job.status in (model.FAILED, model.CANCELLED):
        return True
    return (
        job.status == model.COMPLETED
        and isinstance(job.result, dict)
        and (job.result.get("ok") is False)
    )


def _stage(data: dict[str, Any]) -> int:
    return int(data.get("stage") or 0)  # a batch made before stages were recorded: one


def rerun_failed(yard: Yard, jobset: int) -> list[int]:
    """New jobs (same jobset) for every pair that failed, was cancelled or skipped; the
    pairs that completed are not run again. Each stage of a chained batch (``then``) is
    lowered with its own schedule, and starts once the re-run of the stages before it has
    finished, as the first run did."""
    batch = Batch(yard, jobset)
    if not batch.done:
        raise InvalidInput(
            _("batch {jobset} is still running: wait for it before re-running", jobset=jobset)
        )
    found = yard.jobset(jobset)
    redo = [j for j in batch.jobs() if pair_failed(j)]
    if not redo:
        return []
    stages: dict[int, list[Job]] = {}
    for job in sorted(redo, key=lambda j: j.id):  # the order they were made in
        stages.setdefault(_stage(job.data), []).append(job)
    sites = {str(j.site): j.data["site"] for j in redo}
    types = {str(j.data["action"]): j.type for j in redo}
    first_n = len(found.jobs)
    made: list[int] = []
    with yard.store.transaction():
        found.storage.delete_many([k for k in found.storage.snapshot() if k.startswith(FAILED_KEY)])
        for stage in sorted(stages):
            jobs = stages[stage]
            head = jobs[0].data
            schedule = str(head.get("schedule") or found.meta.get("schedule", "site-sequential"))
            pairs = [Pair(int(j.data["step"]), str(j.data["action"]), str(j.site)) for j in jobs]
            deps = lower(pairs, schedule, head.get("serial"))
            meta = {
                **found.meta,
                "schedule": schedule,
                "first_n": first_n + len(made),
                "stage": stage,
                "serial_size": head.get("serial"),
            }
            made.extend(_enqueue(yard, jobset, pairs, deps, meta, made, sites, types))
    return made
