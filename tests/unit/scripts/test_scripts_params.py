"""Parameters declared in a script's header: the syntax, bad declarations naming their
line, and the defaults a script gets."""

from __future__ import annotations

import pytest

from jobyard.errors import InvalidInput
from jobyard.params import Signature
from jobyard.scripts.meta import compose, parse_header
from jobyard.scripts.params import parse_nodes, with_defaults

HEADER = """#!/bin/sh
# jobyard: description = makes things
# jobyard: param count: int = 3 -- how many to make
# jobyard: param when: datetime
# jobyard: param mode: choice(fast, slow) = fast
# jobyard: param note: str =
# jobyard: param label: str = "two words"
# jobyard: param dry: bool = true
# jobyard: nodes = 1..5
"""


def test_header_params_become_the_signature() -> None:
    values, warnings = parse_header(HEADER)
    assert warnings == []
    assert values["description"] == "makes things"
    assert (values["min_nodes"], values["max_nodes"]) == (1, 5)
    sig = Signature.from_meta(values["signature"])
    assert sig is not None and not sig.open
    by_name = {p.name: p for p in sig.params}
    assert list(by_name) == ["count", "when", "mode", "note", "label", "dry"]
    assert (by_name["count"].kind, by_name["count"].default) == ("int", 3)
    assert by_name["count"].help == "how many to make" and not by_name["count"].required
    assert by_name["when"].required and by_name["when"].kind == "datetime"
    assert by_name["mode"].choices == ("fast", "slow") and by_name["mode"].default == "fast"
    assert not by_name["note"].required and by_name["note"].default is None
    assert by_name["label"].default == "two words" and by_name["dry"].default is True
    sig.check("make", {"when": "2026-12-31T23:00", "count": 2})
    with pytest.raises(InvalidInput, match="parameter 'count' must be a whole number"):
        sig.check("make", {"when": "2026-12-31T23:00", "count": "two"})
    with pytest.raises(InvalidInput, match="needs parameter 'when'"):
        sig.check("make", {})
    with pytest.raises(InvalidInput, match="has no parameter 'colour'"):
        sig.check("make", {"when": "2026-12-31T23:00", "colour": "red"})


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("param count int", "expected 'param NAME: KIND"),
        ("param count: integer", "unknown kind 'integer'"),
        ("param count: int = many", "default of parameter 'count': must be a whole number"),
        ("param mode: choice() = a", "choice needs values"),
        ("param mode: choice(a, b) = c", "must be one of a, b"),
        ("param n: int(3)", "only choice(...) takes values"),
        ("nodes = 5..2", "the minimum 5 is more than the maximum 2"),
        ("nodes = 0", "at least 1"),
        ("nodes = lots", "nodes must be N, MIN..MAX"),
    ],
)
def test_a_bad_declaration_is_a_warning_naming_its_line(line: str, needle: str) -> None:
    values, warnings = parse_header(f"#!/bin/sh\n# jobyard: param ok: int = 1\n# jobyard: {line}\n")
    assert len(warnings) == 1 and warnings[0].startswith("line 3: "), warnings
    assert needle in warnings[0]
    assert [p["name"] for p in values["signature"]["params"]] == ["ok"]  # the rest stays


def test_twice_declared_and_nodes_forms() -> None:
    _, warnings = parse_header("# jobyard: param a: int\n# jobyard: param a: str\n")
    assert warnings == ["line 2: param 'a' is declared twice"]
    assert parse_nodes("2..") == (2, None) and parse_nodes("..4") == (None, 4)
    assert parse_nodes("3") == (3, 3)


def test_a_header_that_drops_its_params_drops_the_signature() -> None:
    values, _ = parse_header(HEADER)
    before = compose({"header": values})
    assert before["signature"] and before["max_nodes"] == 5
    after = compose({**before, "header": parse_header("# jobyard: timeout = 5\n")[0]})
    assert after["signature"] is None and after["min_nodes"] is None


def test_the_script_gets_the_defaults_of_absent_params() -> None:
    meta = {"signature": parse_header(HEADER)[0]["signature"]}
    got = with_defaults(meta, {"when": "2026-01-01T00:00", "count": 7})
    assert got == {
        "when": "2026-01-01T00:00",
        "count": 7,
        "mode": "fast",
        "label": "two words",
        "dry": True,
    }
    assert with_defaults({}, {"x": 1}) == {"x": 1}
    assert with_defaults(meta, [1, 2]) == [1, 2]
