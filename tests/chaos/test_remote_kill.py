"""Remote workers under fire: `jobyard worker --server` processes (their environment names
a database they cannot reach) drain jobs from a `jobyard web` on PostgreSQL while the test
kill -9s workers and restarts the server. Nothing is lost; a job runs again only when a
kill interrupted it (or killed its unrecorded outcome), never because the server went away.

Each run notes start/end in its process's file (tests/chaos/app.py)."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from jobyard import Yard
from tests.chaos import app
from tests.chaos.procs import spawn_remote_worker
from tests.chaos.test_kill_workers import Runs
from tests.chaos.webserver import WebServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

CONCURRENCY = 4
PER_KILL = CONCURRENCY + 2 * (CONCURRENCY + 16)  # running + held outcomes (prefetch 16)


def spawn(server: WebServer, token: str, logs: Path, n: int) -> subprocess.Popen[str]:
    options = ("-c", str(CONCURRENCY), "--prefetch", "16")
    return spawn_remote_worker(server.base, token, None, logs, f"chaos/{n}", *options)


def test_remote_workers_lose_nothing_under_kills_and_server_restarts(
    postgres_url: str, tmp_path: Path
) -> None:
    jobs = 1500
    logs = tmp_path / "runs"
    logs.mkdir()
    config = tmp_path / "jobyard.toml"
    # The server's settings: it rescues expired leases, and quarantines a job only after 50
    # interruptions (a kill also interrupts prefetched jobs). The workers keep the default
    # lease (10 s): it outlasts a server restart (about 2 s here) and the reconnect backoff
    # after it, so leases never expire just because the server was away.
    config.write_text("[worker]\nlease = 5.0\nheartbeat = 0.5\nquarantine_after = 50\n")
    server = WebServer(postgres_url, tmp_path, config=config)
    yard = Yard(postgres_url)
    for jt in app.yard.types.values():
        yard.registry.add(jt)
    yard.sync_types()
    token = server.token("chaos")
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
