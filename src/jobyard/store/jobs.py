"""The jobs concern of the store: reading and changing jobs, logs, tombstones (new jobs:
:mod:`jobyard.store.inserts`).

Callers pass and get Python values and :class:`~jobyard.model.Job` objects; the JSON
columns are encoded and decoded here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobyard.model import FINISHED, RUNNING, STATUSES, Job
from jobyard.store.archive import ArchiveMixin
from jobyard.store.core import JOB_COLUMNS, JSON_COLUMNS, dumps


@dataclass
class JobFilter:
    ids: Sequence[int] | None = None
    status: Sequence[str] | None = None
    type: Sequence[str] | None = None
    queue: Sequence[str] | None = None
    jobset: int | None = None
    before_id: int | None = None  # paging cursor: only ids below this
    limit: int | None = None
    after_id: int | None = None  # paging cursor of an oldest-first listing
    worker: str | None = None  # the worker that runs or last ran it
    oldest_first: bool = False


@dataclass
class Update:
    """A conditional update of one job: applied only while it is still as expected."""

    id: int
    changes: dict[str, Any]
    statuses: tuple[str, ...] | None = None
    run_id: str | None = None
    # Only while the lease ran out before this time: a rescue must lose to a heartbeat that
    # renewed the lease after the rescuer read the job.
    lease_before: float | None = None


class JobsMixin(ArchiveMixin):
    # -- read --------------------------------------------------------------------------------

    def _locked(self, name: str, lock: bool, table: str | None = None) -> str:
        """The named query, locking the rows it reads until commit when ``lock`` (a backend
        whose writers are serialised anyway needs nothing more)."""
        return self._queries[name]

    def get_jobs(self, ids: Sequence[int], lock: bool = False) -> list[Job]:
        """The jobs of ``ids`` that exist, in that order, archived ones too. ``lock``:
        inside a transaction, nobody else changes them until it ends (read-then-write
        policy steps); an archived job is moved back to ``jobs`` first, so every change is
        made there."""
        if not ids:
            return []
        cur = self._execute(self._locked("get_jobs", lock), {"ids": self.list_param(list(ids))})
        by_id = {job.id: job for job in map(self.row_to_job, cur.fetchall())}
        missing = sorted({i for i in ids if i not in by_id})
        if missing:
            by_id.update((job.id, job) for job in self._get_elsewhere(missing, lock))
        return [by_id[i] for i in ids if i in by_id]

    def _get_elsewhere(self, ids: list[int], lock: bool) -> list[Job]:
        """Jobs of ``ids`` not found in ``jobs`` (archived, or gone)."""
        param = {"ids": self.list_param(ids)}
        if lock:
            self.unarchive(ids)  # ours, or someone's just before: read them in jobs again
            rows = self._execute(self._locked("get_jobs", True), param).fetchall()
            return [self.row_to_job(r) for r in rows]
        found = list(map(self.row_to_job, self.execute("archived_get", param).fetchall()))
        if len(found) < len(ids):  # moved back between the two reads: read jobs once more
            rest = self.list_param(sorted(set(ids) - {job.id for job in found}))
            found += map(self.row_to_job, self.execute("get_jobs", {"ids": rest}).fetchall())
        return found

    def dependents(self, ids: Sequence[int], lock: bool = False) -> list[Job]:
        """The jobs recorded as waiting on any of ``ids`` (``lock`` as in get_jobs)."""
        if not ids:
            return []
        param = {"ids": self.list_param(list(ids))}
        found = self.execute("archived_dependents", param).fetchall()
        archived = [self.row_to_job(r) for r in found]
        if lock and archived:
            self.unarchive([job.id for job in archived])
            archived = []
        rows = self._execute(self._locked("dependents", lock, table="j"), param).fetchall()
        return sorted([*map(self.row_to_job, rows), *archived], key=lambda job: job.id)

    def _where(self, flt: JobFilter) -> tuple[str, dict[str, Any]]:
        where, params = [], {}
        p = self.placeholder.format
        for key in ("ids", "status", "type", "queue"):
            values = getattr(flt, key)
            if key == "status" and values and len(values) == 1 and values[0] in STATUSES:
                # A literal (from the fixed list of statuses) lets the planner use the
                # status's partial index; a bound parameter would not.
                where.append(f"status = '{values[0]}'")
                continue
            if values:
                column = "id" if key == "ids" else key
                where.append(self._in_list(column, key))
                params[key] = self.list_param(list(values))
        if flt.worker is not None:
            where.append(f"worker = {p('worker')}")
            params["worker"] = flt.worker
        if flt.jobset is not None:
            where.append(f"jobset = {p('jobset')}")
            params["jobset"] = flt.jobset
        if flt.before_id is not None:
            where.append(f"id < {p('before_id')}")
            params["before_id"] = flt.before_id
        if flt.after_id is not None:
            where.append(f"id > {p('after_id')}")
            params["after_id"] = flt.after_id
        return (" WHERE " + " AND ".join(where)) if where else "", params

    def query_jobs(self, flt: JobFilter) -> list[Job]:
        """The jobs matching ``flt``, newest first (or oldest first), archived ones too."""
        clause, params = self._where(flt)
        direction = "ASC" if flt.oldest_first else "DESC"
        if _archived_too(flt):
            # The filter outside the union: both dialects push it into each table and merge
            # their id-ordered index scans, stopping at the limit. (PostgreSQL 15 sorts the
            # whole match instead when each side has its own WHERE: 150 ms vs 1 ms for a
            # page of 50 over a million archived jobs.)
            sql = "SELECT * FROM (SELECT * FROM jobs UNION ALL SELECT * FROM jobs_archive) u"
            sql += f"{clause} ORDER BY id {direction}"
        else:
            # Running jobs are few (bounded by the workers' slots): "+id" keeps the planner
            # off a walk of the whole table by id (an idle dashboard on a million jobs:
            # 140 ms) and on the small jobs_running index, sorting what it finds.
            order = "+id" if flt.status is not None and list(flt.status) == [RUNNING] else "id"
            sql = f"SELECT * FROM jobs{clause} ORDER BY {order} {direction}"
        if flt.limit is not None:
            sql += f" LIMIT {int(flt.limit)}"
        return [self.row_to_job(r) for r in self._execute(sql, params).fetchall()]

    def active_by_queue(self) -> dict[str, dict[str, int]]:
        """Ready, running and waiting jobs per queue: ``{queue: {status: n}}``."""
        out: dict[str, dict[str, int]] = {}
        for row in self.execute("active_by_queue", {}).fetchall():
            out.setdefault(str(row[0]), {})[str(row[1])] = int(row[2])
        return out

    def finished_old(self, before: float, limit: int) -> list[int]:
        """Up to ``limit`` finished jobs that ended before ``before``, oldest id first
        (never the newest job row: ids are max(id) + 1)."""
        rows = self.execute("finished_old", {"before": before, "limit": limit}).fetchall()
        return [int(r[0]) for r in rows]

    def finished_cutoff(self, keep: int) -> int | None:
        """The id of the newest finished job beyond the newest ``keep`` of them."""
        row = self.execute("finished_cutoff", {"keep": keep}).fetchone()
        return None if row is None else int(row[0])

    def finished_upto(self, upto: int, limit: int) -> list[int]:
        rows = self.execute("finished_upto", {"upto": upto, "limit": limit}).fetchall()
        return [int(r[0]) for r in rows]

    def prune_tombstones(self, before: float) -> int:
        """Forget removed ids older than ``before`` (never the newest one)."""
        return int(self.execute("prune_tombstones", {"before": before}).rowcount)

    def oldest_ready_by_queue(self) -> dict[str, float]:
        """When each queue's longest-waiting ready job became ready (a full read of the
        ready rows: for metrics, not for pages)."""
        rows = self.execute("oldest_ready_by_queue", {}).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    def count_jobs(self, flt: JobFilter) -> int:
        """How many jobs match ``flt`` (its limit is ignored)."""
        clause, params = self._where(flt)
        sql = f"SELECT count(*) FROM jobs{clause}"
        if _archived_too(flt):
            sql = f"SELECT ({sql}) + (SELECT count(*) FROM jobs_archive{clause})"
        return int(self._execute(sql, params).fetchone()[0])

    def tombstoned(self, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` belonged to jobs that were removed."""
        if not ids:
            return set()
        cur = self.execute("tombstones", {"ids": self.list_param(list(ids))})
        return {int(r[0]) for r in cur.fetchall()}

    # -- change ------------------------------------------------------------------------------

    def update_jobs(self, updates: Sequence[Update]) -> list[int]:
        """Apply conditional updates; return the ids whose condition held."""
        done = []
        p = self.placeholder.format
        with self._atomic():
            for upd in updates:
                params: dict[str, Any] = {"id": upd.id}
                sets = []
                for key, value in upd.changes.items():
                    if key not in JOB_COLUMNS or key == "id":
                        raise KeyError(f"not a job column: {key}")
                    sets.append(f"{key} = {p('c_' + key)}")
                    params["c_" + key] = self.encode_json(value) if key in JSON_COLUMNS else value
                sql = f"UPDATE jobs SET {', '.join(sets)} WHERE id = {p('id')}"
                if upd.statuses is not None:
                    sql += " AND " + self._in_list("status", "statuses")
                    params["statuses"] = self.list_param(list(upd.statuses))
                if upd.run_id is not None:
                    sql += f" AND run_id = {p('run_id')}"
                    params["run_id"] = upd.run_id
                if upd.lease_before is not None:
                    sql += f" AND lease_expires < {p('lease_before')}"
                    params["lease_before"] = upd.lease_before
                if self._execute(sql, params).rowcount == 1:
                    done.append(upd.id)
        return done

    def complete_many(
        self, rows: Sequence[tuple[int, str | None, Any]], now: float
    ) -> list[tuple[int, bool]]:
        """Complete running jobs ``(id, run_id, result)`` still under that run, in one
        statement; return ``(id, has_dependents)`` for each one completed."""
        if not rows:
            return []
        found = self.execute("complete_many", self._complete_params(rows, now)).fetchall()
        return [(int(r[0]), bool(r[1])) for r in found]

    def _complete_params(
        self, rows: Sequence[tuple[int, str | None, Any]], now: float
    ) -> dict[str, Any]:
        results = [dumps(result) for _, _, result in rows]
        return {
            "ids": self.list_param([i for i, _, _ in rows]),
            "run_ids": self.list_param([run for _, run, _ in rows]),
            "results": self.list_param(results),
            "now": now,
        }

    def delete_jobs(
        self, ids: Sequence[int], statuses: Sequence[str], tombstone_at: float | None = None
    ) -> list[int]:
        """Delete the jobs of ``ids`` in one of ``statuses`` with their logs and
        dependencies; with ``tombstone_at``, remember their ids as removed (at that time)."""
        if not ids:
            return []
        with self._atomic():
            sql = (
                f"DELETE FROM jobs WHERE {self._in_list('id', 'ids')} AND "
                f"{self._in_list('status', 'statuses')} RETURNING id"
            )
            cur = self._execute(
                sql, {"ids": self.list_param(list(ids)), "statuses": self.list_param(statuses)}
            )
            gone = [int(r[0]) for r in cur.fetchall()]
            if gone:
                self.execute("delete_deps", {"ids": self.list_param(gone)})
                self.execute("delete_logs", {"ids": self.list_param(gone)})
                if tombstone_at is not None:
                    rows = [{"id": i, "now": tombstone_at} for i in gone]
                    self.executemany("insert_tombstone", rows)
        return gone

    # -- logs --------------------------------------------------------------------------------

    def append_logs(self, entries: Sequence[Mapping[str, Any]], announce: bool = False) -> None:
        """Add log entries ``{job_id, time, run_id, level, message, data}``; ``announce``:
        and a ``job.log`` event per job (lines a job wrote itself; the notes the lifecycle
        adds to a transition are announced by the transition's own event)."""
        rows = [
            {**e, "data": None if e.get("data") is None else self.encode_json(e["data"])}
            for e in entries
        ]
        self.executemany("insert_log", rows)
        # One job.log event per job of the batch, in the same transaction: readers of the
        # feed (SSE, observers) learn that a log grew and read the lines themselves.
        if announce:
            self.executemany("insert_log_event", _log_events(entries, self.encode_json))

    def get_log(self, job_id: int) -> list[dict[str, Any]]:
        """A job's stored log entries ``{time, run, level, message, data}``, oldest first
        (``jobyard.joblog`` adds the entries read off the job row)."""
        rows = self.execute("get_log", {"job_id": job_id}).fetchall()
        return [
            {
                "time": r[0],
                "run": r[1],
                "level": r[2],
                "message": r[3],
                "data": None if r[4] is None else self.decode_json(r[4]),
            }
            for r in rows
        ]


