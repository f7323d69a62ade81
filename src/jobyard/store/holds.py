"""The call holds concern of the store: the rows of ``job.semaphore(...)`` (jobyard.callholds)
and the step that grants one, under the same lock and counts as a claim's admission."""

from __future__ import annotations

from collections.abc import Sequence

from jobyard import callholds
from jobyard.admission import Rules
from jobyard.callholds import CallHold
from jobyard.store.semaphores import SemaphoresMixin

GATES_LOCK = "gates"  # one lock for every claim that counts semaphores, sites or the cap


class HoldsMixin(SemaphoresMixin):
    def lock_limits(self, keys: Sequence[str]) -> None:
        """Inside the claim's transaction: serialise claimers of these keys until commit.
        SQLite: nothing to do, BEGIN IMMEDIATE's write lock already serialises claims."""
        return None

    def call_holds(self) -> list[CallHold]:
        """The call holds that count (their job runs under their run id), granted or
        waiting, oldest first."""
        return [
            CallHold(
                str(r[0]),
                int(r[1]),
                str(r[2]),
                str(r[3]),
                bool(r[4]),
                float(r[5]),
                None if r[6] is None else int(r[6]),
            )
            for r in self.execute("holds_live").fetchall()
        ]

    def take_call_hold(
        self, job_id: int, run_id: str, token: str, entry: str, rules: Rules, now: float
    ) -> bool | None:
        """Ask for the slot of call hold ``token`` (``entry``: ``db``, ``db:write``), or ask
        again: True when it is granted (now or before), False when it waits (its row says
        so), None when the job no longer runs under ``run_id`` (nothing is written). One
        transaction under the claims' lock, so a claim and a call never both take the last
        slot."""
        name, _, mode = entry.partition(":")
        with self._atomic():
            self.lock_limits([GATES_LOCK])
            row = self.execute("hold_run", {"id": job_id, "run_id": run_id}).fetchone()
            if row is None:
                return None
            self.execute("holds_prune")  # rows of runs that ended: they count for nothing
            calls = self.call_holds()
            mine = next((c for c in calls if c.token == token), None)
            if mine is None:
                jobset = None if row[0] is None else int(row[0])
                mine = CallHold(token, job_id, name, mode, False, now, jobset)
            elif (mine.job, mine.entry) != (job_id, entry):
                return None  # another hold's token: not this caller's to ask about
            elif mine.granted:
                return True  # a retried request whose answer was lost
            granted = callholds.refusal(rules, self.running_gated(), calls, mine) is None
            params = {
                "token": token,
                "job_id": job_id,
                "run_id": run_id,
                "name": name,
                "mode": mode,
                "granted": int(granted),
                "now": mine.since,
            }
            self.execute("hold_put", params)
        return granted

    def release_call_holds(self, job_id: int, run_id: str, tokens: Sequence[str]) -> int:
        """Delete these holds of the job's run (granted or waiting); how many there were."""
        if not tokens:
            return 0
        params = {"job_id": job_id, "run_id": run_id, "tokens": self.list_param(list(tokens))}
        with self._atomic():
            return int(self.execute("hold_delete", params).rowcount or 0)

    def drop_call_holds(self, job_ids: Sequence[int]) -> int:
        """Delete every call hold of these jobs (they left running: rescued, cancelled,
        handed back); how many there were, so the caller knows whether to wake waiters."""
        if not job_ids:
            return 0
        with self._atomic():
            params = {"ids": self.list_param(list(job_ids))}
            return int(self.execute("holds_drop_jobs", params).rowcount or 0)
