"""``LocalPort``: the worker port of a process that opens the store itself.

All the store access of the worker side lives here (the worker loop, its registry and
heartbeats, :class:`~jobyard.context.JobContext`, the script runner): everything else
of ``jobyard.worker`` and the handlers goes through :class:`~jobyard.worker.port.WorkerPort`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobyard import lifecycle, manage
from jobyard.admission import Limit, Refusal, Rules, refusal_message
from jobyard.errors import LeaseLost
from jobyard.jobsets import JobsetStorage
from jobyard.retention import Housekeeper
from jobyard.semaphores import parse_need
from jobyard.worker.port import ClaimRequest, WorkerInfo, WorkerStatus

if TYPE_CHECKING:
    from jobyard.model import Job
    from jobyard.store.base import Store, Waiter
    from jobyard.store.events import Event
    from jobyard.store.workers import StoredType
    from jobyard.worker.execute import Outcome
    from jobyard.yard import Yard


def _lost(job_id: int) -> LeaseLost:
    return LeaseLost(f"job {job_id} is no longer running under this run")


def _refuse(store: Store, refused: Sequence[Refusal], now: float) -> None:
    """A candidate refused for good does not run: it logs why and ends cancelled (its
    dependents too, as any cancel), without spending an attempt."""
    store.append_logs(
        [
            lifecycle.log_entry(
                r.id, now, refusal_message(r), "warning", None, {"skipped": True, "busy": r.holder}
            )
            for r in refused
        ]
    )
    manage.cancel(store, [r.id for r in refused], now)


class LocalPort:
    """The worker port over this process's :class:`~jobyard.yard.Yard` and its store."""

    def __init__(self, yard: Yard) -> None:
        self.yard = yard
        self._keeper: Housekeeper | None = None

    def __repr__(self) -> str:
        return f"<LocalPort {self.yard!r}>"

    # -- the worker ------------------------------------------------------------------------

    def register(self, info: WorkerInfo) -> None:
        self.yard.sync_types()
        self.yard.store.upsert_worker(
            info.name,
            info.host,
            info.pid,
            list(info.queues),
            info.concurrency,
            info.started,
            info.lease,
        )

    def record_types(self, types: Sequence[StoredType]) -> None:
        """Record a remote worker's Python types (so others may enqueue them); a stored
        script type of the same name is left as it is."""
        self.yard.registry.record(types)

    def unregister(self, name: str) -> None:
        self.yard.store.delete_worker(name)

    def beat(self, run_ids: Sequence[str], lease: float, status: WorkerStatus) -> set[str]:
        store, now = self.yard.store, time.time()
        alive: set[str] = set()
        if run_ids:
            runs = sorted(run_ids)
            store.extend_leases(runs, now + lease)
            alive = store.running_runs(runs)
        store.heartbeat_worker(status.name, now, status.status, sorted(status.running))
        return alive

    def housekeeping(self, now: float) -> None:
        store = self.yard.store
        manage.rescue_expired(store, now, self.yard.config.quarantine_after)
        manage.promote(store, now)
        # Retention too: a deployment of workers alone (no scheduler, no web) still prunes.
        if self._keeper is None:
            self._keeper = Housekeeper(store, self.yard.config)
        self._keeper.offer(now)

    def types(self) -> Mapping[str, StoredType]:
        return self.yard.stored_types(refresh=True)

    def waiter(self, queues: Sequence[str]) -> Waiter:
        return self.yard.store.waiter(queues)

    def close(self) -> None:
        self.yard.store.close()

    # -- jobs ------------------------------------------------------------------------------

    def claim(self, request: ClaimRequest) -> list[Job]:
        store, now = self.yard.store, time.time()
        if request.promote:
            manage.promote(store, now)
        args = (
            request.worker,
            request.run or uuid.uuid4().hex[:12],
            list(request.queues),
            list(request.types),
            request.limit,
            now,
            now + request.lease,
        )
        # The store's limits win over the request's: every worker of a type obeys the
        # same number, whatever its own code says (jobyard type limit).
        limits = {**request.limits, **self.yard.registry.stored_limits(request.types)}
        rules = self.rules(limits)
        if not limits and not rules.gated:  # the fast path: one statement on PostgreSQL
            return store.claim(*args)  # (it leaves gated jobs alone: nothing gates them)
        # Candidates → admission → claim; refused candidates (a busy mutex type) end
        # cancelled in the same transaction, so no other claimer sees them ready meanwhile.
        with store.transaction(durable=False):
            admitted = store.claim_admitted(*args, rules, start_now=request.start_now)
            if admitted.refused:
                _refuse(store, admitted.refused, now)
        return admitted.jobs

    def rules(self, limits: Mapping[str, Limit]) -> Rules:
        """What the claims of this process obey: the types' limits, the store's semaphores
        (and site caps in use), the global cap of the config."""
        sems = self.yard.semaphores.effective()
        return Rules(Rules.for_types(limits).limits, sems, self.yard.config.max_active)

    def record(
        self, outcomes: Sequence[tuple[Job, Outcome]], claim_next: ClaimRequest | None = None
    ) -> list[Job]:
        store, now = self.yard.store, time.time()
        # Claiming the next jobs in the same transaction: one commit instead of two.
        with store.transaction():
            store.require_durability()  # outcomes must survive a database crash
            ok = [(job, o.result) for job, o in outcomes if o.ok]
            if ok:
                lifecycle.complete(store, ok, now)
            for job, o in outcomes:
                if not o.ok:
                    lifecycle.fail(store, job, o.error, now, fatal=o.fatal)
            claimed = self.claim(claim_next) if claim_next and claim_next.limit else []
        if self.yard.config.max_active is not None or any(j.semaphores for j, _ in outcomes):
            manage.released(store)
        return claimed

    def next_due(self) -> float | None:
        return self.yard.store.next_due()

    def hand_back(self, jobs: Sequence[Job], reason: str) -> list[int]:
        return manage.hand_back(self.yard.store, jobs, time.time(), reason)

    def get_job(self, job_id: int) -> Job | None:
        jobs = self.yard.store.get_jobs([job_id])
        return jobs[0] if jobs else None

    def cancel(self, job_id: int) -> None:
        self.yard.cancel([job_id])

    # -- a running job ---------------------------------------------------------------------

    def log(
        self,
        job_id: int,
        run_id: str | None,
        entries: Sequence[Mapping[str, Any]],
        lease: float,
        guarded: bool = True,
    ) -> None:
        store = self.yard.store
        if not guarded:
            store.append_logs(entries, announce=True)
            return
        with store.transaction():
            self.touch(job_id, run_id, lease)  # not ours any more: nothing is written
            store.append_logs(entries, announce=True)

    def progress(
        self, job_id: int, run_id: str | None, completed: float, total: float, lease: float
    ) -> None:
        now = time.time()
        if not self.yard.store.set_progress(job_id, run_id, completed, total, now, now + lease):
            raise _lost(job_id)

    def touch(self, job_id: int, run_id: str | None, lease: float) -> None:
        now = time.time()
        if not self.yard.store.touch_running(job_id, run_id, now, now + lease):
            raise _lost(job_id)

    def emit(self, event: str, data: Any, source_job: int | None, depth: int) -> Event:
        from jobyard.events import emit

        return emit(self.yard, event, data, source_job=source_job, depth=depth)

    def script_ran(self, type_name: str, started: float, status: str) -> None:
        from jobyard.scripts.meta import update_meta

        def mark(meta: dict[str, Any]) -> dict[str, Any]:
            return {**meta, "last_ran": started, "last_status": status}

        update_meta(self.yard, type_name, mark)

    def collection(self, args: Sequence[Any]) -> Any:
        from jobyard.collections import script_call

        return script_call(self.yard, args)

    def semaphore(self, job_id: int, run_id: str | None, token: str, entry: str) -> bool:
        entry = parse_need(entry)
        self.yard.semaphores.check([entry], "job.semaphore")
        rules = Rules(semaphores=self.yard.semaphores.effective())
        store, now = self.yard.store, time.time()
        granted = store.take_call_hold(job_id, run_id or "", token, entry, rules, now)
        if granted is None:
            raise _lost(job_id)
        return granted

    def semaphore_release(self, job_id: int, run_id: str | None, tokens: Sequence[str]) -> None:
        if self.yard.store.release_call_holds(job_id, run_id or "", tokens):
            manage.released(self.yard.store)

    # -- jobset storage --------------------------------------------------------------------

    def _storage(self, jobset: int) -> JobsetStorage:
        return JobsetStorage(self.yard.store, jobset, self.yard.config.max_data_bytes)

    def kv_get(self, jobset: int, key: str) -> tuple[bool, Any]:
        try:
            return True, self._storage(jobset)[key]
        except KeyError:
            return False, None

    def kv_put(self, jobset: int, values: Mapping[str, Any]) -> None:
        self._storage(jobset).put_many(values)

    def kv_delete(self, jobset: int, keys: Sequence[str]) -> int:
        return self._storage(jobset).delete_many(keys)

    def kv_all(self, jobset: int) -> dict[str, Any]:
        return self._storage(jobset).snapshot()

    def kv_update(self, jobset: int, put: Mapping[str, Any], delete: Sequence[str]) -> int:
        return self._storage(jobset)._update(put, delete)
