"""Property: whatever values the spec builder gets, it gives a clear InvalidInput or a
valid job — never another exception, never a half-written job (both backends)."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jobyard import Yard
from jobyard.errors import InvalidInput

# Texts that tend to break stores: NUL, lone surrogates, escapes, markup, huge or odd numbers.
NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "\\u0000",
        "forever",
        "inf",
        "-inf",
        "nan",
        "3",
        "-1",
        "1e400",
        "99999999999999999999",
        "2026-01-01T00:00:00Z",
        "99999-01-01",
        "@hourly",
        "* * * * *",
        "61 * * * *",
        "Europe/Berlin",
        "../../etc/passwd",
        "Not/AZone",
        "[/]",
        "high",
    ]
)
TEXT = st.one_of(NASTY_TEXT, st.text(max_size=30), st.text(st.characters(codec=None), max_size=5))
NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, 0.5, -0.0]),
)
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(TEXT, st.integers()), inner, max_size=3),
        st.tuples(inner),
        st.sets(st.integers(min_value=-3, max_value=3), max_size=3),
    ),
    max_leaves=6,
)
WHEN = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC) | st.none(),
)
FINITE = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=10))
WINDOW = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 1, 1))
# Values each option accepts, so that an example is mostly valid and a nasty value in one
# or two fields is what decides the outcome.
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "queue": st.sampled_from(["default", "q1", "é/ü:queue", None]),
    "priority": st.sampled_from(["high", "low", "normal", 0, 7, -10, 2**31 - 1, -(2**31)]),
    "delay": st.floats(0, 1e6),
    "after": WINDOW.map(lambda d: d.replace(tzinfo=UTC)) | WINDOW.map(lambda d: d.isoformat()),
    "depends": st.just([]) | st.none(),
    "retry": st.fixed_dictionaries(
        {"retries": st.integers(0, 5)},
        optional={
            "wait": st.floats(0, 100),
            "backoff": st.sampled_from(["constant", "exponential"]),
        },
    ),
    "retries": st.integers(0, 10) | st.just("forever") | st.integers(0, 9).map(str),
    "repeat": st.fixed_dictionaries({"repeats": st.integers(0, 3), "wait": st.floats(0, 100)})
    | st.just({"schedule": "@hourly", "timezone": "Europe/Berlin"}),
    "paused": st.booleans(),
    "props": st.dictionaries(st.text(max_size=5), FINITE, max_size=3),
    "timeout": st.floats(0.1, 1000),
    "jobset": st.integers(1, 2**63 - 1),
    "site": st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=20),
}
NASTY: dict[str, st.SearchStrategy[Any]] = {
    **{key: VALUE for key in GOOD},
    "after": VALUE | WHEN,
    "retry": st.fixed_dictionaries(
        {}, optional={"retries": VALUE, "wait": VALUE, "backoff": TEXT, "until": VALUE | WHEN}
    )
    | VALUE,
    "repeat": st.fixed_dictionaries(
        {},
        optional={
            "repeats": VALUE,
            "wait": VALUE,
            "schedule": TEXT,
            "until": VALUE | WHEN,
            "timezone": TEXT,
        },
    )
    | VALUE,
}


@st.composite
def options(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(GOOD)), unique=True, max_size=6))
    if "retry" in keys and "retries" in keys:
        keys.remove("retries")  # refused whatever the values: not interesting
    if "delay" in keys and "after" in keys:
        keys.remove("after")
    nasty = set(draw(st.lists(st.sampled_from(keys), max_size=2))) if keys else set()
    return {key: draw(NASTY[key] if key in nasty else GOOD[key]) for key in keys}


def check_one(yard: Yard, data: Any, options: dict[str, Any], many: bool) -> None:
    before = yard.count()
    try:
        if many:
            ids = yard.enqueue_many("noop", [data, data], **options)
        else:
            ids = [yard.enqueue("noop", data, **options).id]
    except InvalidInput as exc:
        assert str(exc) and "\n" not in str(exc)
        event("refused")
        assert yard.count() == before, "an InvalidInput must write nothing"
        return
    event("accepted")
    assert yard.count() == before + len(ids)
    for job_id in ids:
        job = yard.get(job_id).refresh()
        json.dumps(job.to_dict(), allow_nan=False)  # every stored value reads back
    json.dumps([j.to_dict() for j in yard.jobs(limit=None)], allow_nan=False)


@settings(
    max_examples=int(os.environ.get("JOBYARD_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.one_of(FINITE, VALUE), given_options=options(), many=st.booleans())
def test_spec_builder_gives_invalid_input_or_a_valid_job(
    yard: Yard, data: Any, given_options: dict[str, Any], many: bool
) -> None:
    if "noop" not in yard.types:

        @yard.job
        def noop(job: Any) -> None: ...

    check_one(yard, data, given_options, many)
