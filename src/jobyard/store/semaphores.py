"""The semaphores concern of the store: definitions, and the gated jobs the claim's
admission step counts and picks (jobyard.semaphores, jobyard.admission)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobyard.admission import ACTIVE_KEY, Candidate, Held
from jobyard.model import Job
from jobyard.semaphores import Semaphore
from jobyard.store.core import StoreCore

Cursor = tuple[int, float, int]  # (priority, after, id) of the last candidate of a page


class SemaphoresMixin(StoreCore):
    def upsert_semaphores(self, found: Sequence[Semaphore], now: float) -> None:
        """Record definitions (the last one written wins, for every worker)."""
        if found:
            rows = [{**s.to_dict(), "now": now} for s in found]
            with self._atomic():
                self.executemany("semaphore_upsert", rows)

    def list_semaphores(self) -> list[Semaphore]:
        rows = self.execute("semaphores_all").fetchall()
        return [Semaphore(str(r[0]), int(r[1]), r[2], r[3]) for r in rows]

    def _gated(self, row: Any, order: bool = True) -> Candidate:
        """A row ``[priority, after,] id, type, [queue,] jobset, site, semaphores``."""
        p, a, rest = (row[0], row[1], row[2:]) if order else (0, 0.0, row)
        if order:
            job_id, type_, queue, jobset, site, needs = rest
        else:
            (job_id, type_, jobset, site, needs), queue = rest, ""
        return Candidate(
            int(p),
            float(a),
            int(job_id),
            str(type_),
            str(queue),
            None if jobset is None else int(jobset),
            None if site is None else str(site),
            tuple(str(n) for n in self.decode_json(needs) or ()),
        )

    def running_gated(self) -> list[Candidate]:
        """The running jobs that hold semaphores or site slots, as admission reads them."""
        return [self._gated(r, order=False) for r in self.execute("running_gated").fetchall()]

    def running_total(self) -> dict[str, Held]:
        """Every running job, as the global cap counts them."""
        row = self.execute("running_total").fetchone()
        count, example = (int(row[0]), row[1]) if row is not None else (0, None)
        return {ACTIVE_KEY: Held(count, None if example is None else int(example))}

    def ready_gated(self, limit: int) -> list[Job]:
        """Ready jobs that need semaphores or site slots, in claim order (the waiters)."""
        rows = self.execute("ready_gated", {"limit": limit}).fetchall()
        return [self.row_to_job(r) for r in rows]

    def gated_candidates(
        self,
        queue: str,
        types: Sequence[str] | None,
        blocked: Sequence[str],
        limit: int,
        now: float,
        cursor: Cursor | None,
    ) -> list[Candidate]:
        """One queue's ready gated jobs after ``cursor`` in claim order, but those naming a
        ``blocked`` need; PostgreSQL locks them (SKIP LOCKED) until the claim commits."""
        p, a, i = cursor or (0, 0.0, 0)
        params = {
            "queue": queue,
            "now": now,
            "limit": limit,
            "types": self.list_param(list(types or [])),
            "any_type": types is None,
            "blocked": self.list_param(list(blocked)),
            "first": cursor is None,
            "p": p,
            "a": a,
            "i": i,
        }
        return [self._gated(r) for r in self.execute("admit_gated", params).fetchall()]
