"""A local stand-in for slack.com/api (a real HTTP server in a thread) that records every
Web API call, and helpers that sign requests the way Slack does."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jobyard.slack.signature import sign

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token-0000"


@dataclass
class ApiCall:
    method: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeSlack:
    url: str
    calls: list[ApiCall] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # method -> Slack's error code
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: int = 0

    def next_ts(self) -> str:
        self._ts += 1
        return f"1700000000.{self._ts:06d}"

    def of(self, method: str) -> list[ApiCall]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def thread(self, ts: str) -> list[str]:
        """The texts posted in the thread of ``ts``, in order."""
        return [
            c.body["text"] for c in self.of("chat.postMessage") if c.body.get("thread_ts") == ts
        ]

    def wait_thread(self, ts: str, predicate: Any, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = self.thread(ts)
            if predicate(texts):
                return texts
            time.sleep(0.05)
        raise AssertionError(f"thread {ts} has {self.thread(ts)}")


def start_fake_slack() -> tuple[FakeSlack, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakeSlack(f"http://127.0.0.1:{server.server_address[1]}/api")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            method = self.path.rsplit("/", 1)[-1]
            body = json.loads(raw)
            with fake.lock:
                fake.calls.append(ApiCall(method, dict(self.headers), body))
                error = fake.errors.get(method)
                answer: dict[str, Any] = {"ok": error is None}
                if error:
                    answer["error"] = error
                elif method == "chat.postMessage":
                    answer.update(ts=fake.next_ts(), channel=body.get("channel"))
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake, server = start_fake_slack()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``."""
    ts = str(int(time.time() if at is None else at))
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(secret, ts, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def command_body(text: str, user: str = "U0ALICE", **extra: str) -> bytes:
    fields = {
        "command": "/jobyard",
        "text": text,
        "user_id": user,
        "channel_id": "C0OPS",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team_id": "T0001",
        **extra,
    }
    return urllib.parse.urlencode(fields).encode()


def interactive_body(payload: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
