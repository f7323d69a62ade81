"""Input limits at one place (issue #7 §2): sizes, NUL and lone surrogates, strict option
types — the same on both backends, refused before anything is written."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jobyard import Yard
from jobyard.errors import InvalidInput
from jobyard.handle import JobHandle

MAX_WAIT = 10 * 365.25 * 86400.0  # jobyard.limits.MAX_WAIT, spelt out: runs on old code too


@pytest.fixture
def small(store_url: str) -> Iterator[Yard]:
    """A yard with small limits, so that tests need no megabytes."""
    y = Yard(store_url)
    limits = {"data": 200, "props": 100, "result": 100, "log": 80}
    for name, size in limits.items():
        setattr(y.config, f"max_{name}_bytes", size)
    try:
        yield y
    finally:
        y.close()


def run(yard: Yard, handle: JobHandle) -> JobHandle:
    worker = yard.worker(concurrency=1).start()
    try:
        handle.wait(timeout=30)
    finally:
        worker.stop()
    return handle


def noop_type(yard: Yard) -> None:
    @yard.job
    def noop(job: Any, **data: Any) -> None: ...


REFUSED: list[tuple[str, dict[str, Any], Any, str]] = [
    # (what, options, data, message part)
    ("props over the limit", {"props": {"k": "x" * 200}}, None, "props is 208 bytes of JSON"),
    ("data bytes, not characters", {}, "é" * 150, "job data is 302 bytes of JSON"),
    ("NUL in data", {}, {"a": "x\x00"}, "job data cannot hold NUL"),
    ("NUL in a data key", {}, {"a\x00": 1}, "job data cannot hold NUL"),
    ("NUL in props", {"props": {"p": "\x00"}}, None, "props cannot hold NUL"),
    ("surrogate in data", {}, ["\ud800"], "lone surrogate"),
    ("surrogate in props", {"props": {"p": "\udfff"}}, None, "lone surrogate"),
    ("NUL in queue", {"queue": "q\x00"}, None, "NUL"),
    ("surrogate in queue", {"queue": "q\ud800"}, None, "lone surrogate"),
    ("NUL in site", {"site": "s\x00"}, None, "NUL"),
    ("props with non-string keys", {"props": {1: 2}}, None, "names are strings"),
    ("paused given as text", {"paused": "no"}, None, "invalid paused 'no'"),
    ("paused given as a number", {"paused": 1}, None, "invalid paused"),
    ("depends as a mapping", {"depends": {"1": 2}}, None, "invalid depends"),
    ("depends zero", {"depends": 0}, None, "invalid job id 0"),
    ("retries 'inf'", {"retries": "inf"}, None, "invalid retries 'inf'"),
    ("retries '3.5'", {"retries": "3.5"}, None, "invalid retries"),
    ("timeout of 1e300 s", {"timeout": 1e300}, None, "invalid timeout"),
    ("retry wait of 1e300 s", {"retry": {"retries": 1, "wait": 1e300}}, None, "retry wait"),
    ("repeat wait of 1e300 s", {"repeat": {"repeats": 1, "wait": 1e300}}, None, "repeat wait"),
]


@pytest.mark.parametrize(
    ("what", "options", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_refused_with_one_clear_line_and_nothing_written(
    small: Yard, what: str, options: dict[str, Any], data: Any, message: str
) -> None:
    noop_type(small)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")) as info:
        small.enqueue("noop", data, **options)
    assert "\n" not in str(info.value)
    with pytest.raises(InvalidInput):
        small.enqueue_many("noop", [data, data], **options)
    assert small.count() == 0


def test_text_that_only_looks_like_a_nul_escape_is_stored_everywhere(small: Yard) -> None:
    noop_type(small)
    text = "C:\\u0000\\\\u0000"  # backslashes and the letters u0000, no NUL
    handle = small.enqueue("noop", {"path": text}, props={"p": text})
    assert handle.refresh().data == {"path": text}
    item = small.collection("files").insert({"path": text})
    assert small.collection("files").get(item.id).data == {"path": text}
    jobset = small.create_jobset("batch", "b", {"path": text})
    small.jobset(jobset).storage["k"] = text
    assert small.jobset(jobset).meta == {"path": text}
    assert small.jobset(jobset).storage["k"] == text


@pytest.mark.parametrize(
    "write",
    [
        lambda y: y.collection("c").insert({"a": "\x00"}),
        lambda y: y.collection("c").insert(["\ud800"]),
        lambda y: y.collection("c").insert("x" * 300),
        lambda y: y.collection("c").insert({}, status="new\x00"),
        lambda y: y.collection("c").find(where={"a": "\x00"}),
        lambda y: y.create_jobset("batch", "b", {"a": "\ud800"}),
        lambda y: y.create_jobset("batch", "b\ud800"),
        lambda y: y.jobset(y.create_jobset("k", "n")).storage.__setitem__("k\ud800", 1),
        lambda y: y.jobset(y.create_jobset("k", "n")).storage.__setitem__("k", "\x00"),
        lambda y: y.emit("ev", {"a": "\x00"}),
        lambda y: y.emit("ev", {"a": "x" * 300}),
    ],
    ids=[
        "item NUL",
        "item surrogate",
        "item size",
        "item status NUL",
        "filter NUL",
        "meta surrogate",
        "jobset name surrogate",
        "kv key surrogate",
        "kv value NUL",
        "event NUL",
        "event size",
    ],
)
def test_collections_jobsets_and_events_follow_the_same_rules(
    small: Yard, write: Callable[[Yard], Any]
) -> None:
    with pytest.raises(InvalidInput):
        write(small)
    assert small.collection("c").count() == 0


def test_depends_given_as_a_string_is_one_id(small: Yard) -> None:
    noop_type(small)
    ids = small.enqueue_many("noop", [None] * 12)
    handle = small.enqueue("noop", None, depends=str(ids[-1]))
    assert handle.refresh().depends == [ids[-1]]


def test_counts_given_as_strings_are_whole_numbers_or_forever(small: Yard) -> None:
    noop_type(small)
    assert small.enqueue("noop", retries="3").refresh().retries == 3
    assert small.enqueue("noop", retries="forever").refresh().retries == -1
    assert small.enqueue("noop", retries=math.inf).refresh().retries == -1
    assert small.enqueue("noop", timeout=MAX_WAIT).refresh().timeout == MAX_WAIT


def test_too_big_log_message_is_cut_with_a_marker_and_the_job_completes(small: Yard) -> None:
    @small.job
    def chatty(job: Any) -> str:
        job.log("é" * 10_000, level="warning")
        job.log("nul\x00 and \ud800 surrogate")
        return "done"

    handle = run(small, chatty.defer())
    job = handle.refresh()
    assert job.status == "completed" and job.result == "done"
    messages = [e["message"] for e in handle.log if e["level"] in ("warning", "info")]
    cut = next(m for m in messages if m.startswith("é"))
    assert len(cut.encode()) <= 80 and cut.endswith("[cut: 20000 bytes, over the limit of 80]")
    assert "nul\\x00 and \\ud800 surrogate" in messages


def test_log_data_over_the_limit_is_refused_in_the_handler(small: Yard) -> None:
    said: list[str] = []

    @small.job
    def logs(job: Any) -> None:
        try:
            job.log("big", data={"x": "y" * 100})
        except InvalidInput as exc:
            said.append(str(exc))

    assert run(small, logs.defer()).refresh().status == "completed"
    assert said == [
        "log data is 108 bytes of JSON, over the limit of 80 bytes"
        " (set [limits] max_log_bytes in jobyard.toml)"
    ]


def test_result_over_the_limit_fails_the_job_with_a_clear_error(small: Yard) -> None:
    @small.job(retry=3)
    def big(job: Any) -> str:
        return "x" * 200

    @small.job
    def nul(job: Any) -> str:
        return "a\x00b"

    first, second = run(small, big.defer()), run(small, nul.defer())
    job = first.refresh()
    assert job.status == "failed" and job.attempts == 1  # fatal: retrying gives the same
    assert job.error == (
        "result is 202 bytes of JSON, over the limit of 100 bytes"
        " (set [limits] max_result_bytes in jobyard.toml)"
    )
    assert second.refresh().error == "result cannot hold NUL characters (\\u0000)"


@pytest.mark.parametrize("name", ["a\x00", "b\ud800", "x" * 201])
def test_an_event_name_every_backend_can_store_or_a_clear_error(yard: Yard, name: str) -> None:
    with pytest.raises(InvalidInput, match="event name"):
        yard.emit(name, {})
    assert yard.store.recent_events(10) == []  # nothing half-written
