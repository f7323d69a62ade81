"""The script call protocol: ``>>>`` stderr lines and socket requests, parsed, never run."""

from __future__ import annotations

import json

import pytest

from jobyard.scripts.protocol import (
    Call,
    CallError,
    is_call_line,
    parse_line,
    parse_request,
    reply,
)


@pytest.mark.parametrize(
    ("line", "call"),
    [
        (">>> sooner.progress(5,10)", Call("progress", [5.0, 10.0])),
        (">>> jobyard.progress(50)", Call("progress", [50.0])),
        ('>>> sooner.emit("foo","x")', Call("emit", ["foo", "x"])),
        ('>>> sooner.emit("foo-event")', Call("emit", ["foo-event", None])),
        ('>>> jobyard.emit("e", {"a": [1, 2]})', Call("emit", ["e", {"a": [1, 2]}])),
        ('>>> jobyard.log("hi", "success")', Call("log", ["hi", "success"])),
        (">>> jobyard.log(42)", Call("log", ["42", "info"])),
        (">>> jobyard.result(null)", Call("result", [None])),
        ('>>> jobyard.result({"n": 1})\r', Call("result", [{"n": 1}])),
    ],
)
def test_valid_calls(line: str, call: Call) -> None:
    assert is_call_line(line)
    assert parse_line(line) == call


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (">>> sooner.progress(oops)", "not JSON"),
        (">>> sooner.progress('5')", "not JSON"),
        (">>> jobyard.progress(5", "expected >>> jobyard.NAME"),
        (">>> jobyard.progress(NaN)", "not JSON"),
        (">>> jobyard.progress(-1)", ">= 0"),
        (">>> jobyard.progress(true)", "must be a number"),
        (">>> jobyard.progress(1, 2, 3)", "1 to 2 argument"),
        (">>> jobyard.emit()", "1 to 2 argument"),
        (">>> jobyard.emit(5)", "needs an event name"),
        ('>>> jobyard.log("x", "loud")', "log level must be one of"),
        (">>> jobyard.result()", "takes 1 argument"),
        (">>> jobyard.shell(1)", "unknown call 'shell'"),
        (">>> jobyard.progress(1], [2)", "not JSON"),
        (">>> jobyard.log(__import__('os').system('touch /tmp/pwned'))", "not JSON"),
        (">>> jobyard.result(" + "[" * 5000 + "]" * 5000 + ")", "nested too deeply"),
    ],
)
def test_malformed_calls_raise_call_error(line: str, message: str) -> None:
    with pytest.raises(CallError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_line(line)


def test_only_the_two_prefixes_are_calls() -> None:
    assert not is_call_line(">>> print(1)")
    assert not is_call_line("  >>> jobyard.progress(1)")
    assert not is_call_line("jobyard.progress(1)")


def test_socket_requests() -> None:
    assert parse_request(b'{"call": "progress", "args": [5, 10]}\n') == Call("progress", [5, 10])
    assert parse_request(b'{"call": "result", "args": [[1]]}') == Call("result", [[1]])
    for raw, message in [
        (b"garbage", "not JSON"),
        (b"[1, 2]", "a request is a JSON object"),
        (b'{"args": []}', 'no "call"'),
        (b'{"call": "progress", "args": 5}', "must be a JSON array"),
        (b'{"call": "progress", "args": []}', "1 to 2 argument"),
        (b"\xff\xfe", "not JSON"),
    ]:
        with pytest.raises(CallError, match=message):
            parse_request(raw)


def test_replies_are_json_lines() -> None:
    assert json.loads(reply(True)) == {"ok": True}
    assert json.loads(reply(True, {"event": 3})) == {"ok": True, "value": {"event": 3}}
    assert json.loads(reply(False, error="bad")) == {"ok": False, "error": "bad"}
    assert reply(True).endswith(b"\n")
