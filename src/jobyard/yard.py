"""``Yard``: the Python face of jobyard — job types, enqueue, management, workers."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, overload

from jobyard import lifecycle, manage, model
from jobyard.collections import Collection
from jobyard.config import Config, load_config
from jobyard.errors import InvalidInput, NotFound, TypeDisabled, UnknownJobType
from jobyard.handle import JobHandle
from jobyard.jobsets import Jobset, create_jobset, load_jobset
from jobyard.lifecycle import JobSpec
from jobyard.limits import INT64_MAX, MAX_WAIT, check_text, encode_json, in_window
from jobyard.manage import Mode
from jobyard.model import Job, Repeat, Retry
from jobyard.store import JobFilter, Store, open_store
from jobyard.store.base import StoredType

F = TypeVar("F", bound=Callable[..., Any])
_TYPES_TTL = 5.0


class JobType:
    """A registered handler with its defaults. Call ``defer(**data)`` to enqueue."""

    kind = "python"  # recorded in the store; script types (jobyard.scripts) say "script"
    own_timeout = False  # True: the handler enforces the job's timeout itself (scripts)

    def __init__(
        self,
        yard: Yard,
        name: str,
        func: Callable[..., Any],
        *,
        queue: str = "default",
        priority: int | str = "normal",
        retry: Retry | int | dict[str, Any] | None = None,
        timeout: float | None = None,
        batch: int | None = None,
        schedule: str | None = None,
        on: str | list[str] | None = None,
        timezone: str | None = None,
        catchup: str | None = None,
    ) -> None:
        if batch is not None and (not isinstance(batch, int) or batch < 1):
            raise InvalidInput(f"batch must be a whole number >= 1, got {batch!r}")
        self.yard = yard
        self.name = name
        self.func = func
        self.queue = _name(queue, "queue")
        self.priority = model.parse_priority(priority)
        self.retry = Retry.coerce(retry)
        self.timeout = _timeout(timeout)
        self.batch = batch
        self.schedule = schedule
        self.timezone = timezone  # of the schedule (IANA name; default UTC)
        self.catchup = catchup  # after downtime: "skip" (default) or "latest" (jobyard.scheduler)
        if schedule is not None:
            from jobyard.cron import validate_cron

            validate_cron(schedule, timezone)
        if catchup not in (None, "skip", "latest"):
            raise InvalidInput(f"catchup must be 'skip' or 'latest', got {catchup!r}")
        self.on: list[str] = [on] if isinstance(on, str) else list(on or [])
        self.is_async = inspect.iscoroutinefunction(func)
        self.active = True  # False: workers stop claiming it (disabled in the store)

    def defer(self, **data: Any) -> JobHandle:
        return self.yard.enqueue(self.name, data)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<JobType {self.name} queue={self.queue}>"


class Yard:
    """The entry point: a store plus the job types this process knows."""

    def __init__(self, url: str | None = None, *, config: Config | None = None, **options: Any):
        self.config = config or load_config(db=url)
        if url is not None:
            self.config.db = url
        for key, value in options.items():
            if not hasattr(self.config, key):
                raise InvalidInput(f"unknown Yard option {key!r}")
            setattr(self.config, key, value)
        self.types: dict[str, JobType] = {}
        self._store: Store | None = None
        self._stored_types: tuple[float, dict[str, StoredType]] = (0.0, {})
        self._spec_cache: dict[str, tuple[float, JobSpec]] = {}

    @property
    def url(self) -> str:
        return self.config.db

    @property
    def store(self) -> Store:
        if self._store is None:
            from jobyard.events import FinishHook

            self._store = open_store(self.config.db)
            self._store.finished_hook = FinishHook(self)  # job.completed/failed/cancelled
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def migrate(self) -> list[str]:
        return self.store.migrate()

    # -- job types --------------------------------------------------------------------------

    @overload
    def job(self, func: F, /) -> JobType: ...

    @overload
    def job(self, func: None = None, /, **options: Any) -> Callable[[F], JobType]: ...

    def job(self, func: Any = None, /, **options: Any) -> Any:
        """Register a handler: ``@yard.job`` or ``@yard.job(name=..., queue=..., retry=...)``."""

        def register(fn: Callable[..., Any]) -> JobType:
            name = options.pop("name", None) or fn.__name__
            jt = JobType(self, name, fn, **options)
            self.types[name] = jt
            return jt

        if func is not None:
            return register(func)
        return register

    def stored_types(self, refresh: bool = False) -> dict[str, StoredType]:
        """Types recorded in the store (by workers, scripts sync, the API), briefly cached."""
        stamp, found = self._stored_types
        if refresh or time.monotonic() - stamp > _TYPES_TTL:
            found = {t.name: t for t in self.store.list_types()}
            self._stored_types = (time.monotonic(), found)
        return found

    def known_types(self, refresh: bool = False) -> set[str]:
        """Types of this process plus those recorded in the store by workers or scripts."""
        return set(self.types) | set(self.stored_types(refresh))

    def sync_types(self) -> None:
        """Record this process's types in the store so other processes may enqueue them."""
        meta = {
            t.name: {
                "queue": t.queue,
                "schedule": t.schedule,
                "timezone": t.timezone,
                "catchup": t.catchup,
                "on": t.on,
            }
            for t in self.types.values()
            if t.kind == "python"  # other kinds keep their own rows (scripts sync)
        }
        rows = [StoredType(name, "python", True, m) for name, m in meta.items()]
        self.store.upsert_types(rows, time.time())

    def _check_type(self, name: str) -> tuple[JobType | None, StoredType | None]:
        jt = self.types.get(name)
        stored = self.stored_types().get(name)
        if (stored is None and jt is None) or (stored is not None and not stored.enabled):
            stored = self.stored_types(refresh=True).get(name)  # the cache may be stale
        if jt is None and stored is None:
            raise UnknownJobType(name, self.known_types())
        if stored is not None and not stored.enabled:
            raise TypeDisabled(name)
        if stored is not None and stored.meta.get("deleted"):
            raise InvalidInput(
                f"job type {name!r} was deleted: its script is gone from the scripts "
                "directory (put it back and run `jobyard scripts sync`)"
            )
        return jt, stored

    # -- enqueue ----------------------------------------------------------------------------

    def _encode(self, data: Any, what: str = "job data") -> str:
        return encode_json(data, what, self.config.max_data_bytes, "max_data_bytes")

    def _spec(self, type_name: str, data: Any, options: dict[str, Any], now: float) -> JobSpec:
        jt, stored = self._check_type(type_name)
        known = {
            "queue",
            "priority",
            "delay",
            "after",
            "depends",
            "retry",
            "retries",
            "repeat",
            "paused",
            "props",
            "timeout",
            "jobset",
            "site",
        }
        unknown = set(options) - known
        if unknown:
            raise InvalidInput(
                f"unknown enqueue option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        spec = JobSpec(type=type_name, data=data)
        routed = stored.meta.get("worker") if stored is not None else None
        default_queue = f"worker:{routed}" if routed else (jt.queue if jt else "default")
        queue = options.get("queue")
        spec.queue = default_queue if queue is None or queue == "" else _name(queue, "queue")
        pr = options.get("priority")
        spec.priority = model.parse_priority(pr) if pr is not None else (jt.priority if jt else 0)
        if "retry" in options and "retries" in options:
            raise InvalidInput("give retry or retries, not both")
        if options.get("retry") is not None:
            spec.retry = Retry.coerce(options["retry"])
        elif options.get("retries") is not None:
            base = jt.retry if jt else Retry()
            spec.retry = Retry(options["retries"], base.wait, base.backoff, base.until).normalized()
        elif jt:
            spec.retry = jt.retry
        spec.repeat = Repeat.coerce(options.get("repeat"))
        delay, after = options.get("delay"), options.get("after")
        if delay is not None and after is not None:
            raise InvalidInput("give delay or after, not both")
        if delay is not None:
            if (
                isinstance(delay, bool)
                or not isinstance(delay, int | float)
                or not math.isfinite(delay)
                or delay < 0
                or not in_window(now + float(delay))
            ):
                raise InvalidInput(
                    f"invalid delay {delay!r}: give a finite number of seconds >= 0"
                    " that ends before the year 9999"
                )
            spec.after = now + float(delay)
        elif after is not None:
            spec.after = model.to_timestamp(after, "after")
        spec.depends = _depends(options.get("depends"))
        paused = options.get("paused")
        if paused is not None and not isinstance(paused, bool):
            raise InvalidInput(f"invalid paused {paused!r}: give true or false")
        spec.paused = bool(paused)
        spec.props = self._props(options.get("props"))
        spec.timeout = _timeout(options.get("timeout", jt.timeout if jt else None))
        jobset = options.get("jobset")
        spec.jobset = None if jobset is None else _int_id(jobset, "jobset id")
        site = options.get("site")
        spec.site = None if site is None else _name(site, "site")
        return spec

    def _props(self, props: Any) -> dict[str, Any]:
        """Job properties: a mapping with string keys, JSON within ``[limits] max_props_bytes``."""
        if props is None:
            return {}
        if not isinstance(props, dict) or not all(isinstance(k, str) for k in props):
            raise InvalidInput("props must be a mapping of name → value (names are strings)")
        if props:
            encode_json(props, "props", self.config.max_props_bytes, "max_props_bytes")
        return props

    def enqueue(
        self, type_name: str, data: Any = None, *, conn: Any = None, **options: Any
    ) -> JobHandle:
        """Create one job. With ``conn`` (PostgreSQL), it joins the caller's transaction."""
        now = time.time()
        if options:
            spec = self._spec(type_name, data, options, now)
        else:
            # No options: the spec depends only on the type, valid as long as the cached
            # stored types it was checked against (the same few seconds).
            cached = self._spec_cache.get(type_name)
            if cached is None or cached[0] != self._stored_types[0]:
                spec = self._spec(type_name, None, {}, now)
                self._spec_cache[type_name] = (self._stored_types[0], spec)
            else:
                spec = cached[1]
        encoded = self._encode(data)
        if conn is not None:
            with self.store.using(conn):
                ids = lifecycle.enqueue(self.store, [spec], [encoded], now)
        else:
            ids = lifecycle.enqueue(self.store, [spec], [encoded], now)
        return JobHandle(self, ids[0])

    def enqueue_many(
        self, type_name: str, items: Iterable[Any], *, conn: Any = None, **options: Any
    ) -> list[int]:
        """Create many jobs of one type in one transaction; returns their ids."""
        now = time.time()
        spec = self._spec(type_name, None, options, now)
        encoded = [self._encode(d) for d in items]
        specs = [spec] * len(encoded)  # one validated spec serves every row
        if conn is not None:
            with self.store.using(conn):
                return lifecycle.enqueue(self.store, specs, encoded, now)
        return lifecycle.enqueue(self.store, specs, encoded, now)

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

    def get(self, job_id: int) -> JobHandle:
        jobs = self.store.get_jobs([_int_id(job_id)])
        if not jobs:
            raise NotFound(f"no job with id {job_id}")
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
            self.store.query_jobs(self._filter(status, type, queue, jobset, limit, before_id))
        )

    def count(
        self, status: str | Sequence[str] | None = None, type: str | Sequence[str] | None = None
    ) -> int:
        return self.store.count_jobs(self._filter(status, type, None, None, None, None))

    @staticmethod
    def _filter(
        status: Any, type_: Any, queue: Any, jobset: Any, limit: Any, before: Any
    ) -> JobFilter:
        def listed(value: Any) -> list[str] | None:
            return [value] if isinstance(value, str) else (list(value) if value else None)

        statuses = listed(status)
        for s in statuses or []:
            if s not in model.STATUSES:
                raise InvalidInput(f"unknown status {s!r}: use one of {', '.join(model.STATUSES)}")
        return JobFilter(
            status=statuses,
            type=listed(type_),
            queue=listed(queue),
            jobset=jobset,
            limit=limit,
            before_id=before,
        )

    # -- management ---------------------------------------------------------------------------
    # One id: it must exist and be in an allowed status. A list: every id must exist (or
    # nothing changes); jobs in a status the operation does not apply to are passed over.
    # What matching() returned: jobs gone since are passed over too (see manage.Mode).

    def _ids(self, ids: int | JobHandle | Iterable[int | JobHandle]) -> tuple[list[int], Mode]:
        if isinstance(ids, int | str | JobHandle):
            return [ids.id if isinstance(ids, JobHandle) else _int_id(ids)], "one"
        if isinstance(ids, Matching):
            return list(ids), "filter"
        return [i.id if isinstance(i, JobHandle) else _int_id(i) for i in ids], "many"

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
            raise InvalidInput(f"invalid retries {retries!r}: give a whole number >= 0")
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
        if data is not None:
            self._encode(data)
        repeat = Repeat.coerce(options.get("repeat"))
        new_ids = manage.rerun_many(self.store, found, time.time(), mode, data, repeat)
        handles = [JobHandle(self, i) for i in new_ids]
        return handles[0] if mode == "one" else handles

    def remove(self, ids: Any) -> list[int]:
        found, mode = self._ids(ids)
        return manage.remove(self.store, found, time.time(), mode)

    def matching(self, status: Any = None, type: Any = None, queue: Any = None) -> Matching:
        """Ids of every job matching a filter, for bulk management: an operation given
        them passes over the jobs removed or changed since."""
        jobs = self.store.query_jobs(self._filter(status, type, queue, None, None, None))
        return Matching(j.id for j in jobs)

    # -- workers ----------------------------------------------------------------------------

    def worker(self, **options: Any) -> Any:
        from jobyard.worker.runner import Worker

        return Worker(self, **options)

    def run_worker(self, **options: Any) -> None:
        """Run a worker in this thread until SIGTERM/SIGINT (or ``stop()`` from elsewhere)."""
        self.worker(**options).run()


