"""jobyard: a durable job system — queue, schedules, scripts, SSH batches, converge graphs.

The public face; everything else is reached through these names.
"""

from __future__ import annotations

from jobyard.context import JobContext
from jobyard.errors import (
    ConfigError,
    DatabaseError,
    Fatal,
    InvalidInput,
    InvalidTransition,
    JobFailed,
    JobyardError,
    LeaseLost,
    NotFound,
    SemaphoreTimeout,
    UnknownJobType,
    WaitTimeout,
)
from jobyard.handle import JobHandle
from jobyard.model import PRIORITIES, STATUSES, Job, Repeat, Retry
from jobyard.types import JobType
from jobyard.yard import Yard

__version__ = "0.1.0"

__all__ = [
    "PRIORITIES",
    "STATUSES",
    "ConfigError",
    "DatabaseError",
    "Fatal",
    "InvalidInput",
    "InvalidTransition",
    "Job",
    "JobContext",
    "JobFailed",
    "JobHandle",
    "JobType",
    "JobyardError",
    "LeaseLost",
    "NotFound",
    "Repeat",
    "Retry",
    "SemaphoreTimeout",
    "UnknownJobType",
    "WaitTimeout",
    "Yard",
    "__version__",
]
