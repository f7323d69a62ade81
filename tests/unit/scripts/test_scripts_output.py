"""Line splitting of script output, limits from the config, and the Python helper's
stderr fallback (no socket): what it writes parses back as the same calls."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from jobyard.scripts.output import MAX_LINE, Limits, decode, lines
from jobyard.scripts.protocol import Call, parse_line


def split(chunks: list[bytes]) -> list[bytes]:
    async def go() -> list[bytes]:
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        return [line async for _, line in lines(reader)]

    return asyncio.run(go())


def test_lines_across_chunks_crlf_and_a_last_unterminated_line() -> None:
    assert split([b"a\r\nb", b"c\n\nd"]) == [b"a", b"bc", b"", b"d"]
    assert split([]) == []


def test_overlong_lines_are_cut() -> None:
    out = split([b"x" * (MAX_LINE * 2 + 10) + b"\nend\n"])
    assert [len(x) for x in out] == [MAX_LINE, MAX_LINE, 10, 3]


def test_bad_bytes_are_replaced() -> None:
    assert decode(b"caf\xe9 \xff ok") == "caf\ufffd \ufffd ok"


def test_limits_come_from_the_limits_section() -> None:
    assert Limits.from_config({}) == Limits(10_000, 1_000_000, 2.0)
    raw = {"limits": {"script_log_lines": 50, "script_log_bytes": 4096, "script_kill_grace": 0.5}}
    assert Limits.from_config(raw) == Limits(50, 4096, 0.5)
    assert Limits.from_config({"limits": {"script_log_lines": -1}}).lines == 10_000


def test_helper_falls_back_to_stderr_calls() -> None:
    code = (
        "from jobyard import script\n"
        "script.progress(5, 10); script.emit('done', {'n': [1, 'é']});"
        " script.log('hi', 'warning'); script.result(None); print(script.data())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JOBYARD_SOCKET"}
    out = subprocess.run(
        [sys.executable, "-c", code, '{"k": 2}'],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'k': 2}"
    calls = [parse_line(line) for line in out.stderr.splitlines()]
    assert calls == [
        Call("progress", [5.0, 10.0]),
        Call("emit", ["done", {"n": [1, "é"]}]),
        Call("log", ["hi", "warning"]),
        Call("result", [None]),
    ]
