"""Shared part of the jobyard adapters (SQLite and PostgreSQL differ only in the database)."""

from __future__ import annotations

import sys
from abc import abstractmethod
from typing import Any

from common import BENCH_DIR, Adapter, Payload, SkipSystem, WorkerSpec, ensure_import_paths

REQUIRED_API = ("job", "enqueue", "enqueue_many", "run_worker")


class JobyardAdapter(Adapter):
    is_jobyard = True
    single_method = 'yard.enqueue("noop", data)'
    bulk_method = 'yard.enqueue_many("noop", payloads)'
    worker_method = "<procs> x `python bench/jobyard_worker.py -c <threads>` (yard.run_worker)"

    @property
    @abstractmethod
    def url(self) -> str:
        """Database URL for ``Yard``."""

    @abstractmethod
    def wipe_database(self) -> None:
        """Remove the database entirely (no Yard may be open on it)."""

    def setup(self) -> None:
        ensure_import_paths()
        try:
            import jobyard
        except ImportError as exc:
            raise SkipSystem(f"jobyard not importable: {exc}") from exc
        yard_cls = getattr(jobyard, "Yard", None)
        if yard_cls is None:
            raise SkipSystem("jobyard.Yard does not exist yet (API not landed)")
        missing = [name for name in REQUIRED_API if not hasattr(yard_cls, name)]
        if missing:
            raise SkipSystem(f"jobyard.Yard lacks {', '.join(missing)} (API not landed)")
        self.yard: Any = None
        self._open()

    def _open(self) -> None:
        from tasks_jobyard import build_yard

        self.wipe_database()
        try:
            self.yard = build_yard(self.url)
            # Yard may migrate lazily; migrating here keeps schema creation out of the timings.
            migrate = getattr(self.yard, "migrate", None)
            if callable(migrate):
                migrate()
        except Exception as exc:
            raise SkipSystem(f"cannot open Yard({self.url!r}): {exc!r}") from exc

    def _close(self) -> None:
        close = getattr(self.yard, "close", None)
        if callable(close):
            close()
        self.yard = None

    def reset(self) -> None:
        # A fresh database each time: simplest way to be sure nothing is left behind.
        self._close()
        self._open()

    def enqueue_one(self, data: Payload) -> None:
        self.yard.enqueue("noop", data)

    def enqueue_bulk(self, items: list[Payload]) -> None:
        self.yard.enqueue_many("noop", items)

    def enqueue_latency(self, sid: int) -> None:
        self.yard.enqueue("lat", {"sid": sid})

    def worker_specs(self) -> list[WorkerSpec]:
        return [
            WorkerSpec(
                [
                    sys.executable,
                    str(BENCH_DIR / "jobyard_worker.py"),
                    "--db",
                    self.url,
                    "--name",
                    f"bench-{self.name}-{n}",
                    "-c",
                    str(self.cfg.concurrency),
                ],
                self.worker_env(),
                f"{self.name}-{n}",
            )
            for n in range(self.cfg.workers)
        ]

    def pending_count(self) -> int | None:
        count = getattr(self.yard, "count", None)
        if not callable(count):
            return None
        try:
            return int(count(status="ready"))  # jobyard.model.READY
        except Exception:
            return None

    def describe_state(self) -> dict[str, int] | None:
        try:
            from jobyard.model import STATUSES

            return {status: int(self.yard.count(status=status)) for status in STATUSES}
        except Exception:
            return None

    def teardown(self) -> None:
        self._close()
