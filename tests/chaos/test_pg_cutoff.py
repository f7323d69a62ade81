"""Cut one worker off from PostgreSQL for longer than its lease.

The cut-off worker cannot renew its leases, so another worker rescues its jobs. Before that
can happen, the cut-off worker must give its own jobs up: its runs stop (an async handler is
cancelled) and it records nothing for them when the network comes back. Each job then
completes exactly once, by the worker that still had the lease.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.chaos.procs import chaos_yard, spawn_worker, stop_all, wait_for, worker_errors
from tests.chaos.test_kill_workers import Runs
from tests.faultpg import PrivatePostgres, Proxy

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

LEASE = 2.0
JOBS = 4


def _spawn(url: str, tmp_path: Path, logs: Path, name: str) -> subprocess.Popen[str]:
    config = tmp_path / "jobyard.toml"
    config.write_text(f"[worker]\nlease = {LEASE}\nheartbeat = 0.4\n")
    return spawn_worker(url, config, logs, name, "-c", str(JOBS), "--prefetch", "0")


def test_a_cut_off_worker_gives_its_jobs_up(private_pg: PrivatePostgres, tmp_path: Path) -> None:
    url = private_pg.create_database("cutoff")
    yard = chaos_yard(url)
    logs = tmp_path / "runs"
    logs.mkdir()
    proxy = Proxy(private_pg.port)
    cut = _spawn(proxy.url("cutoff"), tmp_path, logs, "cut")
    other: subprocess.Popen[str] | None = None
    try:
        wait_for(
            lambda: yard.store.execute("list_workers").fetchall(), 30, "worker 'cut' never came"
        )
        ids = [yard.enqueue("chaos_async", {"ms": 8000}).id for _ in range(JOBS)]
        wait_for(lambda: yard.count(status="running") == JOBS, 30, "'cut' did not start the jobs")
        runs = Runs(signalled=set())
        runs.read(logs)
        assert set(runs.starts) == set(ids)
        proxy.pause()
        other = _spawn(url, tmp_path, logs, "other")
        # 'other' rescues the jobs once their leases are past, and runs them to the end.
        wait_for(lambda: yard.count(status="completed") == JOBS, 60, "the jobs never completed")
        proxy.resume()
        time.sleep(2 * LEASE)  # 'cut' may now report whatever it still holds
        runs = Runs(signalled=set())
        runs.read(logs)
        assert cut.poll() is None, f"'cut' exited: {worker_errors(logs, 'cut')}"
        for job_id in ids:
            job = yard.get(job_id).job
            assert job.status == "completed"
            assert job.worker == "other", (job_id, job.worker)
            pids = [pid for pid, _ in runs.starts[job_id]]
            assert pids == [cut.pid, other.pid], (job_id, runs.starts[job_id])
        # The cut-off worker stopped its runs: none of them reached its end.
        assert not any(pid == cut.pid for _, pid, _ in runs.ended), runs.ended
    finally:
        proxy.resume()
        stop_all(p for p in (cut, other) if p is not None)
        proxy.close()
        yard.close()
