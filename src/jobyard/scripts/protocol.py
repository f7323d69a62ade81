"""The two ways a script talks back: ``>>> jobyard.NAME(ARGS)`` lines on stderr, and
newline-delimited JSON on the unix socket. Both parse to a :class:`Call`; nothing a script
sends is ever evaluated — ARGS are JSON values, read with ``json.loads``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from jobyard import model

PREFIXES = (">>> jobyard.", ">>> sooner.")
_CALL = re.compile(r"^>>> (?:jobyard|sooner)\.([A-Za-z_][A-Za-z0-9_]*)\((.*)\)\s*$", re.S)
CALLS = ("progress", "emit", "log", "result", "collection")


class CallError(Exception):
    """A call that cannot be parsed or has bad arguments (the script goes on)."""


@dataclass
class Call:
    name: str
    args: list[Any]


def _no_constants(text: str) -> Any:
    raise ValueError(f"{text} is not allowed")


def loads(text: str | bytes) -> Any:
    """Strict JSON: no NaN/Infinity, bounded nesting."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise CallError("arguments nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CallError(f"arguments are not JSON values ({exc})") from None


def is_call_line(line: str) -> bool:
    return line.startswith(PREFIXES)


def parse_line(line: str) -> Call:
    """Parse a stderr line that starts with a call prefix; CallError if it is malformed."""
    found = _CALL.match(line.rstrip("\r\n"))
    if not found:
        raise CallError("expected >>> jobyard.NAME(JSON, ...)")
    name, text = found.group(1), found.group(2).strip()
    args = loads(f"[{text}]") if text else []
    if not isinstance(args, list):  # pragma: no cover - "[...]" always reads as a list
        raise CallError("arguments are not a list")
    return check(name, args)


def parse_request(raw: bytes) -> Call:
    """Parse one socket request ``{"call": NAME, "args": [...]}``."""
    request = loads(raw)
    if not isinstance(request, dict):
        raise CallError('a request is a JSON object: {"call": "progress", "args": [5, 10]}')
    name = request.get("call")
    args = request.get("args", [])
    if not isinstance(name, str):
        raise CallError('the request has no "call" name')
    if not isinstance(args, list):
        raise CallError('"args" must be a JSON array')
    return check(name, args)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CallError(f"{what} must be a number, got {value!r}")
    if value < 0:
        raise CallError(f"{what} must be >= 0, got {value!r}")
    return float(value)


def _arity(name: str, args: list[Any], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise CallError(f"{name}() takes {want} argument(s), got {len(args)}")


def check(name: str, args: list[Any]) -> Call:
    """Validate a call's name and arguments; returns it normalised."""
    if name == "progress":
        _arity(name, args, 1, 2)
        current = _number(args[0], "progress current")
        if len(args) == 2:
            total = _number(args[1], "progress max")
            return Call(name, [current, total])
        return Call(name, [current])
    if name == "emit":
        _arity(name, args, 1, 2)
        if not isinstance(args[0], str) or not args[0].strip():
            raise CallError(f"emit() needs an event name, got {args[0]!r}")
        return Call(name, [args[0], args[1] if len(args) == 2 else None])
    if name == "log":
        _arity(name, args, 1, 2)
        message = args[0] if isinstance(args[0], str) else json.dumps(args[0])
        level = args[1] if len(args) == 2 else "info"
        if level not in model.LOG_LEVELS:
            raise CallError(
                f"log level must be one of {', '.join(model.LOG_LEVELS)}, got {level!r}"
            )
        return Call(name, [message, level])
    if name == "result":
        _arity(name, args, 1, 1)
        return Call(name, [args[0]])
    if name == "collection":  # [name, method, arguments...]: checked by collections.script_call
        if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
            raise CallError("collection() needs a collection name and a method")
        return Call(name, args)
    raise CallError(f"unknown call {name!r}: use {', '.join(CALLS)}")


def reply(ok: bool, value: Any = None, error: str | None = None) -> bytes:
    body: dict[str, Any] = {"ok": ok}
    if not ok:
        body["error"] = error or "failed"
    elif value is not None:
        body["value"] = value
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"
