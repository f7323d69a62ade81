"""Calling a handler for one job (or a batch) and turning the outcome into a verdict."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobyard.context import JobContext
from jobyard.errors import Fatal, InvalidInput
from jobyard.limits import MAX_RESULT_BYTES, clean_text, encode_json

MAX_ERROR_BYTES = 64 * 1024


@dataclass
class Outcome:
    ok: bool
    result: Any = None
    error: str = ""
    fatal: bool = False

    def __post_init__(self) -> None:
        # A handler's error text is its own: NULs, lone surrogates or megabytes of it must
        # still be recordable (PostgreSQL text holds no NUL), so the job fails with it.
        if self.error:
            self.error = clean_text(self.error, MAX_ERROR_BYTES)


def call_args(data: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A dict of data becomes keyword arguments; None nothing; anything else one argument."""
    if isinstance(data, dict) and all(isinstance(k, str) and k.isidentifier() for k in data):
        return (), data
    if data is None:
        return (), {}
    return (data,), {}


def describe(exc: BaseException) -> str:
    if getattr(exc, "plain", False) and str(exc):
        return str(exc)  # an error whose message says it all (a script's exit status)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text


def checked_result(value: Any, limit: int = MAX_RESULT_BYTES) -> Outcome:
    """A result the store can hold (jobyard.limits rules, ``[limits] max_result_bytes``),
    or a fatal failure saying why: retrying would produce the same result."""
    try:
        encode_json(value, "result", limit, "max_result_bytes")
    except InvalidInput as exc:
        return Outcome(False, error=str(exc), fatal=True)
    return Outcome(True, value)


def failed(exc: BaseException) -> Outcome:
    if isinstance(exc, Fatal):
        return Outcome(False, error=str(exc) or "fatal", fatal=True)
    return Outcome(False, error=describe(exc), fatal=False)


# BaseException, not Exception: SystemExit (argparse on bad input), KeyboardInterrupt or
# GeneratorExit raised by a handler are that job's failure. Escaping, they would kill the
# handler thread (or the event loop) and wedge the worker with its jobs left running.


def run_sync(func: Callable[..., Any], ctx: JobContext) -> Outcome:
    if ctx.cancelled:  # given up while it waited for a thread: do not start it now
        return Outcome(False, error="cancelled")
    args, kwargs = call_args(ctx.data)
    try:
        return checked_result(func(ctx, *args, **kwargs), ctx.yard.config.max_result_bytes)
    except BaseException as exc:
        ctx.traceback = traceback.format_exc()
        return failed(exc)


async def run_async(func: Callable[..., Any], ctx: JobContext) -> Outcome:
    args, kwargs = call_args(ctx.data)
    try:
        return checked_result(await func(ctx, *args, **kwargs), ctx.yard.config.max_result_bytes)
    except asyncio.CancelledError:
        raise  # the worker's own cancellation (timeout, cancel, shutdown): it handles it
    except BaseException as exc:
        ctx.traceback = traceback.format_exc()
        return failed(exc)


def run_batch(func: Callable[..., Any], ctxs: list[JobContext]) -> list[Outcome]:
    """A batch handler gets the list of jobs; it returns one result each, or None."""
    if all(ctx.cancelled for ctx in ctxs):
        return [Outcome(False, error="cancelled")] * len(ctxs)
    try:
        results = func(ctxs)
    except BaseException as exc:
        return [failed(exc)] * len(ctxs)
    if results is None:
        return [Outcome(True, None)] * len(ctxs)
    if not isinstance(results, list | tuple) or len(results) != len(ctxs):
        error = f"batch handler returned {type(results).__name__}, not a list of {len(ctxs)}"
        return [Outcome(False, error=error)] * len(ctxs)
    limit = ctxs[0].yard.config.max_result_bytes if ctxs else MAX_RESULT_BYTES
    return [checked_result(r, limit) for r in results]
