"""Kill workers while they drain: no job is lost, and duplicates only come from kills."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from jobyard import Yard
from tests.chaos import app

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "jobyard.toml"
    # Short leases so killed work is rescued fast; a generous quarantine because a kill
    # also interrupts prefetched jobs that never started.
    path.write_text("[worker]\nlease = 2.0\nheartbeat = 0.5\nquarantine_after = 50\n")
    return path


def _spawn(url: str, config: Path, log: Path, n: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JOBYARD_DB": url,
        "JOBYARD_APP": "tests.chaos.app",
        "CHAOS_LOG": str(log),
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobyard",
            "--config",
            str(config),
            "worker",
            "-n",
            f"chaos-{n}",
            "-c",
            "4",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _drain_under_fire(
    url: str,
    tmp_path: Path,
    sig: signal.Signals,
    jobs: int = 5000,
) -> tuple[dict[int, list[tuple[int, int]]], set[int], Yard]:
    config = _config(tmp_path)
    log = tmp_path / "runs.log"
    yard = Yard(url)
    for jt in app.yard.types.values():
        yard.types[jt.name] = jt
    ids = yard.enqueue_many("chaos", [{"ms": 15} for _ in range(jobs)])
    assert len(ids) == jobs
    workers = {n: _spawn(url, config, log, n) for n in range(3)}
    signalled: set[int] = set()
    counter = 3
    deadline = time.monotonic() + 240
    rng = random.Random(7)
    try:
        while yard.count(status="completed") < jobs:
            assert time.monotonic() < deadline, f"stuck at {yard.count(status='completed')}"
            time.sleep(2)
            victim = rng.choice(sorted(workers))
            proc = workers.pop(victim)
            signalled.add(proc.pid)
            proc.send_signal(sig)
            if sig == signal.SIGTERM:
                proc.wait(60)
            workers[counter] = _spawn(url, config, log, counter)
            counter += 1
    finally:
        for proc in workers.values():
            proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            proc.wait(60)
    runs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for line in log.read_text().splitlines():
        job_id, pid, attempt = map(int, line.split())
        runs[job_id].append((pid, attempt))
    assert set(runs) == set(ids), "some job never ran"
    assert yard.count(status="completed") == jobs
    assert yard.count() == jobs
    return runs, signalled, yard


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_loses_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    runs, killed, yard = _drain_under_fire(url, tmp_path, signal.SIGKILL)
    duplicated = {j: r for j, r in runs.items() if len(r) > 1}
    for job_id, executions in duplicated.items():
        # Every execution but the one that counted ran in a worker we killed.
        assert all(pid in killed for pid, _ in executions[:-1]), (job_id, executions)
    assert len(killed) >= 2
    yard.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigterm_loses_and_duplicates_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    runs, stopped, yard = _drain_under_fire(url, tmp_path, signal.SIGTERM, jobs=3000)
    counts = Counter(len(r) for r in runs.values())
    assert counts == {1: 3000}, counts
    assert len(stopped) >= 2
    yard.close()
