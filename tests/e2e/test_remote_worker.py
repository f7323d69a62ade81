"""A remote worker as a real process: `jobyard worker --server URL` with a worker token,
in an environment that cannot reach the database (its app module even names one it
cannot open). It runs jobs enqueued on the server (log, progress, emit, jobset storage,
retries); kill -9'd, its job is rescued by the server; the server restarted under it,
it reconnects and loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobyard import Yard
from jobyard.joblog import read_log
from tests.apiserver import free_port
from tests.helpers import ROOT, cli_env, run_cli, until

pytestmark = [pytest.mark.slow]


class Server:
    def __init__(self, tmp: Path) -> None:
        self.db = tmp / "server.db"
        self.env = cli_env(self.db, "")
        self.env.pop("JOBYARD_APP")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[Any] | None = None
        self.yard = Yard(f"sqlite:///{self.db}")
        self.yard.migrate()
        # A short lease so that a killed worker's job is rescued within the test.
        (tmp / "jobyard.toml").write_text("[worker]\nlease = 2.0\nheartbeat = 0.5\n")
        self.env["JOBYARD_CONFIG"] = str(tmp / "jobyard.toml")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "web", "--bind", f"127.0.0.1:{self.port}"],
            env=self.env,
            cwd=ROOT,
        )

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        until(up, timeout=20, interval=0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    s.start()
    yield s
    s.stop()
    s.yard.close()


def worker_env(server: Server, token: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JOBYARD_") or k == "JOBYARD_ALLOW_ROOT"
    }
    env.update(
        PYTHONPATH=str(ROOT),
        JOBYARD_APP="tests.e2e.remote_app",
        JOBYARD_DB="postgresql://nobody@127.0.0.1:1/unreachable",  # must never be opened
        JOBYARD_TOKEN=token,
    )
    return env


def start_worker(server: Server, token: str, name: str) -> subprocess.Popen[Any]:
    log = open(server.db.parent / f"worker-{name.replace('/', '-')}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "--server", server.url, "-n", name, "-c", "2"],
        env=worker_env(server, token),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def worker_log(server: Server, name: str) -> str:
    return (server.db.parent / f"worker-{name.replace('/', '-')}.log").read_text()


def token(server: Server, name: str) -> str:
    out = run_cli(server.env, "token", "create", "--name", name, "--role", "worker")
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def status(server: Server, job_id: int) -> str:
    return server.yard.get(job_id).job.status


def test_a_remote_worker_runs_jobs_and_survives_a_server_restart(server: Server) -> None:
    t = token(server, "rw")
    w = start_worker(server, t, "rw/1")
    try:
        until(lambda: "remote_echo" in server.yard.stored_types(refresh=True), timeout=30)
        y = server.yard
        js = y.create_jobset("demo", "remote")
        a = y.enqueue("remote_echo", {"text": "hi", "steps": 3}, jobset=js)
        b = y.enqueue("remote_flaky", retry={"retries": 1, "wait": 0})
        until(
            lambda: status(server, a.id) == "completed" and status(server, b.id) == "completed",
            timeout=30,
        )
        assert y.get(a.id).job.result == "HI" and y.get(a.id).job.worker == "rw/1"
        assert [e["message"] for e in read_log(y.store, a.id)][1:4] == ["hi 0", "hi 1", "hi 2"]
        assert y.jobset(js).storage[f"seen-{a.id}"] == "hi"
        assert y.get(b.id).job.attempts == 2 and y.get(b.id).job.result == "second try"
        assert any(
            e.name == "remote.done"
            for e in __import__("jobyard.events").events.recent_events(y, None, 10)
        )
        server.stop()  # the server goes away under the worker ...
        c = y.enqueue("remote_echo", {"text": "after"})
        server.start()  # ... and comes back
        until(lambda: status(server, c.id) == "completed", timeout=60)
        assert w.poll() is None  # the worker lived through it
    finally:
        w.send_signal(signal.SIGTERM)
        w.wait(30)
    text = worker_log(server, "rw/1")
    assert w.returncode == 0, text
    assert "never opens the database" not in text and "nobody@" not in text, text


def test_a_killed_remote_workers_job_is_rescued(server: Server) -> None:
    t = token(server, "rw")
    w1 = start_worker(server, t, "rw/1")
    until(lambda: "remote_slow" in server.yard.stored_types(refresh=True), timeout=30)
    h = server.yard.enqueue("remote_slow", {"seconds": 1.5})
    until(lambda: status(server, h.id) == "running", timeout=30)
    w1.send_signal(signal.SIGKILL)
    w1.wait(10)
    w2 = start_worker(server, t, "rw/2")
    try:
        until(lambda: status(server, h.id) == "completed", timeout=60)
        job = server.yard.get(h.id).job
        assert job.worker == "rw/2" and job.interruptions == 1
    finally:
        w2.send_signal(signal.SIGTERM)
        w2.wait(30)


def test_a_worker_token_acts_only_as_its_own_workers(server: Server) -> None:
    t = token(server, "rw")
    h = {"Authorization": f"Bearer {t}"}
    claim = {
        "worker": "someone-else",
        "queues": ["default"],
        "types": ["x"],
        "limit": 1,
        "lease": 10,
    }
    r = httpx.post(f"{server.url}/api/v1/work/claim", headers=h, json=claim)
    assert r.status_code == 403
    r = httpx.post(f"{server.url}/api/v1/work/claim", headers=h, json={**claim, "worker": "rw/a"})
    assert r.status_code == 200 and r.json() == {"jobs": []}
    r = httpx.post(
        f"{server.url}/api/v1/work/1/heartbeat", headers=h, json={"run": "not-mine", "lease": 5}
    )
    assert r.status_code == 409  # a run it does not hold
    assert httpx.get(f"{server.url}/api/v1/jobs", headers=h).status_code == 403
    viewer = run_cli(
        server.env, "token", "create", "--name", "v", "--role", "viewer"
    ).stdout.strip()
    r = httpx.post(
        f"{server.url}/api/v1/work/claim", headers={"Authorization": f"Bearer {viewer}"}, json=claim
    )
    assert r.status_code == 403