def _archived_too(flt: JobFilter) -> bool:
    """Whether jobs matching ``flt`` may be archived (only finished ones are)."""
    return flt.status is None or any(s in FINISHED for s in flt.status)


LEVELS = {"debug": 0, "info": 1, "warning": 2, "error": 3}
LOG_EVENT_MESSAGE = 200  # characters of the last line a job.log event carries


def _log_events(
    entries: Sequence[Mapping[str, Any]], encode: Callable[[Any], str]
) -> list[dict[str, Any]]:
    by_job: dict[int, dict[str, Any]] = {}
    for e in entries:
        job_id = int(e["job_id"])
        level = str(e.get("level") or "info")
        seen = by_job.get(job_id)
        if seen is None:
            seen = by_job[job_id] = {"lines": 0, "level": level, "time": e["time"]}
        seen["lines"] += 1
        if LEVELS.get(level, 1) > LEVELS.get(seen["level"], 1):
            seen["level"] = level
        seen["time"] = max(seen["time"], e["time"])
        seen["message"] = str(e.get("message") or "")[:LOG_EVENT_MESSAGE]
    return [
        {
            "job_id": job_id,
            "time": s["time"],
            "data": encode({"lines": s["lines"], "level": s["level"], "message": s["message"]}),
        }
        for job_id, s in by_job.items()
    ]
