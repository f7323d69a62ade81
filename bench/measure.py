"""What bench/run.py measures, the same way for every system: worker processes, drain, latency.

A drain enqueues N jobs with no worker running, then starts the workers; the probe (probe.py,
Redis) records every job's end in the executing process. Two figures come out of it:

* ``rate``: N / (spawn of the workers -> last job done) — start-up included, the measure of
  "enqueue N, then time from the workers' start to the last job done";
* ``steady_rate``: N / (first job start -> last job done) — the pace once running.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import probe
from common import BENCH_DIR, Adapter, WorkerSpec, payload

# Measured is measured: past this a worker's graceful shutdown only costs time (some peers
# take 10 s), and the next run starts from a wiped system anyway.
STOP_GRACE = 2.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class PhaseTimeout(Exception):
    pass


class DrainFailed(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise ``PhaseTimeout`` in the main thread if the block runs longer than ``seconds``."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise PhaseTimeout(f"{what} took longer than {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class WorkerGroup:
    """Worker commands started in their own process groups, so they can be stopped whole."""

    live: list[WorkerGroup] = []  # for the atexit / signal clean-up

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[tuple[WorkerSpec, subprocess.Popen[bytes], Path]] = []

    def start(self, specs: list[WorkerSpec]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self not in WorkerGroup.live:
            WorkerGroup.live.append(self)
        for spec in specs:
            log_path = self.log_dir / f"{spec.label}.log"
            with open(log_path, "ab") as out:
                out.write(f"$ {shlex.join(spec.argv)}\n".encode())
                out.flush()
                proc = subprocess.Popen(
                    spec.argv,
                    env={**os.environ, **spec.env},
                    cwd=BENCH_DIR,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: pgid == pid
                )
            self.procs.append((spec, proc, log_path))

    def dead(self) -> list[str]:
        """Descriptions of worker commands that exited (they should run until stopped)."""
        return [
            f"{spec.label} exited with {proc.returncode}; log:\n{tail(log_path)}"
            for spec, proc, log_path in self.procs
            if proc.poll() is not None
        ]

    def kill(self, index: int) -> float:
        """SIGKILL the whole process group of command ``index``; the time of the kill."""
        _, proc, _ = self.procs[index]
        at = time.time()
        killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        return at

    def stop(self, grace: float = 10.0) -> None:
        for _, proc, _ in self.procs:
            killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, proc, _ in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _, proc, _ in self.procs:
            killpg(proc.pid, signal.SIGKILL)  # stragglers, orphaned children
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()
        if self in WorkerGroup.live:
            WorkerGroup.live.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for group in list(cls.live):
            group.stop(grace=3.0)


def killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join("    " + line for line in text[-lines:])


@dataclass
class Limits:
    startup: float = 120.0  # no job done this long after spawning: failed
    stall: float = 60.0  # no progress this long: failed


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def drain(
    adapter: Adapter,
    workers: WorkerGroup,
    probe_redis: Any,
    body_redis: Any,
    jobs: int,
    limits: Limits,
) -> dict[str, Any]:
    """One drain of ``jobs`` pre-enqueued jobs by freshly started workers (stopped after)."""
    adapter.reset()
    probe.reset(probe_redis)
    body_redis.delete(probe.BODY_KEY)
    t0 = time.perf_counter()
    for batch in chunks([payload(i) for i in range(jobs)], 1000):
        adapter.enqueue_bulk(batch)
    prefill = time.perf_counter() - t0
    pending = adapter.pending_count()
    if pending is not None and pending != jobs:
        raise DrainFailed(f"{pending} jobs pending after enqueueing {jobs}")
    spawned = time.time()
    workers.start(adapter.worker_specs())
    try:
        state = _wait_drained(adapter, workers, probe_redis, jobs, limits)
    finally:
        workers.stop(grace=STOP_GRACE)
    wall, steady = state.last - spawned, state.last - state.first
    return {
        "n": jobs,
        "processed": state.count,
        "prefill_seconds": prefill,
        "startup_seconds": state.first - spawned,
        "wall_seconds": wall,
        "rate": jobs / wall,
        "steady_rate": jobs / steady if steady > 0 else math.inf,
        "executing_processes": len(state.pids),
        "body_calls": int(body_redis.get(probe.BODY_KEY) or 0),  # INCRs made (incr body)
    }


def _wait_drained(
    adapter: Adapter, workers: WorkerGroup, probe_redis: Any, jobs: int, limits: Limits
) -> probe.DrainState:
    last_count, last_progress = 0, time.monotonic()
    while True:
        time.sleep(0.05)  # only delays detection: the times come from the probe
        state = probe.read_drain(probe_redis)
        if state.count >= jobs:
            return state
        now = time.monotonic()
        if state.count != last_count:
            last_count, last_progress = state.count, now
        problem = None
        if dead := workers.dead():
            problem = "worker died during drain: " + "\n".join(dead)
        elif state.count == 0 and now - last_progress > limits.startup:
            problem = f"no job ran within {limits.startup:.0f}s of starting workers"
        elif state.count and now - last_progress > limits.stall:
            problem = f"drain stalled at {state.count}/{jobs} for {limits.stall:.0f}s"
        if problem:
            with contextlib.suppress(Exception):
                problem += f" (system's own job counts: {adapter.describe_state()})"
            raise DrainFailed(problem)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency(
    adapter: Adapter, workers: WorkerGroup, probe_redis: Any, samples: int, spacing: float
) -> dict[str, Any]:
    """Enqueue -> handler start, ``samples`` jobs one at a time to idle, running workers."""
    adapter.reset()
    probe_redis.delete(probe.LAT_KEY)
    workers.start(adapter.worker_specs())
    try:
        _warm_up(adapter, workers, probe_redis)
        values: list[float] = []
        missing = 0
        rng = random.Random(42)
        for sid in range(1, samples + 1):
            time.sleep(spacing * rng.uniform(0.5, 1.5))  # idle workers, no phase lock
            t0 = time.time()
            adapter.enqueue_latency(sid)
            started = _await_sample(probe_redis, sid, timeout=10.0)
            if started is None:
                missing += 1
                if dead := workers.dead():
                    raise RuntimeError("worker died during latency test: " + "\n".join(dead))
            else:
                values.append((started - t0) * 1000)
    finally:
        workers.stop(grace=STOP_GRACE)
    if not values:
        raise RuntimeError("no latency sample arrived")
    ordered = sorted(values)
    return {
        "n": len(values),
        "missing": missing,
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
        "samples_ms": values,
    }


def _warm_up(adapter: Adapter, workers: WorkerGroup, probe_redis: Any) -> None:
    """Sample 0 waits for the workers to be up (its latency includes start-up: not kept)."""
    adapter.enqueue_latency(0)
    if _await_sample(probe_redis, 0, timeout=120.0) is None:
        raise RuntimeError("workers ran no job within 120 s: " + "\n".join(workers.dead()))
    time.sleep(1.0)  # let every worker go idle (and finish connecting)


def _await_sample(probe_redis: Any, sid: int, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        item = probe_redis.blpop(probe.LAT_KEY, timeout=max(1, math.ceil(left)))
        if item is None:
            continue
        got_sid, started = item[1].decode().split()
        if int(got_sid) == sid:  # late arrivals of earlier, timed-out samples are dropped
            return float(started)
    return None
