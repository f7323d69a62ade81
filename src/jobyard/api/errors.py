"""One mapping of the :mod:`jobyard.errors` tree to HTTP statuses and JSON error bodies.

Every error response has the body ``{"error": {"code": ..., "message": ..., "field": ...}}``
(``field`` only when one input field is at fault). A user mistake is a 4xx with the same
one-line message the CLI prints; anything else is a 500 whose message says only that the
server failed (the traceback goes to the server's log, never to the client).
"""

from __future__ import annotations

from typing import Any

from jobyard import errors as e
from jobyard.i18n import _


class ApiError(Exception):
    """An HTTP error raised by the API layer itself (auth, parsing, routing)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def unauthorized(
    message: str = "authentication required: send Authorization: Bearer TOKEN",
) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, "bad_request", message, field)


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(422, "invalid", message, field)


def too_large(message: str) -> ApiError:
    return ApiError(413, "too_large", message)


# Most specific first: the first class an error is an instance of decides.
STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (e.RateLimited, 429, "rate_limited"),
    (e.AuthError, 401, "unauthorized"),
    (e.UnknownJobType, 422, "unknown_type"),
    (e.TypeDisabled, 409, "type_disabled"),
    (e.InvalidInput, 422, "invalid"),
    (e.NotFound, 404, "not_found"),
    (e.InvalidTransition, 409, "invalid_transition"),
    (e.LeaseLost, 409, "lease_lost"),
    (e.ConvergeError, 422, "converge"),
    (e.DatabaseError, 503, "database_unavailable"),
    (e.ConfigError, 422, "config"),
)


def from_exception(exc: BaseException) -> ApiError:
    """The ApiError for any exception (a non-jobyard one is a 500 with no detail)."""
    if isinstance(exc, ApiError):
        return exc
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            if status == 503:
                return ApiError(status, code, _("the database is unavailable; retry later"))
            if isinstance(exc, e.RateLimited):
                retry = {"Retry-After": str(exc.retry_after)}
                return ApiError(status, code, str(exc), headers=retry)
            return ApiError(status, code, str(exc), getattr(exc, "field", None))
    if isinstance(exc, e.JobyardError):
        return ApiError(400, "bad_request", str(exc))
    return ApiError(500, "internal", _("internal server error (see the server log)"))


def body(err: ApiError) -> dict[str, Any]:
    out: dict[str, Any] = {"code": err.code, "message": err.message}
    if err.field is not None:
        out["field"] = err.field
    return {"error": out}


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}
