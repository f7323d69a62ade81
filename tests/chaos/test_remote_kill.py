"""Remote workers under fire: `jobyard worker --server` processes (their environment names
a database they cannot reach) drain jobs from a `jobyard web` on PostgreSQL while the test
kill -9s workers and restarts the server. Nothing is lost; a job runs again only when a
kill interrupted it (or killed its unrecorded outcome), never because the server went away.

Each run notes start/end in its process's file (tests/chaos/app.py)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobyard import Yard
from tests.apiserver import free_port
from tests.chaos import app
from tests.chaos.test_kill_workers import Runs
from tests.helpers import ROOT, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

CONCURRENCY = 4
PER_KILL = CONCURRENCY + 2 * (CONCURRENCY + 16)  # running + held outcomes (prefetch 16)


class Server:
    def __init__(self, url: str, tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = tmp / "jobyard.toml"
        # The lease outlasts a server restart (about 2 s here): leases must not expire
        # just because the server was away; a killed worker's are rescued after 5 s.
        config.write_text("[worker]\nlease = 5.0\nheartbeat = 0.5\nquarantine_after = 50\n")
        self.env = {
            **os.environ,
            "JOBYARD_DB": url,
            "JOBYARD_CONFIG": str(config),
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("JOBYARD_APP", None)
        self.log = open(tmp / "server.log", "a")  # noqa: SIM115
        self.proc: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "web", "--bind", f"127.0.0.1:{self.port}"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError("the server did not come up")

    def restart(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.log.close()


def spawn(server: Server, token: str, logs: Path, n: int) -> subprocess.Popen[Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JOBYARD_") or k == "JOBYARD_ALLOW_ROOT"
    }
    env.update(
        PYTHONPATH=str(ROOT),
        JOBYARD_APP="tests.chaos.app",
        JOBYARD_DB="postgresql://nobody@127.0.0.1:1/unreachable",
        JOBYARD_TOKEN=token,
        CHAOS_DIR=str(logs),
    )
    cmd = [
        sys.executable,
        "-m",
        "jobyard",
        "worker",
        "--server",
        server.base,
        "-n",
        f"chaos/{n}",
        "-c",
        str(CONCURRENCY),
        "--prefetch",
        "16",
    ]
    out = open(logs.parent / f"worker-{n}.out", "w")  # noqa: SIM115
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def test_remote_workers_lose_nothing_under_kills_and_server_restarts(
    postgres_url: str, tmp_path: Path
) -> None:
    jobs = 1500
    logs = tmp_path / "runs"
    logs.mkdir()
    server = Server(postgres_url, tmp_path)
    yard = Yard(postgres_url)
    for jt in app.yard.types.values():
        yard.registry.add(jt)
    yard.sync_types()
    made = run_cli(server.env, "token", "create", "--name", "chaos", "--role", "worker")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    ids = yard.enqueue_many("chaos", [{"ms": 15} for _ in range(jobs)])
    server.start()
    workers = {n: spawn(server, token, logs, n) for n in range(2)}
    runs = Runs(signalled=set())
    counter, restarts = 2, 0
    rng = random.Random(11)
    deadline = time.monotonic() + 240
    try:
        step = 0
        while yard.count(status="completed") < jobs:
            assert time.monotonic() < deadline, f"stuck at {yard.count(status='completed')}"
            time.sleep(1.5)
            step += 1
            if step % 2:  # a worker dies without a word ...
                victim = rng.choice(sorted(workers))
                proc = workers.pop(victim)
                runs.signalled.add(proc.pid)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                workers[counter] = spawn(server, token, logs, counter)
                counter += 1
            elif restarts < 3:  # ... or the server goes away and comes back
                server.restart()
                restarts += 1
        survivors = [p for p in workers.values() if p.poll() is None]
        assert len(survivors) == len(workers), "a worker died of the restarts"
    finally:
        for proc in workers.values():
            proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            proc.wait(60)
        server.stop()
    runs.read(logs)
    try:
        assert restarts >= 2 and len(runs.signalled) >= 2
        assert set(runs.starts) == set(ids), "some job never ran"
        assert yard.count(status="completed") == jobs == yard.count()
        for job_id, executions in runs.starts.items():
            # every run but the last one was in a worker the test killed
            ordered = sorted(executions, key=lambda run: run[1])
            assert all(pid in runs.signalled for pid, _ in ordered[:-1]), (job_id, executions)
        interrupted = runs.interrupted()
        assert {pid for _, pid, _ in interrupted} <= runs.signalled, interrupted
        assert max(Counter(p for _, p, _ in interrupted).values(), default=0) <= CONCURRENCY
        assert runs.duplicates() <= len(runs.signalled) * PER_KILL
    finally:
        yard.close()
