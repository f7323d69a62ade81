"""Declared job parameters: a Python type's handler keyword parameters (CONTRACT.md "Job
parameters and nodes"), read from its signature — annotations give the type (str, int,
float, bool, datetime, ``Literal[...]`` for choices), defaults make them optional, and
``Annotated[int, "help text"]`` gives a parameter its help line.

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
from jobyard.i18n import _


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
        hints = typing.get_type_hints(func, include_extras=True)
    except (TypeError, ValueError, NameError):
        return []
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            continue
        hint = hints.get(p.name, p.annotation)
        help_text = ""
        if typing.get_origin(hint) is typing.Annotated:
            base, *extras = typing.get_args(hint)
            help_text = next((x for x in extras if isinstance(x, str)), "")
            hint = base
        kind, choices = _kind(hint)
        required = p.default is inspect.Parameter.empty
        default = None if required else p.default
        out.append(Param(p.name, kind, required, default, choices, help_text))
    return out


def from_text(param: Param, text: str) -> Any:
    """A form field's text → the parameter's value; InvalidInput naming it when it is bad."""
    name = param.name

    def bad(what: str) -> InvalidInput:
        err = InvalidInput(
            _("parameter {name!r}: {what}, got {text!r}", name=name, what=what, text=text[:60])
        )
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
            raise bad(_("must be a whole number")) from None
    if param.kind == "float":
        stripped = text.strip()
        if stripped.lstrip("-").isdigit() and len(stripped) <= 19:
            return int(stripped)  # a whole number is a number too (as in JSON): 3, not 3.0
        try:
            value = float(text)
        except ValueError:
            raise bad(_("must be a number")) from None
        if not math.isfinite(value):
            raise bad(_("must be a finite number"))
        return value
    if param.kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off", ""):
            return False
        raise bad(_("must be true or false"))
    if param.kind == "datetime":
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            raise bad(_("must be a date and time (ISO 8601, e.g. 2026-12-31T23:00)")) from None
    if param.kind == "choice":
        for choice in param.choices:
            if str(choice) == text:
                return choice
        raise bad(_("must be one of {choices}", choices=", ".join(str(c) for c in param.choices)))
    from jobyard.limits import json_or_text

    return json_or_text(text, f"parameter {name!r}")


def parse_assignments(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``name=value`` arguments as a dict; a value is JSON when it parses, else a string
    (JSON that is not finite or nested too deeply is refused: jobyard.limits.json_or_text)."""
    from jobyard.limits import json_or_text

    parsed: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.isidentifier():
            raise InvalidInput(
                _(
                    "bad parameter {item!r}: expected name=value with a Python identifier name",
                    item=item,
                )
            )
        parsed[name] = json_or_text(raw, f"parameter {name}")
    return parsed


# -- what an enqueue may pass ------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A handler's keyword parameters, as an enqueue must honour them (CONTRACT.md): a
    missing, unknown or ill-typed parameter is refused, naming it. ``open``: it takes
    ``**kwargs``, so names it does not declare are let through."""

    params: tuple[Param, ...]
    open: bool = False

    def __post_init__(self) -> None:
        # Read on every enqueue: worked out once.
        object.__setattr__(self, "_names", frozenset(p.name for p in self.params))
        object.__setattr__(self, "_required", tuple(p for p in self.params if p.required))
        object.__setattr__(self, "_typed", tuple(p for p in self.params if p.kind != "json"))

    def check(self, type_name: str, data: Any) -> None:
        """Refuse ``data`` that this handler could not be called with. Data that is not a
        dict of names is one positional argument: the handler's business."""
        if data is None:
            if self._required:  # type: ignore[attr-defined]
                p = self._required[0]  # type: ignore[attr-defined]
                raise _refused(
                    p.name,
                    _(
                        "job type {type_name!r} needs parameter {name!r} ({kind})",
                        type_name=type_name,
                        name=p.name,
                        kind=p.kind,
                    ),
                )
            return
        if type(data) is not dict:
            return
        keys = data.keys()
        names: frozenset[str] = self._names  # type: ignore[attr-defined]
        if not self.open and not keys <= names:
            if not all(isinstance(k, str) and k.isidentifier() for k in keys):
                return  # not keyword arguments: passed as one value
            unknown = sorted(keys - names)
            known = ", ".join(p.name for p in self.params) or _("none")
            raise _refused(
                unknown[0],
                _(
                    "job type {type_name!r} has no parameter {unknown!r} (its parameters: {known})",
                    type_name=type_name,
                    unknown=unknown[0],
                    known=known,
                ),
            )
        for p in self._required:  # type: ignore[attr-defined]
            if p.name not in data:
                raise _refused(
                    p.name,
                    _(
                        "job type {type_name!r} needs parameter {name!r} ({kind})",
                        type_name=type_name,
                        name=p.name,
                        kind=p.kind,
                    ),
                )
        for p in self._typed:  # type: ignore[attr-defined]
            if p.name in data:
                what = _ill_typed(p, data[p.name])
                if what:
                    shown = repr(data[p.name])[:60]
                    raise _refused(
                        p.name,
                        _(
                            "job type {type_name!r}: parameter {name!r} {what}, got {shown}",
                            type_name=type_name,
                            name=p.name,
                            what=what,
                            shown=shown,
                        ),
                    )

    def to_meta(self) -> dict[str, Any]:
        """JSON for the store, so a process without the handler checks the same way."""
        return {
            "open": self.open,
            "params": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "required": p.required,
                    **({"default": p.default} if _jsonable(p.default) else {}),
                    **({"choices": list(p.choices)} if p.choices else {}),
                    **({"help": p.help} if p.help else {}),
                }
                for p in self.params
            ],
        }

    @classmethod
    def from_meta(cls, meta: Any) -> Signature | None:
        """What :meth:`to_meta` wrote; None for anything else (an older row)."""
        try:
            params = tuple(
                Param(
                    str(p["name"]),
                    str(p["kind"]),
                    bool(p["required"]),
                    p.get("default"),
                    tuple(p.get("choices") or ()),
                    str(p.get("help") or ""),
                )
                for p in meta["params"]
            )
            return cls(params, bool(meta.get("open")))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def signature(func: Callable[..., Any]) -> Signature | None:
    """The handler's :class:`Signature`; None when it cannot be read (then nothing is
    checked at enqueue: the handler's own call is the check)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    kinds = list(sig.parameters.values())[1:]
    if any(p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY) for p in kinds):
        return None  # it takes its data as positional arguments: nothing to check by name
    return Signature(tuple(declared(func)), any(p.kind == p.VAR_KEYWORD for p in kinds))


def _refused(name: str, message: str) -> InvalidInput:
    err = InvalidInput(message)
    err.field = f"data.{name}"  # type: ignore[attr-defined]
    return err


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _ill_typed(p: Param, value: Any) -> str | None:
    """What is wrong with ``value`` for ``p`` (None: nothing)."""
    if p.kind == "str":
        return None if isinstance(value, str) else "must be a string"
    if p.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be a whole number"
    if p.kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok and math.isfinite(value) else "must be a finite number"
    if p.kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if p.kind == "datetime":
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
                return None
            except ValueError:
                pass
        return "must be a date and time (ISO 8601, e.g. 2026-12-31T23:00)"
    if p.kind == "choice":
        ok = any(type(c) is type(value) and c == value for c in p.choices)
        return None if ok else "must be one of " + ", ".join(repr(c) for c in p.choices)
    return None
