"""The job model: statuses, transitions, priorities, retry and repeat options.

Pure code: no I/O. The state machine lives here once, for every backend.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.limits import INT32_MAX, INT32_MIN, MAX_WAIT, TS_MAX, TS_MIN, in_window

WAITING: Final = "waiting"
PAUSED: Final = "paused"
READY: Final = "ready"
RUNNING: Final = "running"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
COMPLETED: Final = "completed"

STATUSES: Final = (WAITING, PAUSED, READY, RUNNING, FAILED, CANCELLED, COMPLETED)
FINISHED: Final = frozenset({FAILED, CANCELLED, COMPLETED})

# Which statuses each management operation accepts (meteor-job's job-collection rules).
ALLOWED_FROM: Final[dict[str, tuple[str, ...]]] = {
    "cancel": (RUNNING, READY, WAITING, PAUSED),
    "pause": (READY, WAITING),
    "resume": (PAUSED,),
    "restart": (CANCELLED, FAILED),
    "rerun": (COMPLETED,),
    "remove": (CANCELLED, COMPLETED, FAILED),
}

PRIORITIES: Final[dict[str, int]] = {
    "low": 10,
    "normal": 0,
    "medium": -5,
    "high": -10,
    "critical": -15,
}

LOG_LEVELS: Final = ("info", "success", "warning", "danger", "debug", "error")

FOREVER: Final = -1  # retries / repeats that never run out

Backoff = Literal["constant", "exponential"]


def parse_priority(value: int | str) -> int:
    """A priority name or integer → int (lower runs first)."""
    if isinstance(value, bool):
        raise InvalidInput(_("invalid priority {value!r}", value=value))
    number: int | None = value if isinstance(value, int) else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in PRIORITIES:
            return PRIORITIES[text]
        try:
            number = int(text)
        except ValueError:
            pass
    if number is not None:
        if INT32_MIN <= number <= INT32_MAX:
            return number
        raise InvalidInput(
            _(
                "invalid priority {value!r}: give a whole number from {INT32_MIN} to {INT32_MAX}",
                value=value,
                INT32_MIN=INT32_MIN,
                INT32_MAX=INT32_MAX,
            )
        )
    names = ", ".join(PRIORITIES)
    raise InvalidInput(
        _("invalid priority {value!r}: use one of {names} or an integer", value=value, names=names)
    )


def priority_name(value: int) -> str:
    for name, number in PRIORITIES.items():
        if number == value:
            return name
    return str(value)


def _count(value: object, what: str) -> int:
    """A retry/repeat count: a whole number >= 0, or forever (``"forever"``, ``math.inf``;
    stored as ``-1``). A string counts only when it is "forever" or decimal digits ("3"):
    "inf", "1e3", "3.0", "-1" are refused, so the CLI and the Python API accept the same
    texts."""
    wrong = _(
        "invalid {what} {value!r}: use a whole number >= 0 or 'forever'", what=what, value=value
    )
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "forever":
            return FOREVER
        if re.fullmatch(r"[0-9]{1,12}", text) is None:
            raise InvalidInput(wrong)
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(wrong)
    if value == math.inf:
        return FOREVER
    if not math.isfinite(value) or value < 0 or value != int(value) or value > INT32_MAX:
        raise InvalidInput(wrong)
    return int(value)


def _seconds(value: object, what: str) -> float:
    """A wait: a finite number of seconds from 0 to ``MAX_WAIT`` (ten years)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= MAX_WAIT
    ):
        raise InvalidInput(
            _(
                "invalid {what} {value!r}: give a number of seconds from 0 to {MAX_WAIT:.0f}",
                what=what,
                value=value,
                MAX_WAIT=MAX_WAIT,
            )
        )
    return float(value)


