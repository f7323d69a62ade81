"""``/api/v1/work/{id}/semaphore``: semaphores held around a single call of a remote
worker's handler (``with job.semaphore("db"):``, jobyard.hold), through the same verbs
of :class:`~jobyard.worker.local.LocalPort` as a local worker. Object level: asking is
only for a run the caller holds (its id and run, as claimed; anything else is 409);
releasing a run's holds too, or, once that run ended, drops them (they count for nothing
already; dropping them only wakes whoever waited)."""

from __future__ import annotations

from typing import Any

from jobyard.api import errors as api_errors
from jobyard.api.auth import WORK
from jobyard.api.endpoint import Call, Endpoints
from jobyard.api.work import ID, _as, _claimed, _port
from jobyard.i18n import _
from jobyard.model import RUNNING

ENDPOINTS = Endpoints("work")
STR: dict[str, Any] = {"type": "string"}
ASK: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["run", "token", "need"],
    "properties": {
        "run": STR,
        "token": {**STR, "description": "the hold's id, chosen by the worker (8-64 chars)"},
        "need": {**STR, "description": "NAME, NAME:read or NAME:write"},
        "retry": {"type": "boolean"},
    },
}
RELEASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["run", "tokens"],
    "properties": {
        "run": STR,
        "tokens": {"type": "array", "items": STR},
        "retry": {"type": "boolean"},
    },
}
MAX_TOKENS = 100


def _token(value: Any) -> str:
    ok = isinstance(value, str) and 8 <= len(value) <= 64
    if not ok or not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in value):
        raise api_errors.invalid(_("token must be 8 to 64 letters, digits, '_' or '-'"), "token")
    return str(value)


@ENDPOINTS.post(
    "/api/v1/work/{id}/semaphore",
    roles=WORK,
    body=ASK,
    response={"type": "object"},
    params=ID,
    errors=(409,),
)
def semaphore(call: Call) -> Any:
    """Ask for a semaphore slot held around a call by a running job (``need``), as hold
    ``token``: ``granted`` true, or false while it waits (ask again with the same token)."""
    b = call.body
    ref = (call.path_int("id"), str(b["run"]))
    job = _claimed(call, [ref]).get(ref[0])
    if job is None:
        raise api_errors.ApiError(
            409, "lease_lost", _("job {ref} is not running as run {ref2}", ref=ref[0], ref2=ref[1])
        )
    granted = _port(call).semaphore(job.id, job.run_id, _token(b["token"]), str(b["need"]))
    return {"granted": granted}


@ENDPOINTS.post(
    "/api/v1/work/{id}/semaphore/release",
    roles=WORK,
    body=RELEASE,
    response={"type": "object"},
    params=ID,
)
def semaphore_release(call: Call) -> Any:
    """Give up call holds (``tokens``) of a run: granted or still waiting."""
    b = call.body
    job_id, run = call.path_int("id"), str(b["run"])
    tokens = b["tokens"]
    if len(tokens) > MAX_TOKENS:
        raise api_errors.invalid(_("at most {n} tokens at once", n=MAX_TOKENS), "tokens")
    found = call.state.yard.store.get_jobs([job_id])
    if found and found[0].status == RUNNING and found[0].run_id == run:
        _as(call, found[0].worker)  # live holds: only their own worker gives them up
    _port(call).semaphore_release(job_id, run, [_token(t) for t in tokens])
    return {"ok": True}
