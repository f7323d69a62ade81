"""Running jobs: due jobs, claims, leases, progress and the type mutex."""

from __future__ import annotations

from collections.abc import Sequence

from jobyard.errors import DatabaseError
from jobyard.model import Job
from jobyard.store.core import StoreCore


class LeasesMixin(StoreCore):
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

    # -- claims and the type mutex -----------------------------------------------------------

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

    def take_type_lock(self, type_name: str, job_id: int, run_id: str, now: float) -> int | None:
        """Take the mutex of ``type_name`` for this run. None: it is ours now (or was); else
        the id of the job holding it, which is still running the run that took it."""
        params = {"type": type_name, "job_id": job_id, "run_id": run_id, "now": now}
        with self.transaction():
            for _ in range(3):
                if self.execute("type_lock_insert", params).fetchone() is not None:
                    return None
                # Locked (PostgreSQL: FOR UPDATE) before its holder is checked, in a later
                # statement: whoever changes the row must wait for this transaction.
                holder = self.execute("type_lock_holder", {"type": type_name}).fetchone()
                if holder is None:
                    continue  # released between the two statements: insert again
                if holder[1] == run_id:
                    return None
                if self.running_runs([holder[1]]):
                    return int(holder[0])
                self.execute("type_lock_take", params)  # its holder is gone: ours now
                return None
        raise DatabaseError(f"could not take the lock of type {type_name!r}: it keeps changing")

    def release_type_lock(self, type_name: str, run_id: str) -> None:
        """Give the mutex back, if this run still holds it."""
        self.execute("type_lock_release", {"type": type_name, "run_id": run_id})

    def require_durability(self) -> None:
        """Inside a transaction: this commit waits for the disk, whatever the connection's
        URL options say (outcomes of jobs)."""
        return None
