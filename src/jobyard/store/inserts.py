"""The inserts of the store's jobs concern: new jobs (one, many of one spec, many of
many), their job.created events and dependencies.

A new job's data arrives as the JSON text the caller's size-checking encoder
(``limits.encode_json``) produced, so it is encoded once, not twice. Backends override
``_insert_rows`` (their bulk way) and ``_insert_shared`` (rows alike but for their data:
one statement for all).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobyard.store.core import StoreCore


@dataclass(eq=False)
class NewJob:
    """A job to insert, all but its data. Bulk inserts share one object among many rows:
    it is turned into parameters once."""

    type: str
    queue: str
    status: str
    created: float
    priority: int = 0
    props: dict[str, Any] = field(default_factory=dict)
    retries: Any = 0  # as the (normalized) Retry/Repeat holds it
    retry_wait: float = 0.0
    retry_backoff: str = "constant"
    retry_until: Any = None  # as the (normalized) Retry/Repeat holds it
    repeats: Any = 0  # as the (normalized) Retry/Repeat holds it
    repeated: int = 0
    repeat_wait: float | None = None
    repeat_schedule: str | None = None
    repeat_timezone: str | None = None
    repeat_until: Any = None  # as the (normalized) Retry/Repeat holds it
    after: float = 0.0
    depends: list[int] = field(default_factory=list)
    pending: int = 0  # antecedents not finished yet (``depends`` may list resolved ones too)
    jobset: int | None = None
    site: str | None = None
    timeout: float | None = None
    semaphores: list[str] = field(default_factory=list)  # needs (jobyard.semaphores)


NewRow = tuple[NewJob, str]  # a new job and its data as JSON text


class InsertsMixin(StoreCore):
    # -- insert ------------------------------------------------------------------------------

    def _job_params(self, rows: Sequence[NewRow]) -> list[dict[str, Any]]:
        bases: dict[int, dict[str, Any]] = {}
        out = []
        for job, data in rows:
            base = bases.get(id(job))
            if base is None:
                base = bases[id(job)] = self._job_base(job)
            out.append({**base, "data": data})
        return out

    def _job_base(self, job: NewJob) -> dict[str, Any]:
        return {
            "type": job.type,
            "queue": job.queue,
            "status": job.status,
            "priority": job.priority,
            "props": self.encode_json(job.props) if job.props else self.empty_object,
            "progress_total": 100,
            "retries": job.retries,
            "retry_limit": job.retries,
            "retry_wait": job.retry_wait,
            "retry_backoff": job.retry_backoff,
            "retry_until": job.retry_until,
            "repeats": job.repeats,
            "repeated": job.repeated,
            "repeat_wait": job.repeat_wait,
            "repeat_schedule": job.repeat_schedule,
            "repeat_timezone": job.repeat_timezone,
            "repeat_until": job.repeat_until,
            "after": job.after,
            "depends": self.encode_json(job.depends) if job.depends else self.empty_list,
            "pending": job.pending,
            "jobset": job.jobset,
            "site": job.site,
            "timeout": job.timeout,
            "created": job.created,
            "updated": job.created,
            "semaphores": self.encode_json(job.semaphores) if job.semaphores else self.empty_list,
            "gated": 1 if job.semaphores else 0,
        }

    def insert_jobs(self, rows: Sequence[NewRow]) -> list[int]:
        """Insert jobs ``(new job, data JSON text)``; return their ids in order."""
        if not rows:
            return []
        with self._atomic():
            params = self._job_params(rows)
            ids = self._insert_rows(params)
            self._created(ids, params)
        return ids

    # How job.created events are written in the insert's own transaction: ``"values"``
    # from the values at hand (one executemany), or ``"trigger"`` by the database itself
    # in the insert's statement (SQLite: a row trigger, 0016; PostgreSQL: a statement
    # trigger over the inserted rows, 0019).
    created_events: str = "values"

    def _created(self, ids: Sequence[int], rows: Sequence[Mapping[str, Any]]) -> None:
        if self.created_events == "trigger":
            return
        events = [
            {"time": r["created"], "name": "job.created", "id": i, "type": r["type"],
             "queue": r["queue"], "status": r["status"]}
            for i, r in zip(ids, rows, strict=True)
        ]  # fmt: skip
        self.executemany("job_event_created_row", events)

    @abstractmethod
    def _insert_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert job parameter rows; return their ids in order (the backend's bulk way)."""

    def insert_and_notify(self, rows: Sequence[NewRow]) -> list[int]:
        """Insert jobs and wake the workers of the ready ones' queues."""
        if len(rows) > 1:
            job = rows[0][0]
            if all(r[0] is job for r in rows):  # a bulk enqueue of one spec
                return self._insert_shared_and_notify(job, [data for _, data in rows])
        return self._insert_and_notify(self._job_params(rows)) if rows else []

    def insert_like_and_notify(self, job: NewJob, data: str, created: float, after: float) -> int:
        """Insert one job equal to ``job`` (a template reused call after call) but for its
        data, created and due times; wake its queue's workers if it is ready. The template's
        parameters are made once and kept while the template lives."""
        cached = self._templates.get(id(job))
        if cached is None or cached[0] is not job:
            if len(self._templates) >= 256:
                self._templates.clear()
            cached = self._templates[id(job)] = (job, self._job_base(job))
        params = {**cached[1], "data": data, "created": created, "updated": created, "after": after}
        return self._insert_and_notify([params])[0]

    def _insert_shared_and_notify(self, job: NewJob, datas: Sequence[str]) -> list[int]:
        base = self._job_base(job)
        with self._atomic():
            ids = self._insert_shared(base, datas)
            if self.created_events != "trigger":
                self._created(ids, [{**base, "data": data} for data in datas])
        if job.status == "ready":
            self.notify([job.queue])
        return ids

    def _insert_shared(self, base: Mapping[str, Any], datas: Sequence[str]) -> list[int]:
        """Insert rows equal to ``base`` but for their ``data``; ids in order. Backends
        override it with one statement for all (the rows' shared values bound once)."""
        return self._insert_rows([{**base, "data": data} for data in datas])

    def _insert_and_notify(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        with self._atomic():
            ids = self._insert_rows(rows)
            self._created(ids, rows)
        ready = sorted({str(r["queue"]) for r in rows if r["status"] == "ready"})
        if ready:
            self.notify(ready)
        return ids

    def add_dependencies(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Record that job ``a`` waits on job ``b`` for each ``(a, b)`` (again: no-op)."""
        if not pairs:
            return
        with self._atomic():
            self.executemany("insert_dep", [{"job_id": a, "dep_id": b} for a, b in pairs])
            antecedents = sorted({b for _, b in pairs})
            self.execute("mark_has_dependents", {"ids": self.list_param(antecedents)})
