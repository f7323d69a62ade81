"""What a running handler sees as ``job``: its data, log, progress, emit and shared."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobyard import model
from jobyard.errors import InvalidInput, LeaseLost
from jobyard.jobsets import JobsetStorage
from jobyard.lifecycle import log_entry
from jobyard.limits import clean_text, encode_json
from jobyard.model import Job

if TYPE_CHECKING:
    from jobyard.yard import Yard


class JobContext:
    """The running job. Every call counts only while the run is still this worker's."""

    def __init__(self, yard: Yard, job: Job, lease: float) -> None:
        self.yard = yard
        self.job = job
        self._lease = lease
        self.cancelled = False  # set by the worker when the job was cancelled meanwhile
        self.traceback: str | None = None

    @property
    def id(self) -> int:
        return self.job.id

    @property
    def data(self) -> Any:
        return self.job.data

    @property
    def attempt(self) -> int:
        return self.job.attempts

    @property
    def type(self) -> str:
        return self.job.type

    @property
    def run_id(self) -> str | None:
        return self.job.run_id

    def __repr__(self) -> str:
        return f"<job {self.job.id} {self.job.type} attempt {self.job.attempts}>"

    @property
    def shared(self) -> JobsetStorage:
        """The storage of this job's jobset: a mapping of JSON values that every job of the
        set reads and writes, on any worker (each write is stored at once; last write wins)."""
        if self.job.jobset is None:
            raise InvalidInput(
                f"job {self.job.id} ({self.job.type}) belongs to no jobset, so it has no "
                "shared storage: enqueue it with jobset=yard.create_jobset(kind, name)"
            )
        return JobsetStorage(self.yard.store, self.job.jobset, self.yard.config.max_data_bytes)

    def log(self, message: str, level: str = "info", data: Any = None) -> None:
        """Add a log entry. The message is never refused, which would crash the job over a
        diagnostic: NULs and lone surrogates are escaped and a message over ``[limits]
        max_log_bytes`` is cut with a marker. ``data`` (JSON) is refused past that limit."""
        if level not in model.LOG_LEVELS:
            raise InvalidInput(
                f"invalid log level {level!r}: use one of {', '.join(model.LOG_LEVELS)}"
            )
        limit = self.yard.config.max_log_bytes
        text = clean_text(str(message), limit)
        if data is not None:
            encode_json(data, "log data", limit, "max_log_bytes")
        store = self.yard.store
        now = time.time()
        with store.transaction():
            cur = store.execute(
                "touch_running",
                {
                    "id": self.job.id,
                    "run_id": self.job.run_id,
                    "now": now,
                    "lease_expires": now + self._lease,
                },
            )
            if cur.rowcount != 1:
                raise LeaseLost(f"job {self.job.id} is no longer running under this run")
            store.append_logs([log_entry(self.job.id, now, text, level, self.job.run_id, data)])

    def emit(self, event: str, data: Any = None) -> Any:
        """Emit an event from this job; listeners get jobs (loops are bounded)."""
        from jobyard.events import emit

        depth = int(self.job.props.get("depth", 0)) if isinstance(self.job.props, dict) else 0
        return emit(self.yard, event, data, source_job=self.job.id, depth=depth)

    def progress(self, completed: float, total: float = 100) -> None:
        if not isinstance(completed, int | float) or not isinstance(total, int | float):
            raise InvalidInput("progress takes numbers: progress(completed, total)")
        if total < 0 or completed < 0:
            raise InvalidInput("progress values must be >= 0")
        now = time.time()
        cur = self.yard.store.execute(
            "set_progress",
            {
                "id": self.job.id,
                "run_id": self.job.run_id,
                "completed": completed,
                "total": total,
                "now": now,
                "lease_expires": now + self._lease,
            },
        )
        if cur.rowcount != 1:
            raise LeaseLost(f"job {self.job.id} is no longer running under this run")
        self.job.progress_completed, self.job.progress_total = completed, total
