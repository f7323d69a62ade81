"""Restart a private PostgreSQL server again and again while jobs are enqueued and drained.

Every enqueue the client saw acknowledged must run to completion, and the workers must
reconnect by themselves (none of them exits). The machine's shared server is never touched:
``private_pg`` (tests/faultpg.py) is a cluster of this test's own.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from jobyard import Yard
from jobyard.errors import JobyardError
from tests.chaos import app
from tests.chaos.procs import spawn_worker, stop_all, worker_errors
from tests.faultpg import PrivatePostgres

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

RESTARTS = 4


def _spawn(url: str, tmp_path: Path, logs: Path, n: int) -> subprocess.Popen[str]:
    config = tmp_path / "jobyard.toml"
    config.write_text("[worker]\nlease = 3.0\nheartbeat = 0.5\nquarantine_after = 50\n")
    return spawn_worker(url, config, logs, f"restart-{n}", "-c", "4")


class Producer(threading.Thread):
    """Enqueues one job at a time; an id counts only once the call returned it."""

    def __init__(self, url: str) -> None:
        super().__init__(name="producer", daemon=True)
        self.url = url
        self.acked: list[int] = []
        self.refused = 0
        self.crash: BaseException | None = None
        self.last_ack = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        yard = Yard(self.url)
        for jt in app.yard.types.values():
            yard.types[jt.name] = jt
        try:
            while not self.stop.is_set():
                try:
                    self.acked.append(yard.enqueue("chaos", {"ms": 5}).id)
                    self.last_ack = time.monotonic()
                except JobyardError:
                    self.refused += 1  # the server is down: a clear error, never a lost ack
                    time.sleep(0.1)
                time.sleep(0.01)
        except BaseException as exc:  # a raw driver error: the test reports it
            self.crash = exc
        finally:
            yard.close()


def test_restarts_lose_no_acknowledged_job(private_pg: PrivatePostgres, tmp_path: Path) -> None:
    url = private_pg.create_database("chaos")
    Yard(url).close()  # create the schema before anyone races for it
    logs = tmp_path / "runs"
    logs.mkdir()
    workers = [_spawn(url, tmp_path, logs, n) for n in range(2)]
    producer = Producer(url)
    producer.start()
    try:
        for _ in range(RESTARTS):
            time.sleep(2)
            private_pg.restart("fast")
        restarted = time.monotonic()
        time.sleep(2)
        producer.stop.set()
        producer.join(30)
        assert not producer.is_alive()
        assert producer.crash is None, f"enqueue raised {producer.crash!r}"
        assert producer.last_ack > restarted, "no enqueue succeeded after the last restart"
        assert len(producer.acked) > 50, "the producer barely ran"
        yard = Yard(url)
        try:
            deadline = time.monotonic() + 90
            while yard.count(status="completed") < len(producer.acked):
                dead = [w.returncode for w in workers if w.poll() is not None]
                assert not dead, f"a worker exited: {dead}: " + "\n".join(
                    worker_errors(logs, f"restart-{n}") for n in range(len(workers))
                )
                assert time.monotonic() < deadline, (
                    f"{yard.count(status='completed')} of {len(producer.acked)} completed"
                )
                time.sleep(0.5)
            done = {j.id for j in yard.jobs(status="completed", limit=100000)}
            assert set(producer.acked) <= done
        finally:
            yard.close()
        assert all(w.poll() is None for w in workers), "a worker did not survive the restarts"
    finally:
        producer.stop.set()
        stop_all(workers)
