"""Kill workers while they drain: no job is lost, and duplicates only come from kills.

Every run writes ``start`` and ``end`` lines to its process's own file (tests/chaos/app.py),
so the test sees which runs a kill interrupted, not only which ones finished.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobyard import Yard
from tests.chaos import app
from tests.chaos.procs import spawn_worker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

CONCURRENCY = 4
PREFETCH = 8
# What one SIGKILL can make run twice: the runs it interrupts (at most CONCURRENCY at once)
# plus the outcomes finished but not yet recorded. Those are the batch being recorded and
# what finishes while its transaction runs; each is at most the CONCURRENCY + PREFETCH jobs a
# worker holds (claims wait behind the recording on the worker's one database thread).
UNRECORDED = 2 * (CONCURRENCY + PREFETCH)
PER_KILL = CONCURRENCY + UNRECORDED


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "jobyard.toml"
    # Short leases so killed work is rescued fast; a generous quarantine because a kill
    # also interrupts prefetched jobs that never started.
    path.write_text("[worker]\nlease = 2.0\nheartbeat = 0.5\nquarantine_after = 50\n")
    return path


def _spawn(url: str, config: Path, logs: Path, n: int) -> subprocess.Popen[str]:
    options = ("-c", str(CONCURRENCY), "--prefetch", str(PREFETCH))
    return spawn_worker(url, config, logs, f"chaos-{n}", *options)


@dataclass
class Runs:
    """Every run as the job handlers wrote it down, by job and by process."""

    signalled: set[int]  # pids of the workers the test signalled
    starts: dict[int, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    ended: set[tuple[int, int, int]] = field(default_factory=set)  # (job, pid, attempt)

    def read(self, logs: Path) -> None:
        for path in sorted(logs.glob("*.log")):
            for line in path.read_text().splitlines():
                event, job_id, pid, attempt = line.split()
                run = (int(job_id), int(pid), int(attempt))
                if event == "start":
                    self.starts[run[0]].append(run[1:])
                else:
                    assert event == "end", line
                    self.ended.add(run)

    def interrupted(self) -> list[tuple[int, int, int]]:
        """Runs that started and never ended in their process."""
        return [
            (job_id, pid, attempt)
            for job_id, runs in self.starts.items()
            for pid, attempt in runs
            if (job_id, pid, attempt) not in self.ended
        ]

    def duplicates(self) -> int:
        """Runs beyond the first of each job."""
        return sum(len(runs) - 1 for runs in self.starts.values())


def _drain_under_fire(url: str, tmp_path: Path, sig: signal.Signals, jobs: int) -> Runs:
    config = _config(tmp_path)
    logs = tmp_path / "runs"
    logs.mkdir()
    yard = Yard(url)
    for jt in app.yard.types.values():
        yard.types[jt.name] = jt
    ids = yard.enqueue_many("chaos", [{"ms": 15} for _ in range(jobs)])
    assert len(ids) == jobs
    workers = {n: _spawn(url, config, logs, n) for n in range(3)}
    runs = Runs(signalled=set())
    counter = 3
    deadline = time.monotonic() + 240
    rng = random.Random(7)
    try:
        while yard.count(status="completed") < jobs:
            assert time.monotonic() < deadline, f"stuck at {yard.count(status='completed')}"
            time.sleep(2)
            victim = rng.choice(sorted(workers))
            proc = workers.pop(victim)
            runs.signalled.add(proc.pid)
            proc.send_signal(sig)
            if sig == signal.SIGTERM:
                proc.wait(60)
            workers[counter] = _spawn(url, config, logs, counter)
            counter += 1
    finally:
        for proc in workers.values():
            proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            proc.wait(60)
    runs.read(logs)
    try:
        assert set(runs.starts) == set(ids), "some job never ran"
        assert yard.count(status="completed") == jobs
        assert yard.count() == jobs
    finally:
        yard.close()
    return runs


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_loses_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    runs = _drain_under_fire(url, tmp_path, signal.SIGKILL, jobs=5000)
    killed = runs.signalled
    assert len(killed) >= 2
    for job_id, executions in runs.starts.items():
        if len(executions) == 1:
            continue
        # Each claim counts an attempt, so attempts order a job's runs: every one but the
        # last (the one that counted) ran in a worker we killed.
        ordered = sorted(executions, key=lambda run: run[1])
        assert len({a for _, a in ordered}) == len(ordered), (job_id, executions)
        assert all(pid in killed for pid, _ in ordered[:-1]), (job_id, executions)
    # Only kills interrupt runs, and at most CONCURRENCY of them each.
    interrupted = runs.interrupted()
    assert {pid for _, pid, _ in interrupted} <= killed, interrupted
    per_worker = Counter(pid for _, pid, _ in interrupted)
    assert max(per_worker.values(), default=0) <= CONCURRENCY, per_worker
    # The kills hit running jobs (else this test proves nothing about rescue).
    assert len(interrupted) > 0, "no kill interrupted a running job"
    # Every interrupted job ran again elsewhere and completed.
    for job_id, _, _ in interrupted:
        assert len(runs.starts[job_id]) > 1, (job_id, runs.starts[job_id])
    assert runs.duplicates() <= len(killed) * PER_KILL, (runs.duplicates(), len(killed))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigterm_loses_and_duplicates_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    runs = _drain_under_fire(url, tmp_path, signal.SIGTERM, jobs=3000)
    counts = Counter(len(r) for r in runs.starts.values())
    assert counts == {1: 3000}, counts
    # A graceful stop lets every started run finish.
    assert runs.interrupted() == []
    assert len(runs.signalled) >= 2
