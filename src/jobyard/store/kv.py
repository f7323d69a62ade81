"""Small tables beside the jobs: schedule ticks, jobsets and their key/value storage.

Values and jobset meta arrive as the JSON text the caller's size-checking encoder
produced (``limits.encode_json``) and come back decoded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jobyard.store.core import StoreCore

MISSING: Any = object()  # what jobset_get_value returns for a key that is not there


@dataclass
class JobsetRow:
    id: int
    kind: str
    name: str
    meta: dict[str, Any]
    created: float


class KVMixin(StoreCore):
    # -- schedule ticks ----------------------------------------------------------------------

    def insert_schedule_tick(self, type_name: str, tick: int, now: float) -> bool:
        """Record a tick of a type's schedule; False if it was recorded already."""
        params = {"type": type_name, "tick": tick, "now": now}
        return self.execute("insert_schedule_tick", params).rowcount == 1

    def set_schedule_tick_job(self, type_name: str, tick: int, job_id: int) -> None:
        params = {"type": type_name, "tick": tick, "job_id": job_id}
        self.execute("set_schedule_tick_job", params)

    def last_schedule_tick(self, type_name: str) -> float | None:
        """The latest tick recorded for a type, or None if it never fired."""
        row = self.execute("last_schedule_tick", {"type": type_name}).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def prune_schedule_ticks(self, before: int) -> None:
        """Forget ticks older than ``before``, but never a type's latest."""
        self.execute("prune_schedule_ticks", {"before": before})

    # -- jobsets -----------------------------------------------------------------------------

    def insert_jobset(self, kind: str, name: str, meta_json: str, now: float) -> int:
        params = {"kind": kind, "name": name, "meta": meta_json, "now": now}
        return int(self.execute("jobset_insert", params).fetchone()[0])

    def get_jobset(self, jobset: int) -> JobsetRow | None:
        row = self.execute("jobset_get", {"id": jobset}).fetchone()
        return None if row is None else self._jobset_row(row)

    def recent_jobsets(self, kind: str, limit: int, before: int | None = None) -> list[JobsetRow]:
        """The ``limit`` newest jobsets of a kind (older than id ``before``), newest first."""
        params = {"kind": kind, "limit": limit, "before": before}
        return [self._jobset_row(r) for r in self.execute("jobsets_recent", params).fetchall()]

    def _jobset_row(self, row: Any) -> JobsetRow:
        return JobsetRow(
            int(row["id"]),
            str(row["kind"]),
            str(row["name"]),
            self.decode_json(row["meta"]) or {},
            float(row["created"]),
        )

    def latest_jobset(self, kind: str, name: str) -> int | None:
        """The id of the newest jobset of that kind and name (a batch run again)."""
        row = self.execute("jobset_latest", {"kind": kind, "name": name}).fetchone()
        return None if row is None else int(row[0])

    def jobset_get_value(self, jobset: int, key: str) -> Any:
        """A stored value, or ``MISSING``."""
        row = self.execute("jobset_kv_get", {"jobset": jobset, "key": key}).fetchone()
        return MISSING if row is None else self.decode_json(row[0])

    def jobset_values(self, jobset: int) -> dict[str, Any]:
        """Every key and value, read in one statement (keys sorted)."""
        rows = self.execute("jobset_kv_all", {"jobset": jobset}).fetchall()
        decode = self.decode_json
        return {str(r[0]): decode(r[1]) for r in sorted(rows, key=lambda r: str(r[0]))}

    def jobset_count(self, jobset: int) -> int:
        return int(self.execute("jobset_kv_count", {"jobset": jobset}).fetchone()[0])

    def jobset_put(self, jobset: int, values: Mapping[str, str], now: float) -> None:
        """Upsert keys (values as JSON text), in one transaction."""
        rows = [
            {"jobset": jobset, "key": key, "value": value, "now": now}
            for key, value in values.items()
        ]
        self.executemany("jobset_kv_put", rows)

    def jobset_delete(self, jobset: int, keys: Iterable[str]) -> int:
        """Remove keys (missing ones are ignored); returns how many were there."""
        rows = [{"jobset": jobset, "key": key} for key in keys]
        if len(rows) == 1:
            return self.execute("jobset_kv_delete", rows[0]).rowcount
        return self.executemany("jobset_kv_delete", rows) if rows else 0