class Matching(list[int]):
    """Job ids found by ``Yard.matching``: bulk operations pass over the ones gone since."""


def _name(value: Any, what: str) -> str:
    """A queue or site name: 1 to 200 characters that every backend can store."""
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        raise InvalidInput(f"invalid {what} {value!r}: give a name of 1 to 200 characters")
    return check_text(value, f"{what} {value!r}")


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_WAIT
    ):
        raise InvalidInput(
            f"invalid timeout {value!r}: give a number of seconds > 0 and <= {MAX_WAIT:.0f}"
        )
    return float(value)


def _depends(value: Any) -> list[int]:
    """Antecedents: one id or handle, or a list/tuple/set of them. A string is one id
    ("12" is job 12, never the jobs 1 and 2)."""
    if value is None:
        return []
    if isinstance(value, int | str | JobHandle):
        value = [value]
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(f"invalid depends {value!r}: give a job id or a list of job ids")
    return sorted({d.id if isinstance(d, JobHandle) else _int_id(d) for d in value})


def _int_id(value: Any, what: str = "job id") -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise InvalidInput(f"invalid {what} {value!r}: ids are whole numbers")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"invalid {what} {value!r}: ids are whole numbers") from None
    if number < 1 or number > INT64_MAX:
        raise InvalidInput(f"invalid {what} {value!r}: ids are whole numbers from 1 to {INT64_MAX}")
    return number
