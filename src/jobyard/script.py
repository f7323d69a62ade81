"""Helpers for Python scripts run as jobyard script jobs::

    from jobyard import script

    data = script.data()                 # the job data (JOBYARD_DATA; stdin has it too)
    script.progress(5, 10)
    script.log("halfway", "success")
    script.emit("backup.done", {"size": 42})
    script.result({"files": 3})

Calls go over the run's unix socket (``JOBYARD_SOCKET``); without one (run by hand, or an
old worker) they are written to stderr as ``>>> jobyard.NAME(ARGS)`` lines instead.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

__all__ = [
    "ScriptCallError",
    "call",
    "collection",
    "data",
    "emit",
    "log",
    "progress",
    "result",
]


class ScriptCallError(RuntimeError):
    """The worker refused a call (bad arguments, an emit over the chain limit, ...)."""


class _Channel:
    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.reader: Any = None

    def open(self) -> bool:
        if self.sock is not None:
            return True
        path = os.environ.get("JOBYARD_SOCKET")
        if not path:
            return False
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
        except OSError:
            return False
        self.sock, self.reader = sock, sock.makefile("rb")
        return True

    def send(self, name: str, args: list[Any]) -> Any:
        assert self.sock is not None
        line = json.dumps({"call": name, "args": args}, allow_nan=False) + "\n"
        self.sock.sendall(line.encode())
        answer = self.reader.readline()
        if not answer:
            raise ScriptCallError(f"{name}(): the worker closed the connection")
        reply = json.loads(answer)
        if not reply.get("ok"):
            raise ScriptCallError(f"{name}(): {reply.get('error')}")
        return reply.get("value")


_channel = _Channel()


def call(name: str, *args: Any) -> Any:
    """Make a call by name; returns the worker's answer (the socket) or None (stderr)."""
    if _channel.open():
        return _channel.send(name, list(args))
    text = ", ".join(json.dumps(a, allow_nan=False) for a in args)
    sys.stdout.flush()  # keep the order of output and calls
    sys.stderr.write(f">>> jobyard.{name}({text})\n")
    sys.stderr.flush()
    return None


def data() -> Any:
    """The job data: env JOBYARD_DATA as the worker passes it (the same JSON is on stdin);
    for a script run by hand without it, argv[1] (or null)."""
    text = os.environ.get("JOBYARD_DATA")
    if text is None:
        text = sys.argv[1] if len(sys.argv) > 1 else "null"
    return json.loads(text)


def progress(current: float, total: float | None = None) -> None:
    if total is None:
        call("progress", current)
    else:
        call("progress", current, total)


def emit(event: str, payload: Any = None) -> Any:
    """Emit an event: types listening on it get a job with ``payload`` as data."""
    return call("emit", event, payload)


def log(message: str, level: str = "info") -> None:
    call("log", message, level)


class collection:  # lower case: reads like Sooner's queue("name")
    """A named item collection (needs the socket: answers come back over it).

    ``script.collection("profiles").insert({"name": "x"}, "new")``, ``.get(id)``,
    ``.update(id, status=..., data=...)``, ``.delete(id)``,
    ``.find(status=..., where={...}, order_by=..., limit=..., offset=...)``, ``.count(...)``.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def _call(self, method: str, *args: Any) -> Any:
        if not _channel.open():
            raise ScriptCallError("collections need the worker's socket (JOBYARD_SOCKET)")
        return _channel.send("collection", [self.name, method, *args])

    def insert(self, data: Any, status: str = "new") -> Any:
        return self._call("insert", data, status)

    def get(self, item_id: int) -> Any:
        return self._call("get", item_id)

    def update(self, item_id: int, **changes: Any) -> Any:
        return self._call("update", item_id, changes)

    def delete(self, item_id: int) -> Any:
        return self._call("delete", item_id)

    def find(self, **options: Any) -> Any:
        return self._call("find", options)

    def count(self, **options: Any) -> Any:
        return self._call("count", options)


def result(value: Any) -> None:
    """The job's result, kept when the script exits 0."""
    call("result", value)
