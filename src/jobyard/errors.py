"""The one exception tree of jobyard.

Every error jobyard raises on purpose derives from :class:`JobyardError`::

    JobyardError
    ├── ConfigError            bad configuration file, option or database URL
    │   └── DatabaseError      a database that cannot be opened or used
    ├── InvalidInput           a value given by the user is wrong (also a ValueError)
    │   ├── UnknownJobType     no handler and no stored type of that name
    │   └── TypeDisabled       the type exists but is disabled
    ├── NotFound               no job (or other object) with that id
    ├── InvalidTransition      an operation not allowed in the job's current status
    ├── LeaseLost              a worker call for a run that is no longer its own
    ├── JobFailed              raised by ``handle.wait(raise_on_failure=True)``
    ├── WaitTimeout            ``handle.wait(timeout=...)`` ran out
    ├── SemaphoreTimeout       ``job.semaphore(name, timeout=...)`` found no free slot in time
    ├── ConvergeError          converge graphs (cycles, bad DEPS, ...)
    ├── AuthError              bad credentials, expired token or session, used setup link
    │   └── RateLimited        too many failed logins: wait ``retry_after`` seconds
    └── Fatal                  raised by a handler: fail now, no retries

The CLI turns any ``JobyardError`` into one line on stderr and exit code 2 (1 for a
failed job); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable

from jobyard.i18n import _


class JobyardError(Exception):
    """Root of every error jobyard raises on purpose."""


class ConfigError(JobyardError):
    """Configuration (file, option, URL) is wrong."""


class DatabaseError(ConfigError):
    """The database cannot be opened or used."""


class InvalidInput(JobyardError, ValueError):
    """A value given by the user is invalid; nothing was written."""


class UnknownJobType(InvalidInput):
    """Neither this process nor the store knows the job type."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(set(known))
        listed = ", ".join(self.known) if self.known else _("none registered yet")
        super().__init__(
            _("unknown job type {name!r}; known types: {listed}", name=name, listed=listed)
        )


class TypeDisabled(InvalidInput):
    """The job type exists but is disabled."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            _(
                "job type {name!r} is disabled; enable it with `jobyard type enable {name}`",
                name=name,
            )
        )


class NotFound(JobyardError, LookupError):
    """No object with that id."""


class InvalidTransition(JobyardError):
    """The operation is not allowed in the job's current status."""

    def __init__(self, job_id: int, operation: str, status: str, allowed: Iterable[str]) -> None:
        self.job_id = job_id
        self.operation = operation
        self.status = status
        self.allowed = tuple(allowed)
        super().__init__(
            _(
                "cannot {operation} job {job_id}: it is {status}; "
                "{operation} is allowed only when {allowed}",
                operation=operation,
                job_id=job_id,
                status=status,
                allowed=_(" or ").join(self.allowed),
            )
        )


class LeaseLost(JobyardError):
    """The job is no longer running under this worker's run (its lease expired or it ended)."""


class JobFailed(JobyardError):
    """A waited-for job ended failed or cancelled."""

    def __init__(self, job_id: int, status: str, error: str | None) -> None:
        self.job_id = job_id
        self.status = status
        self.error = error
        if error:
            super().__init__(
                _("job {job_id} {status}: {error}", job_id=job_id, status=status, error=error)
            )
        else:
            super().__init__(_("job {job_id} {status}", job_id=job_id, status=status))


class WaitTimeout(JobyardError, TimeoutError):
    """Waiting for a job took longer than the timeout."""


class SemaphoreTimeout(JobyardError, TimeoutError):
    """A handler waited ``timeout`` seconds for a semaphore slot (``job.semaphore``) and
    gave up; raised into the handler, so the job fails with this message unless it
    catches it."""

    def __init__(self, name: str, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        super().__init__(
            _(
                "no free slot of semaphore {name!r} within {timeout:g} s",
                name=name,
                timeout=timeout,
            )
        )


class ConvergeError(JobyardError):
    """A converge graph is malformed."""


class AuthError(JobyardError):
    """Credentials were refused (the message never says which part was wrong)."""


class RateLimited(AuthError):
    """Too many failed logins for this user or address."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            _("too many failed logins; try again in {retry_after} s", retry_after=retry_after)
        )


class Fatal(JobyardError):
    """Raise from a handler to fail the job for good, skipping any retries left."""
