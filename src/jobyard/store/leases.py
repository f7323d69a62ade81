"""Running jobs: due jobs, claims (with admission), leases and progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jobyard import admission, callholds
from jobyard.admission import Candidate, Held, Refusal, Rules
from jobyard.model import Job
from jobyard.store.holds import GATES_LOCK, HoldsMixin

GATED_PAGES = 8  # at most this many pages of gated candidates per queue and claim


@dataclass
class Admitted:
    """What a claim with admission did: the jobs now claimed (in claim order) and the
    candidates admission refused for good (left ready: the caller cancels them)."""

    jobs: list[Job] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


class LeasesMixin(HoldsMixin):
    # -- due jobs and leases -----------------------------------------------------------------

    def has_due(self, now: float) -> bool:
        """Whether a waiting job without pending antecedents is due (a cheap read)."""
        return self.execute("has_due", {"now": now}).fetchone() is not None

    def promote_due(self, now: float) -> list[tuple[int, str]]:
        """waiting → ready for the due jobs; returns ``(id, queue)`` of each."""
        rows = self.execute("promote_due", {"now": now}).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def next_due(self) -> float | None:
        """When the next waiting job (without pending antecedents) is due."""
        row = self.execute("next_due").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def expired_leases(self, now: float, limit: int) -> list[Job]:
        """Running jobs whose lease ran out before ``now``, oldest lease first."""
        rows = self.execute("expired_leases", {"now": now, "limit": limit}).fetchall()
        return [self.row_to_job(r) for r in rows]

    def extend_leases(self, run_ids: Sequence[str], lease_expires: float) -> None:
        """Renew the leases of the running jobs of these runs."""
        if run_ids:
            params = {"run_ids": self.list_param(list(run_ids)), "lease_expires": lease_expires}
            self.execute("extend_leases", params)

    def running_runs(self, run_ids: Sequence[str]) -> set[str]:
        """Which of these runs are still running."""
        if not run_ids:
            return set()
        rows = self.execute("running_runs", {"run_ids": self.list_param(list(run_ids))})
        return {str(r[0]) for r in rows.fetchall()}

    def running_of_run(self, run_id: str) -> list[Job]:
        """The jobs still running that one claim leased under ``run_id``."""
        rows = self.execute("running_of_run", {"run_id": run_id}).fetchall()
        return [self.row_to_job(r) for r in rows]

    def touch_running(self, job_id: int, run_id: str | None, now: float, lease: float) -> bool:
        """Mark a running job updated and its lease good until at least ``lease``;
        False if the job is no longer running under this run."""
        params = {"id": job_id, "run_id": run_id, "now": now, "lease_expires": lease}
        return self.execute("touch_running", params).rowcount == 1

    def set_progress(
        self,
        job_id: int,
        run_id: str | None,
        completed: float,
        total: float,
        now: float,
        lease: float,
    ) -> bool:
        """Record a running job's progress (and renew its lease, as touch_running)."""
        params = {
            "id": job_id,
            "run_id": run_id,
            "completed": completed,
            "total": total,
            "now": now,
            "lease_expires": lease,
        }
        return self.execute("set_progress", params).rowcount == 1

    # -- claims --------------------------------------------------------------------------------

    def claim(
        self,
        worker: str,
        run_id: str,
        queues: Sequence[str],
        types: Sequence[str] | None,
        limit: int,
        now: float,
        lease_expires: float,
    ) -> list[Job]:
        """Claim ready jobs (one statement: atomic with or without a transaction)."""
        params = {
            "worker": worker,
            "run_id": run_id,
            "queues": self.list_param(list(queues)),
            "types": self.list_param(list(types or [])),
            "any_type": types is None,
            "limit": limit,
            "now": now,
            "lease_expires": lease_expires,
        }
        rows = self.execute("claim", params).fetchall()
        return [self.row_to_job(r) for r in rows]

    def claim_admitted(
        self,
        worker: str,
        run_id: str,
        queues: Sequence[str],
        types: Sequence[str] | None,
        limit: int,
        now: float,
        lease_expires: float,
        rules: Rules,
        start_now: int | None = None,
    ) -> Admitted:
        """Claim through admission (:mod:`jobyard.admission`): candidates, then the rules,
        then the claim, in one transaction (the caller's, or one of its own). The counts
        hold across workers: each limited key is locked (:meth:`lock_limits`) before its
        running jobs are counted, and only a claim makes a job running. Gated jobs are
        taken only among the first ``start_now`` jobs claimed (None: any)."""
        limited = rules.limited_types(types)
        with self._atomic():
            keys = [admission.type_key(t) for t in limited]
            self.lock_limits([*keys, GATES_LOCK] if rules.gated else keys)
            running = self.running_counts(limited)
            if rules.gated:  # slots of running jobs and of call holds (jobyard.callholds)
                running.update(callholds.counted(rules, self.running_gated(), self.call_holds()))
                if rules.max_active is not None:
                    running.update(self.running_total())
            free = admission.room(rules, running)
            candidates = self._admission_candidates(queues, types, limited, rules, free, limit, now)
            verdict = admission.admit(candidates, rules, running, limit)
            if rules.gated and len(verdict.claim) < limit and start_now != 0:
                verdict = self._admit_gated(
                    queues, types, rules, running, candidates, limit, now, start_now
                )
            jobs = self.mark_claimed(verdict.claim, worker, run_id, now, lease_expires)
        return Admitted(jobs, verdict.refused)

    def _admit_gated(
        self,
        queues: Sequence[str],
        types: Sequence[str] | None,
        rules: Rules,
        running: dict[str, Held],
        found: list[Candidate],
        limit: int,
        now: float,
        start_now: int | None,
    ) -> admission.Verdict:
        """Admission over the plain candidates and the gated ones, read a page per queue at
        a time until the claim is full or they run out (a backlog waiting on a full jobset
        semaphore or site never hides the jobs behind it; a full global semaphore's are
        left out by the query itself); gated ones only among the first ``start_now``."""
        blocked = rules.blocked(running)
        page = max(2 * limit, 100)
        cursors: dict[str, tuple[int, float, int] | None] = dict.fromkeys(queues)
        gated: list[Candidate] = []
        verdict = admission.Verdict()
        for _ in range(GATED_PAGES):
            for queue, cursor in list(cursors.items()):
                rows = self.gated_candidates(queue, types, blocked, page, now, cursor)
                gated.extend(rows)
                if len(rows) < page:
                    del cursors[queue]  # this queue has no more
                else:
                    cursors[queue] = rows[-1].order
            merged = admission.merge([found, gated])
            verdict = admission.admit(merged, rules, running, limit, start_now)
            if len(verdict.claim) >= limit or not cursors:
                break
        return verdict

    def _admission_candidates(
        self,
        queues: Sequence[str],
        types: Sequence[str] | None,
        limited: Sequence[str],
        rules: Rules,
        free: dict[str, int],
        limit: int,
        now: float,
    ) -> list[Candidate]:
        """The unlimited types' first ``limit`` candidates per queue, and apart from them
        the limited types' (those with room, or whose full key refuses): a backlog of a
        full type never hides the jobs behind it."""
        found = [self.ready_candidates(queues, types, limited, limit, now)]
        open_ = [
            t
            for t in limited
            if free[admission.type_key(t)] > 0
            or rules.limits[admission.type_key(t)].when_full == "skip"
        ]
        if open_:
            slots = sum(free[admission.type_key(t)] for t in open_)
            found.append(self.ready_candidates(queues, open_, (), limit + slots, now))
        return admission.merge(found)

    # -- the primitives of admission (a dialect may override them) ---------------------------

    def running_counts(self, types: Sequence[str]) -> dict[str, Held]:
        """Running jobs per limited key (today: per type)."""
        if not types:
            return {}
        rows = self.execute("running_by_type", {"types": self.list_param(list(types))})
        return {admission.type_key(str(r[0])): Held(int(r[1]), int(r[2])) for r in rows.fetchall()}

    def ready_candidates(
        self,
        queues: Sequence[str],
        types: Sequence[str] | None,
        exclude: Sequence[str],
        limit: int,
        now: float,
    ) -> list[Candidate]:
        """Each queue's first ``limit`` ready jobs of ``types`` (None: any) but ``exclude``,
        in claim order; PostgreSQL locks them (SKIP LOCKED) until the claim commits."""
        params = {
            "now": now,
            "limit": limit,
            "types": self.list_param(list(types or [])),
            "any_type": types is None,
            "exclude": self.list_param(list(exclude)),
        }
        found: list[Candidate] = []
        for queue in dict.fromkeys(queues):
            rows = self.execute("admit_candidates", {**params, "queue": queue}).fetchall()
            found.extend(
                Candidate(int(r[0]), float(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows
            )
        return found

    def mark_claimed(
        self, ids: Sequence[int], worker: str, run_id: str, now: float, lease_expires: float
    ) -> list[Job]:
        """Claim these ready jobs for the run (a job no longer ready is left alone)."""
        if not ids:
            return []
        params = {
            "ids": self.list_param(list(ids)),
            "worker": worker,
            "run_id": run_id,
            "now": now,
            "lease_expires": lease_expires,
        }
        jobs = [self.row_to_job(r) for r in self.execute("claim_ids", params).fetchall()]
        return sorted(jobs, key=lambda j: (j.priority, j.after, j.id))

    def require_durability(self) -> None:
        """Inside a transaction: this commit waits for the disk, whatever the connection's
        URL options say (outcomes of jobs)."""
        return None
