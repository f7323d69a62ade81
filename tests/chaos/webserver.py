"""A real ``jobyard web`` process for remote workers to talk to, started, restarted and
stopped at will, and the worker tokens it accepts (made with ``jobyard token create``).

    web = WebServer(db_url, tmp, host="10.1.2.1")   # bind: that address, a free port
    web.start(); token = web.token("h1"); web.restart(); web.stop()

Its output goes to ``tmp/server.log``. Used by the remote chaos tests and bench/scaleout.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.faultpg import _free_port
from tests.helpers import ROOT, run_cli


class WebServer:
    def __init__(
        self, db_url: str, tmp: Path, host: str = "127.0.0.1", config: Path | None = None
    ) -> None:
        self.host = host
        self.port = _free_port(host)
        self.base = f"http://{host}:{self.port}"
        self.env = {
            **os.environ,
            "JOBYARD_DB": db_url,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        self.env.pop("JOBYARD_APP", None)  # the workers bring their types when they register
        if config is not None:
            self.env["JOBYARD_CONFIG"] = str(config)
        self.logfile = tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        with open(self.logfile, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jobyard", "web", "--bind", f"{self.host}:{self.port}"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jobyard web exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1, trust_env=False).is_success:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"jobyard web did not come up:\n{self.log_tail()}")

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        """SIGTERM (it finishes the requests under way) and wait; SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def token(self, name: str) -> str:
        """A new worker token named ``name`` (it acts as workers ``name`` and ``name/...``)."""
        made = run_cli(self.env, "token", "create", "--name", name, "--role", "worker")
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text().splitlines()[-lines:])
        except OSError:
            return ""
