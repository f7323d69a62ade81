"""`jobyard web` stops promptly on SIGTERM even while event streams are open: uvicorn's
graceful shutdown gives open requests a few seconds (cli.web.SHUTDOWN_GRACE), then closes
them; without the bound an SSE client kept the server up for ever."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from jobyard.cli.web import SHUTDOWN_GRACE
from tests.e2e.test_remote_worker import Server
from tests.helpers import run_cli

pytestmark = [pytest.mark.slow]


def test_sigterm_with_open_event_streams(tmp_path: Path) -> None:
    server = Server(tmp_path)
    server.start()
    try:
        out = run_cli(server.env, "token", "create", "--name", "watcher", "--role", "viewer")
        assert out.returncode == 0, out.stderr
        headers = {"Authorization": f"Bearer {out.stdout.strip()}"}
        opened = threading.Event()
        ended: list[float] = []

        def watch() -> None:
            try:
                with httpx.stream(
                    "GET", f"{server.url}/api/v1/stream", headers=headers, timeout=30
                ) as r:
                    assert r.status_code == 200
                    opened.set()
                    for _ in r.iter_lines():
                        pass
            except httpx.HTTPError:
                pass
            ended.append(time.monotonic())

        watchers = [threading.Thread(target=watch, daemon=True) for _ in range(3)]
        for t in watchers:
            t.start()
        assert opened.wait(10)
        time.sleep(0.5)
        assert server.proc is not None
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        rc = server.proc.wait(SHUTDOWN_GRACE + 10)
        took = time.monotonic() - t0
        assert took < SHUTDOWN_GRACE + 5, f"shutdown took {took:.1f}s"
        assert rc in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
        for t in watchers:
            t.join(5)
        assert len(ended) == 3  # every stream was closed by the server
    finally:
        server.stop()
        server.yard.close()
