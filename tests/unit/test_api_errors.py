"""One mapping of the error tree to HTTP statuses."""

from __future__ import annotations

import pytest

from jobyard import errors as e
from jobyard.api.errors import body, from_exception


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (e.InvalidInput("bad"), 422),
        (e.UnknownJobType("x", ["a"]), 422),
        (e.TypeDisabled("x"), 409),
        (e.NotFound("no job 5"), 404),
        (e.InvalidTransition(1, "pause", "completed", ["ready"]), 409),
        (e.LeaseLost("gone"), 409),
        (e.DatabaseError("pg down at secret-host"), 503),
        (RuntimeError("boom with a secret"), 500),
    ],
)
def test_status_of_each_error(exc: Exception, status: int) -> None:
    err = from_exception(exc)
    assert err.status == status
    assert set(body(err)["error"]) >= {"code", "message"}


def test_server_faults_say_nothing_of_their_cause() -> None:
    for exc in (RuntimeError("boom with a secret"), e.DatabaseError("pg at secret-host")):
        assert "secret" not in from_exception(exc).message
