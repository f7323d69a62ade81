"""Parameters declared in a script's header (docs/scripts.md "Parameters"):

    # jobyard: param count: int = 3 -- how many to make
    # jobyard: param when: datetime
    # jobyard: param mode: choice(fast, slow) = fast
    # jobyard: param note: str =            (optional, no default)
    # jobyard: nodes = 1..5                 (also 2.., ..5, 3)

They become the type's :class:`jobyard.params.Signature` (``signature`` in its stored
meta, as a Python type's), so every enqueue path checks a script's data the same way.
A default is read with :func:`jobyard.params.from_text`, the form's own reader: a bad
default is a bad declaration.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jobyard.errors import InvalidInput
from jobyard.params import Param, Signature, from_text

KINDS = ("str", "int", "float", "bool", "datetime", "json")
MAX_PARAMS = 100
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?P<kind>[a-z]+)\s*(?:\((?P<choices>[^)]*)\))?"
    r"\s*(?:(?P<eq>=)\s*(?P<default>.*?))?\s*$"
)
_NODES = re.compile(r"^(?P<low>\d{0,6})\s*(?P<dots>\.\.)?\s*(?P<high>\d{0,6})$")


def parse_param(text: str) -> Param:
    """``NAME: KIND[(CHOICES)] [= DEFAULT] [-- HELP]`` → a Param; InvalidInput saying what
    is wrong with it."""
    body, _, help_text = text.partition(" -- ")
    found = _PARAM.match(body.strip())
    if not found:
        raise InvalidInput(
            f"expected 'param NAME: KIND [= DEFAULT]' (kinds: {', '.join(KINDS)}, "
            f"choice(A, B)), got {text.strip()[:60]!r}"
        )
    name, kind, raw_choices = found["name"], found["kind"], found["choices"]
    choices: tuple[Any, ...] = ()
    if kind == "choice":
        choices = tuple(dict.fromkeys(c.strip() for c in (raw_choices or "").split(",")))
        if not all(choices):
            raise InvalidInput(f"param {name!r}: choice needs values, e.g. choice(fast, slow)")
    elif kind not in KINDS:
        raise InvalidInput(f"param {name!r}: unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    elif raw_choices is not None:
        raise InvalidInput(f"param {name!r}: only choice(...) takes values in brackets")
    param = Param(name, kind, found["eq"] is None, None, choices, help_text.strip())
    default_text = found["default"]
    if found["eq"] is None or default_text == "":
        return param
    if len(default_text) >= 2 and default_text[0] == default_text[-1] == '"':
        try:
            default_text = str(json.loads(default_text))
        except ValueError:
            raise InvalidInput(f"param {name!r}: bad quoted default {default_text!r}") from None
    try:
        default = from_text(param, default_text)
    except InvalidInput as exc:
        raise InvalidInput(f"default of {exc}") from None
    return Param(name, kind, False, default, choices, param.help)


def parse_nodes(text: str) -> tuple[int | None, int | None]:
    """``1..5``, ``2..``, ``..5`` or ``3`` → (min_nodes, max_nodes)."""
    found = _NODES.match(text.strip())
    if not found or not (found["low"] or found["high"]):
        raise InvalidInput(f"nodes must be N, MIN..MAX, MIN.. or ..MAX, got {text[:40]!r}")
    low = int(found["low"]) if found["low"] else None
    high = int(found["high"]) if found["high"] else None
    if found["dots"] is None:
        high = low
    if (low is not None and low < 1) or (high is not None and high < 1):
        raise InvalidInput(f"nodes must be at least 1, got {text.strip()!r}")
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"nodes: the minimum {low} is more than the maximum {high}")
    return low, high


def signature_meta(params: Sequence[Param]) -> dict[str, Any] | None:
    """The stored form of the declared params (None: the header declares none)."""
    return Signature(tuple(params)).to_meta() if params else None


def with_defaults(meta: Mapping[str, Any], data: Any) -> Any:
    """``data`` with the declared defaults of absent params (what a Python handler's
    defaults give it): the script reads one complete object."""
    sig = Signature.from_meta(meta.get("signature")) if meta.get("signature") else None
    if sig is None or not (data is None or type(data) is dict):
        return data
    filled = dict(data or {})
    for p in sig.params:
        if p.name not in filled and not p.required and p.default is not None:
            filled[p.name] = p.default
    return filled if (filled or data is not None) else data