def to_timestamp(value: object, what: str) -> float:
    """A datetime, ISO 8601 string or epoch number → epoch seconds (UTC)."""
    if isinstance(value, bool):
        raise InvalidInput(_("invalid {what} {value!r}", what=what, value=value))
    if isinstance(value, int | float):
        if not math.isfinite(value) or not in_window(float(value)):
            raise InvalidInput(
                _(
                    "invalid {what} {value!r}: give a time between 1970 and 9999",
                    what=what,
                    value=value,
                )
            )
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            raise InvalidInput(
                _(
                    "invalid {what} {value!r}: use ISO 8601, e.g. 2026-01-31T12:00:00+00:00",
                    what=what,
                    value=value,
                )
            ) from None
    if isinstance(value, datetime):
        try:
            if value.tzinfo is None:
                value = value.astimezone()  # naive = local time, like the rest of the shell world
            ts = float(value.timestamp())
        except (OverflowError, OSError, ValueError):
            ts = math.nan
        if not in_window(ts):  # False for nan too
            raise InvalidInput(
                _(
                    "invalid {what} {value!r}: give a time between 1970 and 9999",
                    what=what,
                    value=value,
                )
            )
        return ts
    raise InvalidInput(
        _("invalid {what} {value!r}: use a datetime or ISO 8601 string", what=what, value=value)
    )


def iso(ts: float | None) -> str | None:
    if ts is None or not math.isfinite(ts):
        return None  # a row written before values were checked must not break a listing
    ts = min(max(ts, TS_MIN), TS_MAX)
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Retry:
    """Retry policy: ``retries`` after the first attempt (so retries+1 attempts)."""

    retries: int | str | float = 0
    wait: float = 5.0
    backoff: Backoff = "constant"
    until: float | str | datetime | None = None

    def normalized(self) -> Retry:
        retries = _count(self.retries, "retries")
        wait = _seconds(self.wait, "retry wait")
        if self.backoff not in ("constant", "exponential"):
            raise InvalidInput(
                _(
                    "invalid retry backoff {backoff!r}: use 'constant' or 'exponential'",
                    backoff=self.backoff,
                )
            )
        until = None if self.until is None else to_timestamp(self.until, "retry until")
        return Retry(retries, wait, self.backoff, until)

    @classmethod
    def coerce(cls, value: Retry | int | str | dict[str, Any] | None) -> Retry:
        if value is None:
            return cls()
        if isinstance(value, Retry):
            return value.normalized()
        if isinstance(value, dict):
            unknown = set(value) - {"retries", "wait", "backoff", "until"}
            if unknown:
                raise InvalidInput(
                    _(
                        "unknown retry option(s) {map}: use retries, wait, backoff, until",
                        map=", ".join(sorted(map(repr, unknown))),
                    )
                )
            return cls(**value).normalized()
        return cls(retries=value).normalized()


def retry_delay(wait: float, backoff: str, failed_attempts: int) -> float:
    """Seconds until the next try after ``failed_attempts`` failures (>= 1): finite,
    never decreasing with more failures, at most ``MAX_WAIT``.

    The cap matters for retry-forever jobs: ``wait * 2**n`` overflows a float (and the
    int ``2**n`` cannot even be converted) after about a thousand failures. A stored wait
    that is not a number >= 0 (rows written before waits were checked) counts as 0."""
    if not wait > 0:  # also NaN
        return 0.0
    if backoff == "exponential":
        # 2.0**1000 is finite; wait * it may be inf, which min() caps.
        return min(wait * 2.0 ** min(max(failed_attempts - 1, 0), 1000), MAX_WAIT)
    return min(float(wait), MAX_WAIT)


