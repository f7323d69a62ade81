"""Properties of the retry maths and the CLI parsers (issue #7 §2, §6): finite capped
delays; a clear InvalidInput/UsageError or a valid value, never another exception."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from jobyard.cli.common import parse_json_option, parse_params
from jobyard.cli.jobs import _ids
from jobyard.cli.main import build
from jobyard.errors import InvalidInput
from jobyard.limits import MAX_WAIT
from jobyard.model import Retry, retry_delay

FAST = settings(max_examples=200, deadline=None)
WAITS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, MAX_WAIT),
    st.integers(0, 10**6),
)


@FAST
@given(
    wait=WAITS,
    backoff=st.sampled_from(["constant", "exponential"]),
    failures=st.integers(1, 10**9),
    more=st.integers(0, 10**6),
)
def test_retry_delay_is_finite_capped_and_never_decreasing(
    wait: float, backoff: str, failures: int, more: int
) -> None:
    first = retry_delay(wait, backoff, failures)
    later = retry_delay(wait, backoff, failures + more)
    assert math.isfinite(first) and 0 <= first <= later <= MAX_WAIT


@FAST
@given(
    retries=st.one_of(st.integers(), st.floats(), st.text(max_size=8), st.none()),
    wait=st.one_of(WAITS, st.text(max_size=3)),
)
def test_retry_policy_is_valid_or_invalid_input(retries: Any, wait: Any) -> None:
    try:
        policy = Retry(retries, wait).normalized()
    except InvalidInput:
        return
    assert isinstance(policy.retries, int) and -1 <= policy.retries < 2**31
    assert retry_delay(policy.wait, "exponential", 10**6) <= MAX_WAIT


JSONISH = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["NaN", "-Infinity", "[1e400]", "1" * 5000, "[" * 3000 + "]" * 3000, '{"a":', "\x00"]
    ),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    ).map(json.dumps),
)


@FAST
@given(text=JSONISH)
def test_json_option_is_a_finite_json_value_or_invalid_input(text: str) -> None:
    try:
        value = parse_json_option(text, "--data")
    except InvalidInput as exc:
        assert "--data" in str(exc) and "\n" not in str(exc)
        return
    json.dumps(value, allow_nan=False)  # finite, and shallow enough to encode again


@FAST
@given(items=st.lists(st.one_of(st.text(max_size=12), JSONISH.map(lambda t: "n=" + t)), max_size=4))
def test_assignments_are_a_dict_of_finite_values_or_invalid_input(items: list[str]) -> None:
    try:
        parsed = parse_params(tuple(items))
    except InvalidInput as exc:
        assert "\n" not in str(exc)
        return
    assert all(name.isidentifier() for name in parsed)
    json.dumps(parsed, allow_nan=False)


@FAST
@given(
    text=st.one_of(
        st.text(max_size=20),
        st.lists(st.integers(), max_size=4).map(lambda ids: ",".join(map(str, ids))),
    )
)
def test_id_lists_are_positive_64_bit_ids_or_invalid_input(text: str) -> None:
    try:
        ids = _ids(text)
    except InvalidInput:
        return
    assert ids and all(1 <= i < 2**63 for i in ids)


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["submit", "add", "--data", "[" * 100_000], "--data is nested too deeply"),
        (["submit", "add", "--data", '{"a": NaN}'], "NaN is not a finite number"),
        (["submit", "add", "--data", "[1e400]"], "1e400 is too large to be a finite number"),
        # a declared float parameter reads its text as a number
        (["submit", "add", "a=Infinity"], "parameter 'a': must be a finite number"),
        (["submit", "add", "a=" + "[" * 100_000], "parameter 'a': must be a number"),
        # an undeclared one as JSON-ish text, with the same limits (then refused by name)
        (["submit", "add", "zz=Infinity"], "parameter zz is not valid JSON: Infinity is not"),
        (["submit", "add", "zz=" + "[" * 100_000], "parameter zz is nested too deeply"),
        (["submit", "add", "--prop", "p=NaN"], "parameter p is not valid JSON: NaN"),
        (["emit", "ev", "--data", "-Infinity"], "-Infinity is not a finite number"),
    ],
    ids=[
        "deep data",
        "NaN data",
        "1e400",
        "Infinity param",
        "deep param",
        "Infinity extra",
        "deep extra",
        "NaN prop",
        "emit",
    ],
)
def test_cli_refuses_non_finite_and_deep_json_in_one_line_exit_2(
    args: list[str], why: str, tmp_path: Any
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"JOBYARD_APP": "tests.e2e.cli_app", "JOBYARD_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("")
    result = CliRunner().invoke(build(), ["--db", db, *args], env=env)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jobyard: error: "), lines
    assert why in lines[0]
