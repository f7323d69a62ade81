"""The worker port: every verb a worker and its handlers need from the spine.

A :class:`~jobyard.worker.runner.Worker` and the :class:`~jobyard.context.JobContext` of
each running job reach jobs, leases, logs and shared storage only through this protocol,
so one ``Worker`` class serves every way of reaching the store: ``LocalPort`` (this
process opens the store itself, :mod:`jobyard.worker.local`) and a remote worker talking
HTTP, which implements the same verbs.

Each verb is one round trip (one transaction locally). Verbs that act on a run — ``log``,
``progress``, ``touch``, ``semaphore`` — check that the run is still the caller's and raise
:class:`~jobyard.errors.LeaseLost` when it is not (cancelled, or rescued elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from jobyard.admission import Limit
    from jobyard.model import Job
    from jobyard.store.base import Waiter
    from jobyard.store.events import Event
    from jobyard.store.workers import StoredType
    from jobyard.worker.execute import Outcome


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker says about itself when it registers."""

    name: str
    host: str
    pid: int
    queues: Sequence[str]
    concurrency: int
    lease: float
    started: float


@dataclass(frozen=True)
class WorkerStatus:
    """What a heartbeat says about the worker: its state and the jobs it runs."""

    name: str
    status: str  # running, paused or stopping
    running: Sequence[int] = field(default_factory=tuple)


@dataclass(frozen=True)
class ClaimRequest:
    """Which jobs a worker asks for: up to ``limit`` ready jobs of ``types`` in ``queues``,
    leased for ``lease`` seconds. ``promote`` first turns due waiting jobs ready (local
    housekeeping; a remote port may ignore it, the server promotes on its own).
    ``limits``: the admission limits of those types that have one (``JobType.limit``, a
    mutex script); empty, the claim takes its fast path (no admission step).
    ``start_now``: how many of the claimed jobs the worker starts at once (None: all). A
    job naming semaphores or site caps is claimed only among those first ones: it holds
    its slots from the claim on, and must not hold them while it waits in a prefetch
    queue (behind handlers that may wait for the same semaphore, ``job.semaphore``)."""

    worker: str
    queues: Sequence[str]
    types: Sequence[str]
    limit: int
    lease: float
    promote: bool = False
    limits: Mapping[str, Limit] = field(default_factory=dict)
    run: str | None = None  # the run id the claim gives its jobs (None: a new one)
    start_now: int | None = None


class WorkerPort(Protocol):
    """The verbs of a worker. All of them may block on I/O: the worker calls them from its
    database thread, never from its event loop."""

    # -- the worker ------------------------------------------------------------------------

    def register(self, info: WorkerInfo) -> None:
        """Record the worker (and this process's Python types, so others may enqueue them)."""

    def unregister(self, name: str) -> None:
        """Remove the worker's entry (a clean shutdown)."""

    def beat(self, run_ids: Sequence[str], lease: float, status: WorkerStatus) -> set[str]:
        """Renew the leases of ``run_ids`` by ``lease`` seconds and record the worker's
        heartbeat; returns those of ``run_ids`` that still run (the rest were cancelled or
        rescued elsewhere: the worker stops them)."""
        ...

    def housekeeping(self, now: float) -> None:
        """Rescue runs whose lease expired and promote due jobs (a local duty; a remote
        port may do nothing: the server does it)."""

    def types(self) -> Mapping[str, StoredType]:
        """The stored job types (script types to load, enabled flags to follow)."""
        ...

    def waiter(self, queues: Sequence[str]) -> Waiter:
        """Something to block on until work may be available in ``queues``."""
        ...

    def close(self) -> None:
        """Release what the port holds for the calling thread (its connection)."""

    # -- jobs ------------------------------------------------------------------------------

    def claim(self, request: ClaimRequest) -> list[Job]:
        """Lease ready jobs (see :class:`ClaimRequest`); [] if there are none."""
        ...

    def record(
        self, outcomes: Sequence[tuple[Job, Outcome]], claim_next: ClaimRequest | None = None
    ) -> list[Job]:
        """Record outcomes durably (completed, or failed: retried or not) and, in the same
        step, claim the next jobs for ``claim_next``; returns those jobs. An outcome of a
        run that is no longer the worker's is ignored (compare-and-set)."""
        ...

    def next_due(self) -> float | None:
        """When the next waiting job becomes due (None: none is waiting for a time)."""
        ...

    def hand_back(self, jobs: Sequence[Job], reason: str) -> list[int]:
        """Return claimed jobs to ready without spending an attempt (shutdown)."""
        ...

    def get_job(self, job_id: int) -> Job | None:
        """The job as stored now (None if it is gone)."""
        ...

    def cancel(self, job_id: int) -> None:
        """Cancel a job (a handler ending its own run cancelled: a busy mutex type)."""

    # -- a running job ---------------------------------------------------------------------

    def log(
        self,
        job_id: int,
        run_id: str | None,
        entries: Sequence[Mapping[str, Any]],
        lease: float,
        guarded: bool = True,
    ) -> None:
        """Append log entries to the run and renew its lease. ``guarded=False`` writes them
        whatever became of the run (the last lines of a cancelled run)."""

    def progress(
        self, job_id: int, run_id: str | None, completed: float, total: float, lease: float
    ) -> None:
        """Set the run's progress and renew its lease."""

    def touch(self, job_id: int, run_id: str | None, lease: float) -> None:
        """Renew the run's lease; LeaseLost if the run is no longer this one."""

    def emit(self, event: str, data: Any, source_job: int | None, depth: int) -> Event:
        """Emit an event: its listeners get jobs at once."""
        ...

    def script_ran(self, type_name: str, started: float, status: str) -> None:
        """Note a script type's last run (when it started, how it ended)."""

    def collection(self, args: Sequence[Any]) -> Any:
        """One collection call of a script (see :func:`jobyard.collections.script_call`)."""
        ...

    def semaphore(self, job_id: int, run_id: str | None, token: str, entry: str) -> bool:
        """Ask for a semaphore slot held around a call (``entry``: ``db``, ``db:read``,
        ``db:write``) as hold ``token`` (the caller's choice; asking again with it is safe):
        True when granted, False when it waits (ask again after a wake-up). InvalidInput
        for an unknown semaphore; LeaseLost if the run is no longer this one."""
        ...

    def semaphore_release(self, job_id: int, run_id: str | None, tokens: Sequence[str]) -> None:
        """Give up these call holds (granted or waiting) and wake whoever waits for them;
        holds of a run that ended count for nothing already and are simply dropped."""

    # -- jobset storage --------------------------------------------------------------------

    def kv_get(self, jobset: int, key: str) -> tuple[bool, Any]:
        """(True, value) of a key of a jobset's storage, or (False, None) if it is absent."""
        ...

    def kv_put(self, jobset: int, values: Mapping[str, Any]) -> None:
        """Upsert keys (values are JSON, checked against the data size limit)."""

    def kv_delete(self, jobset: int, keys: Sequence[str]) -> int:
        """Remove keys (missing ones are ignored); returns how many were there."""
        ...

    def kv_all(self, jobset: int) -> dict[str, Any]:
        """Every key and value of a jobset's storage (keys sorted)."""
        ...

    def kv_update(self, jobset: int, put: Mapping[str, Any], delete: Sequence[str]) -> int:
        """Upsert ``put`` and remove ``delete`` at once (one transaction); returns how
        many of ``delete`` were there."""
        ...
