"""Declared job parameters: a Python type's handler keyword parameters (CONTRACT.md "Job
parameters and nodes"), read from its signature — annotations give the type (str, int,
float, bool, datetime, ``Literal[...]`` for choices), defaults make them optional.

Pure functions: the creation form is generated from :func:`declared`, and form text is
turned into values with :func:`from_text`, which refuses a bad value naming the parameter.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobyard.errors import InvalidInput


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # str, int, float, bool, datetime, choice, json
    required: bool
    default: Any = None
    choices: tuple[Any, ...] = ()
    help: str = ""


_KINDS: dict[Any, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    datetime: "datetime",
}


def _kind(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    if typing.get_origin(annotation) is typing.Literal:
        return "choice", typing.get_args(annotation)
    return _KINDS.get(annotation, "json"), ()


def declared(func: Callable[..., Any]) -> list[Param]:
    """The keyword parameters of a handler after its job context (first) argument."""
    try:
        sig = inspect.signature(func)
        hints = typing.get_type_hints(func)
    except (TypeError, ValueError, NameError):
        return []
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            continue
        kind, choices = _kind(hints.get(p.name, p.annotation))
        required = p.default is inspect.Parameter.empty
        out.append(Param(p.name, kind, required, None if required else p.default, choices))
    return out


def from_text(param: Param, text: str) -> Any:
    """A form field's text → the parameter's value; InvalidInput naming it when it is bad."""
    name = param.name

    def bad(what: str) -> InvalidInput:
        err = InvalidInput(f"parameter {name!r}: {what}, got {text[:60]!r}")
        err.field = f"param.{name}"  # type: ignore[attr-defined]
        return err

    if param.kind == "str":
        return text
    if param.kind == "int":
        try:
            if len(text) > 19:
                raise ValueError
            return int(text)
        except ValueError:
            raise bad("must be a whole number") from None
    if param.kind == "float":
        try:
            value = float(text)
        except ValueError:
            raise bad("must be a number") from None
        if not math.isfinite(value):
            raise bad("must be a finite number")
        return value
    if param.kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off", ""):
            return False
        raise bad("must be true or false")
    if param.kind == "datetime":
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            raise bad("must be a date and time (ISO 8601, e.g. 2026-12-31T23:00)") from None
    if param.kind == "choice":
        for choice in param.choices:
            if str(choice) == text:
                return choice
        raise bad("must be one of " + ", ".join(str(c) for c in param.choices))
    from jobyard.limits import json_or_text

    return json_or_text(text, f"parameter {name!r}")