@dataclass(frozen=True)
class Repeat:
    """Repeat policy: run ``repeats`` more times after the first, every ``wait`` s or on a cron."""

    repeats: int | str | float = "forever"
    wait: float | None = None
    schedule: str | None = None
    until: float | str | datetime | None = None
    timezone: str | None = None

    def normalized(self) -> Repeat:
        repeats = _count(self.repeats, "repeats")
        if self.wait is not None and self.schedule is not None:
            raise InvalidInput(_("a repeat takes either wait or schedule, not both"))
        wait = None if self.wait is None else _seconds(self.wait, "repeat wait")
        if self.schedule is not None:
            from jobyard.cron import validate_cron

            validate_cron(self.schedule, self.timezone)
        if wait is None and self.schedule is None:
            wait = 0.0
        until = None if self.until is None else to_timestamp(self.until, "repeat until")
        return Repeat(repeats, wait, self.schedule, until, self.timezone)

    @classmethod
    def coerce(cls, value: Repeat | int | str | dict[str, Any] | None) -> Repeat | None:
        if value is None:
            return None
        if isinstance(value, Repeat):
            return value.normalized()
        if isinstance(value, dict):
            unknown = set(value) - {"repeats", "wait", "schedule", "until", "timezone"}
            if unknown:
                raise InvalidInput(
                    _(
                        "unknown repeat option(s) {map}: use repeats, wait, schedule, until, "
                        "timezone",
                        map=", ".join(sorted(map(repr, unknown))),
                    )
                )
            return cls(**value).normalized()
        return cls(repeats=value).normalized()


def now() -> float:
    return time.time()


@dataclass
class Job:
    """A job as read from the store; field names follow CONTRACT.md."""

    id: int
    type: str
    queue: str = "default"
    status: str = READY
    priority: int = 0
    data: Any = None
    props: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    progress_completed: float = 0
    progress_total: float = 100
    attempts: int = 0
    retries: int = 0
    retry_limit: int = 0
    retry_wait: float = 5.0
    retry_backoff: str = "constant"
    retry_until: float | None = None
    repeats: int = 0
    repeated: int = 0
    repeat_wait: float | None = None
    repeat_schedule: str | None = None
    repeat_timezone: str | None = None
    repeat_until: float | None = None
    after: float = 0.0
    depends: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    pending: int = 0
    has_dependents: bool = False
    jobset: int | None = None
    site: str | None = None
    worker: str | None = None
    run_id: str | None = None
    lease_expires: float | None = None
    timeout: float | None = None
    interruptions: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    created: float = 0.0
    updated: float = 0.0
    started: float | None = None
    finished: float | None = None

    @property
    def percent(self) -> float:
        if self.status == COMPLETED:
            return 100.0  # whatever the handler reported, e.g. progress(5, 0)
        if not self.progress_total:
            return 100.0 if self.progress_completed > 0 else 0.0
        share = 100.0 * self.progress_completed / self.progress_total
        return round(min(max(share, 0.0), 100.0), 2)

    @property
    def error(self) -> str | None:
        return self.failures[-1]["error"] if self.failures else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of CONTRACT.md (times as ISO 8601 strings)."""
        return {
            "id": self.id,
            "type": self.type,
            "queue": self.queue,
            "status": self.status,
            "priority": self.priority,
            "data": self.data,
            "props": self.props,
            "result": self.result,
            "progress": {
                "completed": self.progress_completed,
                "total": self.progress_total,
                "percent": self.percent,
            },
            "failures": [
                {**f, "time": iso(f.get("time"))} if isinstance(f.get("time"), float) else f
                for f in self.failures
            ],
            "attempts": self.attempts,
            "retries": self.retries,
            "retry_wait": self.retry_wait,
            "retry_backoff": self.retry_backoff,
            "retry_until": iso(self.retry_until),
            "repeats": self.repeats,
            "repeated": self.repeated,
            "repeat_wait": self.repeat_wait,
            "repeat_schedule": self.repeat_schedule,
            "repeat_until": iso(self.repeat_until),
            "after": iso(self.after),
            "depends": self.depends,
            "resolved": self.resolved,
            "jobset": self.jobset,
            "site": self.site,
            "worker": self.worker,
            "timeout": self.timeout,
            "created": iso(self.created),
            "updated": iso(self.updated),
            "started": iso(self.started),
            "finished": iso(self.finished),
        }


def check_transition(job: Job, operation: str) -> None:
    from jobyard.errors import InvalidTransition

    allowed = ALLOWED_FROM[operation]
    if job.status not in allowed:
        raise InvalidTransition(job.id, operation, job.status, allowed)


def worker_alive(heartbeat: float, lease: float, now: float) -> bool:
    """A worker is alive while its last heartbeat is younger than its lease: the time
    after which its jobs are rescued."""
    return now - heartbeat <= lease
