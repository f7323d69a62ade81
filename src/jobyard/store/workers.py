"""The workers registry and the job types table, as the store keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobyard.store.core import StoreCore


@dataclass
class WorkerRow:
    """A registered worker as its last heartbeat left it."""

    name: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started: float
    heartbeat: float
    running: list[int]  # what the heartbeat reported; see running_by_worker for the truth
    status: str
    lease: float | None


@dataclass
class StoredType:
    """A job type as the store records it (any kind: python, script, ...)."""

    name: str
    kind: str
    enabled: bool
    meta: dict[str, Any]


class WorkersMixin(StoreCore):
    # -- workers -----------------------------------------------------------------------------

    def upsert_worker(
        self,
        name: str,
        host: str,
        pid: int,
        queues: Sequence[str],
        concurrency: int,
        now: float,
        lease: float,
    ) -> None:
        """Record a worker starting (or starting again under its name)."""
        params = {
            "name": name,
            "host": host,
            "pid": pid,
            "queues": self.encode_json(list(queues)),
            "concurrency": concurrency,
            "started": now,
            "heartbeat": now,
            "running": self.empty_list,
            "status": "running",
        }
        with self._atomic():
            self.execute("upsert_worker", params)
            self.set_worker_lease(name, lease)

    def set_worker_lease(self, name: str, lease: float) -> None:
        self.execute("set_worker_lease", {"name": name, "lease": lease})

    def heartbeat_worker(self, name: str, now: float, status: str, running: Sequence[int]) -> None:
        params = {
            "name": name,
            "heartbeat": now,
            "status": status,
            "running": self.encode_json(sorted(running)),
        }
        self.execute("heartbeat_worker", params)

    def delete_worker(self, name: str) -> None:
        self.execute("delete_worker", {"name": name})

    def list_workers(self) -> list[WorkerRow]:
        """Every registered worker, by name."""
        decode = self.decode_json
        return [
            WorkerRow(
                name=str(r["name"]),
                host=str(r["host"]),
                pid=int(r["pid"]),
                queues=decode(r["queues"]),
                concurrency=int(r["concurrency"]),
                started=float(r["started"]),
                heartbeat=float(r["heartbeat"]),
                running=decode(r["running"]),
                status=str(r["status"]),
                lease=None if r["lease"] is None else float(r["lease"]),
            )
            for r in self.execute("list_workers").fetchall()
        ]

    def running_by_worker(self, names: Sequence[str]) -> dict[str, list[int]]:
        """The ids of the jobs running under each of these workers now (by id)."""
        running: dict[str, list[int]] = {name: [] for name in names}
        if names:
            found = self.execute("running_by_worker", {"names": self.list_param(list(names))})
            for worker, job_id in found.fetchall():
                running.setdefault(str(worker), []).append(int(job_id))
        return running

    # -- job types ---------------------------------------------------------------------------

    def list_types(self) -> list[StoredType]:
        """Every stored job type, by name."""
        return [
            StoredType(
                str(r["name"]),
                str(r["kind"]),
                bool(r["enabled"]),
                self.decode_json(r["meta"]) or {},
            )
            for r in self.execute("list_types").fetchall()
        ]

    def upsert_types(self, types: Sequence[StoredType], now: float) -> None:
        """Insert or update types: kind and meta change, ``enabled`` counts only for a new
        row (an operator's enable/disable survives a worker recording its types)."""
        rows = [
            {
                "name": t.name,
                "kind": t.kind,
                "enabled": int(t.enabled),
                "now": now,
                "meta": self.encode_json(t.meta),
            }
            for t in types
        ]
        self.executemany("upsert_type", rows)

    def set_type_enabled(self, name: str, enabled: bool, now: float) -> bool:
        """Enable or disable a stored type; False if there is none of that name."""
        params = {"name": name, "enabled": int(enabled), "now": now}
        return self.execute("set_type_enabled", params).rowcount == 1

    def delete_type(self, name: str) -> bool:
        """Forget a stored type; False if there was none."""
        return self.execute("delete_type", {"name": name}).rowcount == 1
