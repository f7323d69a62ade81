"""Declared job parameters from a handler's signature, and form text → values."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pytest

from jobyard.errors import InvalidInput
from jobyard.params import Param, declared, from_text


def handler(
    job: Any,
    name: str,
    n: int = 2,
    x: float = 0.5,
    on: bool = False,
    mood: Literal["calm", "wild"] = "calm",
    at: datetime | None = None,
    *rest: Any,
    **kw: Any,
) -> None:
    return None


def test_declared_reads_kinds_defaults_and_choices() -> None:
    ps = {p.name: p for p in declared(handler)}
    assert list(ps) == ["name", "n", "x", "on", "mood", "at"]
    assert ps["name"] == Param("name", "str", True)
    assert (ps["n"].kind, ps["n"].required, ps["n"].default) == ("int", False, 2)
    assert ps["mood"].kind == "choice" and ps["mood"].choices == ("calm", "wild")
    assert ps["at"].kind == "json"  # Optional[datetime]: free JSON


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", "12", 12),
        ("float", "1.5", 1.5),
        ("bool", "yes", True),
        ("bool", "", False),
        ("str", " a ", " a "),
        ("datetime", "2026-12-31T23:00", "2026-12-31T23:00:00"),
    ],
)
def test_from_text_converts(kind: str, text: str, value: Any) -> None:
    assert from_text(Param("p", kind, True), text) == value


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("int", "two"),
        ("int", "9" * 30),
        ("float", "nan"),
        ("float", "inf"),
        ("bool", "maybe"),
        ("datetime", "tomorrow"),
    ],
)
def test_bad_text_names_the_parameter(kind: str, text: str) -> None:
    with pytest.raises(InvalidInput, match="parameter 'p'") as info:
        from_text(Param("p", kind, True), text)
    assert info.value.field == "param.p"  # type: ignore[attr-defined]


def test_choice_must_be_one_of_them() -> None:
    p = Param("mood", "choice", True, choices=("calm", "wild"))
    assert from_text(p, "wild") == "wild"
    with pytest.raises(InvalidInput, match="one of calm, wild"):
        from_text(p, "angry")
