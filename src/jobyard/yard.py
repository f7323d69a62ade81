"""``Yard``: the Python face of jobyard — a thin facade over the type registry
(jobyard.types), the spec builder (jobyard.spec), the lifecycle and management policy,
and the store, plus the wiring between them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from jobyard import lifecycle, manage
from jobyard.collections import Collection
from jobyard.config import Config, load_config
from jobyard.errors import InvalidInput, NotFound
from jobyard.handle import JobHandle
from jobyard.i18n import _
from jobyard.joblog import read_log
from jobyard.jobsets import Jobset, create_jobset, load_jobset
from jobyard.manage import Mode
from jobyard.model import Job
from jobyard.semaphores import Semaphore, Semaphores
from jobyard.spec import SpecBuilder, encode_data, job_filter, parse_int_id, parse_name
from jobyard.store import Store, open_store
from jobyard.types import JobType, StoredType, TypeRegistry

if TYPE_CHECKING:
    from jobyard.sites.action import Actions
    from jobyard.sites.batch import Batch
    from jobyard.sites.inventory import Inventory
    from jobyard.worker.port import WorkerPort

__all__ = ["JobType", "Matching", "StoredType", "Yard"]  # JobType, StoredType: old home

F = TypeVar("F", bound=Callable[..., Any])


class Yard:
    """The entry point: a store plus the job types this process knows."""

    def __init__(self, url: str | None = None, *, config: Config | None = None, **options: Any):
        self.config = config or load_config(db=url)
        if url is not None:
            self.config.db = url
        for key, value in options.items():
            if not hasattr(self.config, key):
                raise InvalidInput(_("unknown Yard option {key!r}", key=key))
            setattr(self.config, key, value)
        self._store: Store | None = None
        self.registry = TypeRegistry(lambda: self.store, client=self)
        self.semaphores = Semaphores(lambda: self.store, self.config.semaphores)
        self.specs = SpecBuilder(self.registry, self.config, self.semaphores)
        self._templates = lifecycle.Templates()  # rows of the cached default specs
        self._sites: Inventory | None = None
        self._actions: Actions | None = None

    @property
    def url(self) -> str:
        return self.config.db

    @property
    def store(self) -> Store:
        if self._store is None:
            from jobyard.events import FinishHook

            self._store = open_store(self.config.db)
            self._store.finished_hooks.append(FinishHook(self))  # event triggers (on=...)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def migrate(self) -> list[str]:
        return self.store.migrate()

    # -- job types --------------------------------------------------------------------------

    @property
    def types(self) -> dict[str, JobType]:
        """This process's job types by name (the registry's)."""
        return self.registry.local

    @types.setter
    def types(self, value: dict[str, JobType]) -> None:
        self.registry.replace(value)

    @overload
    def job(self, func: F, /) -> JobType: ...

    @overload
    def job(self, func: None = None, /, **options: Any) -> Callable[[F], JobType]: ...

    def job(self, func: Any = None, /, **options: Any) -> Any:
        """Register a handler: ``@yard.job`` or ``@yard.job(name=..., queue=..., retry=...)``."""

        def register(fn: Callable[..., Any]) -> JobType:
            given = dict(options)
            name = str(given.get("name") or getattr(fn, "__name__", "?"))
            if given.get("semaphores"):
                jt = JobType(name, fn, **{k: v for k, v in given.items() if k != "name"})
                self.semaphores.check(jt.semaphores, f"job type {name!r}", sync=False)
            return self.registry.register(fn, given)

        if func is not None:
            return register(func)
        return register

    def semaphore(
        self, name: str, count: int = 1, scope: str = "global", holder: str = "job"
    ) -> Semaphore:
        """Define (or redefine) a semaphore: ``count`` slots, ``scope`` "global" (one
        counter) or "jobset" (one per jobset), taken by each ``holder``: "job" (each
        running job) or "jobset" (a jobset, once for all its running jobs). Types and jobs
        name it in ``semaphores``; a handler holds it around a call with
        ``job.semaphore(name)``."""
        return self.semaphores.define(name, count, scope, holder)

    def stored_types(self, refresh: bool = False) -> dict[str, StoredType]:
        """Types recorded in the store (by workers, scripts sync, the API), briefly cached."""
        return self.registry.stored(refresh)

    def known_types(self, refresh: bool = False) -> set[str]:
        """Types of this process plus those recorded in the store by workers or scripts."""
        return self.registry.known(refresh)

    def sync_types(self) -> None:
        """Record this process's types (and semaphores) in the store so other processes
        may enqueue them (and obey the same counts)."""
        self.registry.sync()
        if self.semaphores.local:
            self.semaphores.sync()

    # -- enqueue ----------------------------------------------------------------------------

    def _encode(self, data: Any, what: str = "job data") -> str:
        return encode_data(data, self.config, what)

    def enqueue(
        self, type_name: str, data: Any = None, *, conn: Any = None, **options: Any
    ) -> JobHandle:
        """Create one job. With ``conn`` (PostgreSQL), it joins the caller's transaction."""
        now = time.time()
        if options:
            spec = self.specs.build(type_name, data, options, now)
        else:
            spec = self.specs.default(type_name, now)  # cached: the hot path
        self.registry.check_data(type_name, data)
        encoded = self._encode(data)
        if conn is not None:
            with self.store.using(conn):
                ids = lifecycle.enqueue(self.store, [spec], [encoded], now)
        elif options:
            ids = lifecycle.enqueue(self.store, [spec], [encoded], now)
        else:
            ids = [lifecycle.enqueue_reused(self.store, spec, encoded, now, self._templates)]
        return JobHandle(self, ids[0])

    def enqueue_many(
        self, type_name: str, items: Iterable[Any], *, conn: Any = None, **options: Any
    ) -> list[int]:
        """Create many jobs of one type in one transaction; returns their ids."""
        now = time.time()
        spec = self.specs.build(type_name, None, options, now)
        sig = self.registry.signature_of(type_name)  # once for the batch, not per row
        encoded = []
        for d in items:
            if sig is not None:
                sig.check(type_name, d)
            encoded.append(self._encode(d))
        specs = [spec] * len(encoded)  # one validated spec serves every row
        if conn is not None:
            with self.store.using(conn):
                return lifecycle.enqueue(self.store, specs, encoded, now)
        return lifecycle.enqueue(self.store, specs, encoded, now)

    def submit(self, type_name: str, nodes: Any, data: Any = None, **options: Any) -> Any:
        """One job per node (queue ``node:NAME``) in a new jobset, atomically; returns
        ``(jobset id, job ids)`` (jobyard.nodes)."""
        from jobyard import nodes as nodes_

        return nodes_.submit(self, type_name, nodes, data, **options)

    def abstract(self, name: str, target: str, description: str = "") -> None:
        """A type name with no handler that stands for a jobset of ``target`` jobs, one
        per node: ``yard.submit(name, None)`` runs it on every node a worker serves."""
        from jobyard.nodes import Abstract

        self.registry.abstract[parse_name(name, "job type name")] = Abstract(
            name, parse_name(target, "job type name"), description
        )

    def redirect(self, job_id: int, node: str) -> Job:
        """Send a job that has not started (or that failed, or was cancelled: it starts
        over) to another node."""
        from jobyard import nodes as nodes_

        return nodes_.redirect(self, parse_int_id(job_id), node)

    def collection(self, name: str) -> Collection:
        """A named collection of items {id, status, data, created, updated} (Sooner's queue)."""
        return Collection(self, name)

    def create_jobset(self, kind: str, name: str, meta: dict[str, Any] | None = None) -> int:
        """Record a jobset (jobs created together, with shared storage); returns its id.
        Give the id to ``enqueue(..., jobset=id)``; inside a job ``job.shared`` is its storage."""
        return create_jobset(self, kind, name, meta)

    def jobset(self, jobset_id: int) -> Jobset:
        """A jobset with its jobs, a status summary (``counts``, ``done``) and ``storage``."""
        return load_jobset(self, jobset_id)

    def emit(self, event: str, data: Any = None) -> Any:
        """Record an event; every type listening on it (``on=``) gets a job with ``data``."""
        from jobyard.events import emit

        return emit(self, event, data)

    # -- reading ----------------------------------------------------------------------------

    def find(self, job_id: int) -> Job | None:
        """The job of ``job_id`` as stored now (None if there is none)."""
        jobs = self.store.get_jobs([job_id])
        return jobs[0] if jobs else None

    def job_log(self, job_id: int) -> list[dict[str, Any]]:
        """A job's log entries, oldest first (with the ones read off the job row)."""
        return read_log(self.store, job_id)

    def housekeeping(self, now: float | None = None) -> None:
        """The duties someone must run for a store: promote due jobs, rescue expired
        leases (``jobyard web``/``up``/``scheduler`` run it; workers do on their own)."""
        now = time.time() if now is None else now
        manage.promote(self.store, now)
        manage.rescue_expired(self.store, now, self.config.quarantine_after)

    def get(self, job_id: int) -> JobHandle:
        jobs = self.store.get_jobs([parse_int_id(job_id)])
        if not jobs:
            raise NotFound(_("no job with id {job_id}", job_id=job_id))
        return JobHandle(self, jobs[0].id, jobs[0])

    def jobs(
        self,
        status: str | Sequence[str] | None = None,
        type: str | Sequence[str] | None = None,
        queue: str | Sequence[str] | None = None,
        jobset: int | None = None,
        limit: int | None = 100,
        before_id: int | None = None,
    ) -> list[Job]:
        return list(
            self.store.query_jobs(job_filter(status, type, queue, jobset, limit, before_id))
        )

    def count(
        self, status: str | Sequence[str] | None = None, type: str | Sequence[str] | None = None
    ) -> int:
        return int(self.store.count_jobs(job_filter(status, type, None, None, None, None)))

    # -- management ---------------------------------------------------------------------------
    # One id: it must exist and be in an allowed status. A list: every id must exist (or
    # nothing changes); jobs in a status the operation does not apply to are passed over.
    # What matching() returned: jobs gone since are passed over too (see manage.Mode).

    def _ids(self, ids: int | JobHandle | Iterable[int | JobHandle]) -> tuple[list[int], Mode]:
        if isinstance(ids, int | str | JobHandle):
            return [ids.id if isinstance(ids, JobHandle) else parse_int_id(ids)], "one"
        if isinstance(ids, Matching):
            return list(ids), "filter"
        return [i.id if isinstance(i, JobHandle) else parse_int_id(i) for i in ids], "many"

    def cancel(self, ids: Any, dependents: bool = True) -> list[int]:
        found, mode = self._ids(ids)
        return manage.cancel(self.store, found, time.time(), mode, dependents)

    def pause(self, ids: Any) -> list[int]:
        found, mode = self._ids(ids)
        return manage.pause(self.store, found, time.time(), mode)

    def resume(self, ids: Any) -> list[int]:
        found, mode = self._ids(ids)
        return manage.resume(self.store, found, time.time(), mode)

    def restart(self, ids: Any, retries: int = 1, antecedents: bool = False) -> list[int]:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidInput(
                _("invalid retries {retries!r}: give a whole number >= 0", retries=retries)
            )
        found, mode = self._ids(ids)
        return manage.restart(self.store, found, time.time(), retries, mode, antecedents)

    @overload
    def rerun(
        self, job_id: int | str | JobHandle, data: Any = None, **options: Any
    ) -> JobHandle: ...

    @overload
    def rerun(
        self, job_id: Iterable[int | JobHandle], data: Any = None, **options: Any
    ) -> list[JobHandle]: ...

    def rerun(self, job_id: Any, data: Any = None, **options: Any) -> Any:
        """A completed job (or each completed job of a list) runs again as a new job.
        A list makes every copy or none; its jobs that are not completed are passed over."""
        found, mode = self._ids(job_id)
        now = time.time()
        repeat = self.specs.rerun_repeat(options, now)
        if data is not None:
            self._encode(data)
        new_ids = manage.rerun_many(self.store, found, now, mode, data, repeat)
        handles = [JobHandle(self, i) for i in new_ids]
        return handles[0] if mode == "one" else handles

    def remove(self, ids: Any) -> list[int]:
        found, mode = self._ids(ids)
        return manage.remove(self.store, found, time.time(), mode)

    def matching(self, status: Any = None, type: Any = None, queue: Any = None) -> Matching:
        """Ids of every job matching a filter, for bulk management: an operation given
        them passes over the jobs removed or changed since."""
        jobs = self.store.query_jobs(job_filter(status, type, queue, None, None, None))
        return Matching(j.id for j in jobs)

    # -- sites, actions, batches (jobyard.sites) ------------------------------------------------

    @property
    def sites(self) -> Inventory:
        """The inventory: ``[sites.*]``/``[roles.*]`` of the config, plus ``sites.add``."""
        if self._sites is None:
            from jobyard.sites.inventory import Inventory

            inventory = Inventory()
            inventory.load(self.config.raw, self.config.path or "jobyard.toml")
            self._sites = inventory
        return self._sites

    @property
    def actions(self) -> Actions:
        if self._actions is None:
            from jobyard.sites.action import Actions

            self._actions = Actions(self.registry.register)
        return self._actions

    def action(
        self, roles: str | list[str] | None = None, *, name: str | None = None, **options: Any
    ) -> Callable[[F], F]:
        """``@yard.action("app")``: run the function once on each site of the roles in a
        batch (no roles: the role named after the action). Options go to its job type."""

        def register(func: F) -> F:
            self.actions.add(func, roles, name, **options)
            return func

        return register

    def batch(self, actions: str | Sequence[str], **options: Any) -> Batch:
        """Run actions over their sites as one jobset (``schedule=``, ``roles=``,
        ``break_on_error=``, ``serial=``, ``max_fail=``); workers run the jobs."""
        from jobyard.sites.batch import create

        return create(self, actions, **options)

    # -- workers ----------------------------------------------------------------------------

    def worker(self, **options: Any) -> Any:
        from jobyard.worker.runner import Worker

        return Worker(self, **options)

    def local_port(self) -> WorkerPort:
        """The worker port onto this Yard's own store (what a local worker uses)."""
        from jobyard.worker.local import LocalPort

        return LocalPort(self)

    def run_worker(self, **options: Any) -> None:
        """Run a worker in this thread until SIGTERM/SIGINT (or ``stop()`` from elsewhere)."""
        self.worker(**options).run()


class Matching(list[int]):
    """Job ids found by ``Yard.matching``: bulk operations pass over the ones gone since."""
