"""The enqueue option table (jobyard.spec): declared names, each with a parser; unknown
names refused with the list of known ones. Pure: a fake type source, no store."""

from __future__ import annotations

from typing import Any

import pytest

from jobyard.config import Config
from jobyard.errors import InvalidInput, UnknownJobType
from jobyard.model import Repeat, Retry
from jobyard.spec import OPTIONS, RERUN_OPTIONS, Context, SpecBuilder, TypeDefaults

NOW = 1_700_000_000.0


class FakeTypes:
    """One known type, ``t``, with non-default defaults."""

    def __init__(self) -> None:
        self.stamp = 1.0
        self.local: object = None
        self.asked = 0

    def stamp_of(self, name: str) -> tuple[float, object]:
        return self.stamp, self.local

    def defaults(self, name: str) -> TypeDefaults:
        self.asked += 1
        if name != "t":
            raise UnknownJobType(name, {"t"})
        return TypeDefaults("q", -10, Retry(3, 7.0, "exponential"), 30.0)


def builder() -> SpecBuilder:
    return SpecBuilder(FakeTypes(), Config())


def test_every_declared_option_has_a_parser() -> None:
    assert set(OPTIONS) == {
        "queue",
        "priority",
        "delay",
        "after",
        "depends",
        "retry",
        "retries",
        "repeat",
        "paused",
        "props",
        "timeout",
        "jobset",
        "site",
        "semaphores",
        "site_cap",
        "site_max_jobs",
    }
    assert all(callable(parse) for parse in OPTIONS.values())
    assert set(RERUN_OPTIONS) <= set(OPTIONS)


def test_an_unknown_option_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as err:
        builder().build("t", None, {"queu": "x", "prio": 1}, NOW)
    assert str(err.value) == (
        f"unknown enqueue option(s) prio, queu; known: {', '.join(sorted(OPTIONS))}"
    )


def test_an_unknown_type_is_named_before_unknown_options() -> None:
    with pytest.raises(UnknownJobType):
        builder().build("nope", None, {"queu": "x"}, NOW)


def test_the_type_gives_what_the_caller_leaves_out() -> None:
    spec = builder().build("t", {"a": 1}, {}, NOW)
    assert (spec.queue, spec.priority, spec.timeout) == ("q", -10, 30.0)
    assert spec.retry == Retry(3, 7.0, "exponential")
    assert (spec.after, spec.depends, spec.paused, spec.props) == (0.0, [], False, {})


def test_each_option_is_parsed() -> None:
    options: dict[str, Any] = {
        "queue": "other",
        "priority": "high",
        "delay": 5,
        "depends": "12",
        "retries": "forever",
        "repeat": {"repeats": 2, "wait": 1},
        "paused": True,
        "props": {"k": "v"},
        "timeout": None,  # None: no timeout, though the type has one
        "jobset": "4",
        "site": "eu",
    }
    spec = builder().build("t", None, options, NOW)
    assert (spec.queue, spec.priority, spec.after, spec.depends) == ("other", -10, NOW + 5, [12])
    assert spec.retry == Retry(-1, 7.0, "exponential")  # the count alone changes
    assert spec.repeat == Repeat(2, 1.0, None, None, None)
    assert (spec.paused, spec.props, spec.timeout, spec.jobset, spec.site) == (
        True,
        {"k": "v"},
        None,
        4,
        "eu",
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retry": 1, "retries": 2}, "give retry or retries, not both"),
        ({"delay": 1, "after": NOW}, "give delay or after, not both"),
        ({"queue": 5}, "invalid queue 5"),
        ({"delay": -1}, "invalid delay -1"),
        ({"paused": "yes"}, "invalid paused 'yes'"),
        ({"jobset": 0}, "invalid jobset id 0"),
        ({"props": [1]}, "props must be a mapping"),
    ],
)
def test_bad_options_are_refused_in_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        builder().build("t", None, options, NOW)


def test_an_empty_queue_means_the_types_queue() -> None:
    assert builder().build("t", None, {"queue": ""}, NOW).queue == "q"


def test_the_spec_without_options_is_cached_until_the_types_change() -> None:
    types = FakeTypes()
    specs = SpecBuilder(types, Config())
    first = specs.default("t", NOW)
    assert specs.default("t", NOW) is first and types.asked == 1
    types.stamp = 2.0
    second = specs.default("t", NOW)
    assert second is not first and types.asked == 2
    types.local = object()  # the type registered again in this process
    assert specs.default("t", NOW) is not second and types.asked == 3


def test_a_rerun_takes_only_a_repeat() -> None:
    specs = builder()
    assert specs.rerun_repeat({}, NOW) is None
    assert specs.rerun_repeat({"repeat": 1}, NOW) == Repeat(1, 0.0, None, None, None)
    with pytest.raises(InvalidInput, match=r"unknown rerun option\(s\) queue; known: repeat"):
        specs.rerun_repeat({"queue": "x"}, NOW)


def test_parsers_see_the_request_time_and_limits() -> None:
    ctx = Context(NOW, max_props_bytes=10)
    assert OPTIONS["delay"](2, ctx) == NOW + 2
    with pytest.raises(InvalidInput, match="over the limit of 10 bytes"):
        OPTIONS["props"]({"key": "a long value"}, ctx)


def test_templates_keep_one_row_per_reused_spec_and_status() -> None:
    from jobyard.lifecycle import JobSpec, Templates

    templates, spec, other = Templates(), JobSpec(type="t"), JobSpec(type="t", queue="q")
    row = templates.row(spec, "ready")
    assert templates.row(spec, "ready") is row  # reused: the hot path makes no new row
    assert (
        templates.row(spec, "waiting") is not row
        and templates.row(spec, "waiting").status == "waiting"
    )
    assert templates.row(other, "ready").queue == "q"
    assert (row.type, row.queue, row.status, row.created) == ("t", "default", "ready", 0.0)
