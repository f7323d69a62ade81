"""Job types: what this process can run (:class:`JobType`), what the store records
(:class:`StoredType`), and the :class:`TypeRegistry` that holds both.

A ``JobType`` knows nothing of a Yard. The registry binds it to a :class:`Client` (the
Yard, later a remote client) when it is added, so ``jt.defer(**data)`` enqueues through
the registry it was last added to: ``yard.job`` adds it, and the CLI adopts an app
module's types into its own Yard the same way.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from jobyard import model, runas
from jobyard.admission import Limit
from jobyard.errors import InvalidInput, TypeDisabled, UnknownJobType
from jobyard.i18n import _
from jobyard.limits import INT32_MAX
from jobyard.model import Retry
from jobyard.params import Signature, signature
from jobyard.semaphores import parse_needs
from jobyard.spec import TypeDefaults, parse_name, parse_timeout
from jobyard.store.workers import StoredType

__all__ = ["Client", "JobType", "StoredType", "TypeRegistry"]

if TYPE_CHECKING:
    from jobyard.handle import JobHandle
    from jobyard.nodes import Abstract
    from jobyard.store import Store

TYPES_TTL = 5.0  # seconds the stored types are cached (other processes' changes show after)


class Client(Protocol):
    """What ``JobType.defer`` needs: somewhere to enqueue (a Yard)."""

    def enqueue(self, type_name: str, data: Any = None) -> JobHandle: ...


class JobType:
    """A registered handler with its defaults. Call ``defer(**data)`` to enqueue."""

    kind = "python"  # recorded in the store; script types (jobyard.scripts) say "script"
    own_timeout = False  # True: the handler enforces the job's timeout itself (scripts)

    def __init__(
        self,
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
        limit: int | None = None,
        min_nodes: int | None = None,
        max_nodes: int | None = None,
        run_as: str | dict[str, str] | None = None,
        semaphores: str | Sequence[str] | None = None,
    ) -> None:
        # Python handlers run in the worker itself: this is the user of their local shell
        # commands (ctx.shell on a local site), see docs/run-as.md.
        self.run_as = runas.check(run_as, f"job type {name!r} run_as")
        # what each of its jobs holds while it runs (checked against the Yard's by yard.job)
        self.semaphores = tuple(parse_needs(semaphores))
        self.min_nodes = _parse_count(min_nodes, "min_nodes")
        self.max_nodes = _parse_count(max_nodes, "max_nodes")
        if self.min_nodes and self.max_nodes and self.min_nodes > self.max_nodes:
            raise InvalidInput(
                _(
                    "min_nodes {min_nodes} is more than max_nodes {max_nodes}",
                    min_nodes=min_nodes,
                    max_nodes=max_nodes,
                )
            )
        if batch is not None and (not isinstance(batch, int) or batch < 1):
            raise InvalidInput(_("batch must be a whole number >= 1, got {batch!r}", batch=batch))
        self.limit = _parse_limit(limit)  # at most this many running at once, all workers
        self.name = parse_name(name, "job type name")
        self.func = func
        self.queue = parse_name(queue, "queue")
        self.priority = model.parse_priority(priority)
        self.retry = Retry.coerce(retry)
        self.timeout = parse_timeout(timeout)
        self.batch = batch
        self.schedule = schedule
        self.timezone = timezone  # of the schedule (IANA name; default UTC)
        self.catchup = catchup  # after downtime: "skip" (default) or "latest" (jobyard.scheduler)
        if schedule is not None:
            from jobyard.cron import validate_cron

            validate_cron(schedule, timezone)
        if catchup not in (None, "skip", "latest"):
            raise InvalidInput(
                _("catchup must be 'skip' or 'latest', got {catchup!r}", catchup=catchup)
            )
        self.on: list[str] = [on] if isinstance(on, str) else list(on or [])
        self.is_async = inspect.iscoroutinefunction(func)
        self.active = True  # False: workers stop claiming it (disabled in the store)
        self._client: Client | None = None  # set by TypeRegistry.add: where defer enqueues

    _signature: Signature | bool | None = False  # False: not read yet

    @property
    def signature(self) -> Signature | None:
        """The handler's parameters an enqueue must honour (None: not checked; batch
        handlers and other kinds take their data their own way)."""
        if self._signature is False:
            plain = self.kind == "python" and not self.batch
            self._signature = signature(self.func) if plain else None
        return self._signature  # type: ignore[return-value]

    def admission_limit(self) -> Limit | None:
        """What the claim's admission enforces for this type (None: nothing): ``limit``
        running at once; a job that finds them all busy waits, ready, for a free slot."""
        return None if self.limit is None else Limit(self.limit)

    def defer(self, **data: Any) -> JobHandle:
        if self._client is None:
            raise InvalidInput(
                _(
                    "job type {name!r} belongs to no Yard: register it with @yard.job, or call "
                    "yard.enqueue({name!r}, data)",
                    name=self.name,
                )
            )
        return self._client.enqueue(self.name, data)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<JobType {self.name} queue={self.queue}>"


def _parse_count(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise InvalidInput(
            _(
                "{what} must be a whole number from 1 to 10000, got {value!r}",
                what=what,
                value=value,
            )
        )
    return value


def _parse_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= INT32_MAX:
        raise InvalidInput(
            _("limit must be a whole number >= 1 (or None), got {limit!r}", limit=limit)
        )
    return limit


class TypeRegistry:
    """This process's job types (``local``) and the store's (``stored()``, briefly cached)."""

    def __init__(self, store: Callable[[], Store], client: Client | None = None) -> None:
        self._store = store  # a getter: the Yard opens its store lazily
        self.client = client
        self.local: dict[str, JobType] = {}
        self.abstract: dict[str, Abstract] = {}  # type names that stand for a jobset (nodes)
        self._stored: tuple[float, dict[str, StoredType]] = (0.0, {})

    # -- this process's types -------------------------------------------------------------

    def register(self, func: Callable[..., Any], options: dict[str, Any]) -> JobType:
        """``@yard.job`` / ``@yard.job(name=..., queue=...)``: a new type, added."""
        name = options.pop("name", None) or func.__name__
        return self.add(JobType(name, func, **options))

    def add(self, jt: JobType) -> JobType:
        """Add (or adopt) a type: ``defer`` then enqueues through this registry's client."""
        jt._client = self.client
        self.local[jt.name] = jt
        return jt

    def replace(self, types: Mapping[str, JobType]) -> None:
        """Swap in a new set of types in one step (workers read ``local`` meanwhile);
        types bound elsewhere keep their binding, unbound ones get this registry's."""
        for jt in types.values():
            if jt._client is None:
                jt._client = self.client
        self.local = dict(types)

    # -- the store's types --------------------------------------------------------------

    def stamp_of(self, name: str) -> tuple[float, object]:
        """When the stored types were last read (read again first once older than
        TYPES_TTL), and this process's type object of ``name`` (None: it has none): a new
        value means the type's defaults may have changed (jobyard.spec caches by it)."""
        self.stored()
        return self._stored[0], self.local.get(name)

    def stored(self, refresh: bool = False) -> dict[str, StoredType]:
        """Types recorded in the store (by workers, scripts sync, the API), briefly cached.
        The same dict is returned while cached (jobyard.events.FinishHook relies on it)."""
        stamp, found = self._stored
        if refresh or time.monotonic() - stamp > TYPES_TTL:
            found = {t.name: t for t in self._store().list_types()}
            self._stored = (time.monotonic(), found)
        return found

    def known(self, refresh: bool = False) -> set[str]:
        """Types of this process plus those recorded in the store by workers or scripts."""
        return set(self.local) | set(self.stored(refresh))

    def sync(self) -> None:
        """Record this process's types in the store so other processes may enqueue them."""
        self.record(self.python_rows())

    def record(self, rows: Sequence[StoredType]) -> None:
        """Record Python type rows (this process's, or a remote worker's), keeping what
        the store knows that a row leaves out: a ``limit`` set by an operator (``jobyard
        type limit``) or by another process's registration stays until one names another.
        A stored script type of the same name is left as it is."""
        store = self._store()
        with store.transaction():
            stored = {t.name: t for t in store.list_types()}
            out = []
            for row in rows:
                old = stored.get(row.name)
                if row.kind != "python" or (old is not None and old.kind != "python"):
                    continue
                if row.meta.get("limit") is None and old is not None and old.meta.get("limit"):
                    row = StoredType(
                        row.name, row.kind, row.enabled, {**row.meta, "limit": old.meta["limit"]}
                    )
                out.append(row)
            store.upsert_types(out, time.time())
        self.stored(refresh=True)

    def set_limit(self, name: str, limit: int | None) -> StoredType:
        """Set (or with None, lift) how many jobs of a Python type may run at once, on
        every worker; the claim's admission reads it from the store."""
        limit = _parse_limit(limit)
        store = self._store()
        with store.transaction():
            stored = {t.name: t for t in store.list_types()}
            old = stored.get(name)
            if old is None:
                if name in self.local:
                    self.sync()
                    return self.set_limit(name, limit)
                raise UnknownJobType(name, self.known(refresh=True))
            if old.kind != "python":
                raise InvalidInput(
                    _(
                        "job type {name!r} is a {kind} type: a script runs one at a time with its "
                        "mutex (jobyard type set NAME --mutex/--no-mutex)",
                        name=name,
                        kind=old.kind,
                    )
                )
            row = StoredType(name, old.kind, old.enabled, {**old.meta, "limit": limit})
            store.upsert_types([row], time.time())
        self.stored(refresh=True)
        return row

    def stored_limits(self, names: Iterable[str]) -> dict[str, Limit]:
        """What the claim's admission enforces for these types by what the store says
        (briefly cached): a Python type's ``limit``; a script type's mutex (one at a time,
        an overlapping run skipped: jobyard.scripts)."""
        stored = self.stored()
        out = {}
        for name in names:
            st = stored.get(name)
            if st is None:
                continue
            if st.kind == "script":
                if st.meta.get("mutex", True) and not st.meta.get("deleted"):
                    out[name] = Limit(1, "skip")
                continue
            n = st.meta.get("limit")
            if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
                out[name] = Limit(n)
        return out

    def python_rows(self) -> list[StoredType]:
        """This process's Python types as the store records them, with the defaults a job
        gets when the caller leaves an option out, so another process (the API server)
        enqueues them the same way."""
        return [
            StoredType(
                t.name,
                "python",
                True,
                {
                    "queue": t.queue,
                    "schedule": t.schedule,
                    "timezone": t.timezone,
                    "catchup": t.catchup,
                    "on": t.on,
                    "priority": t.priority,
                    "retry": _retry_meta(t.retry),
                    "timeout": t.timeout,
                    "limit": t.limit,
                    "signature": t.signature.to_meta() if t.signature else None,
                    "min_nodes": t.min_nodes,
                    "max_nodes": t.max_nodes,
                    "run_as": t.run_as,
                    "semaphores": list(t.semaphores),
                },
            )
            for t in self.local.values()
            if t.kind == "python"  # other kinds keep their own rows (scripts sync)
        ]

    # -- enqueueing --------------------------------------------------------------------------

    def check(self, name: str) -> tuple[JobType | None, StoredType | None]:
        """The type as this process and the store know it; refused when it cannot be
        enqueued (unknown, disabled, or a deleted script)."""
        jt = self.local.get(name)
        stored = self.stored().get(name)
        if (stored is None and jt is None) or (stored is not None and not stored.enabled):
            stored = self.stored(refresh=True).get(name)  # the cache may be stale
        if jt is None and stored is None:
            raise UnknownJobType(name, self.known())
        if stored is not None and not stored.enabled:
            raise TypeDisabled(name)
        if stored is not None and stored.meta.get("deleted"):
            raise InvalidInput(
                _(
                    "job type {name!r} was deleted: its script is gone from the scripts directory "
                    "(put it back and run `jobyard scripts sync`)",
                    name=name,
                )
            )
        return jt, stored

    def node_rules(self, name: str) -> dict[str, Any]:
        """``min_nodes`` / ``max_nodes`` of a type (from its handler or its record)."""
        jt = self.local.get(name)
        if jt is not None:
            return {"min_nodes": jt.min_nodes, "max_nodes": jt.max_nodes}
        st = self.stored().get(name)
        meta = st.meta if st is not None else {}
        return {"min_nodes": meta.get("min_nodes"), "max_nodes": meta.get("max_nodes")}

    def check_data(self, name: str, data: Any) -> None:
        """Refuse data the type's handler could not be called with (a missing, unknown or
        ill-typed parameter, named); known from this process's handler, or else from the
        signature its registration recorded."""
        sig = self.signature_of(name)
        if sig is not None:
            sig.check(name, data)

    def signature_of(self, name: str) -> Signature | None:
        """The parameters of a type's handler, from this process or from its record (a
        Python type's registration, a script's header)."""
        jt = self.local.get(name)
        if jt is not None and jt.kind == "python":
            return jt.signature
        st = self.stored().get(name)
        if st is None or st.kind not in ("python", "script") or not st.meta.get("signature"):
            return None
        return Signature.from_meta(st.meta["signature"])

    def defaults(self, name: str) -> TypeDefaults:
        """What a job of ``name`` gets when the caller leaves an option out."""
        jt, stored = self.check(name)
        routed = stored.meta.get("worker") if stored is not None else None
        if jt is None:
            assert stored is not None
            return _stored_defaults(stored, f"worker:{routed}" if routed else None)
        queue = f"worker:{routed}" if routed else jt.queue
        return TypeDefaults(queue, jt.priority, jt.retry, jt.timeout, jt.semaphores)


def _retry_meta(retry: Retry) -> dict[str, Any]:
    return {
        "retries": retry.retries,
        "wait": retry.wait,
        "backoff": retry.backoff,
        "until": retry.until,
    }


def _stored_defaults(stored: StoredType, routed: str | None) -> TypeDefaults:
    """The defaults another process recorded for a type this one has no handler for.
    A row that is not what it should be (written by an older version, or by hand) gives
    the plain defaults for that option rather than a failed enqueue."""
    meta = stored.meta
    queue = routed or meta.get("queue") if stored.kind == "python" else routed
    defaults = TypeDefaults(queue=queue if isinstance(queue, str) and queue else "default")
    try:
        defaults = defaults._replace(semaphores=tuple(parse_needs(meta.get("semaphores"))))
    except InvalidInput:
        pass
    if stored.kind != "python":
        return defaults
    try:
        priority = model.parse_priority(meta.get("priority", 0))
    except InvalidInput:
        priority = 0
    try:
        retry = Retry.coerce(meta.get("retry"))
    except (InvalidInput, TypeError):
        retry = Retry()
    try:
        timeout = parse_timeout(meta.get("timeout"))
    except InvalidInput:
        timeout = None
    return defaults._replace(priority=priority, retry=retry, timeout=timeout)
