"""Worker processes for the chaos tests: real ``jobyard worker`` subprocesses loading
tests/chaos/app.py, each run noted in ``logs`` (see app.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from jobyard import Yard
from tests.chaos import app

ROOT = Path(__file__).resolve().parents[2]


def spawn_worker(
    url: str, config: Path, logs: Path, name: str, *options: str, prefix: Sequence[str] = ()
) -> subprocess.Popen[str]:
    """``jobyard --config CONFIG worker -n NAME OPTIONS...`` on the database at ``url``;
    ``prefix`` goes before it (``ip netns exec NS``: a command that execs the rest)."""
    env = {
        **os.environ,
        "JOBYARD_DB": url,
        "JOBYARD_APP": "tests.chaos.app",
        "CHAOS_DIR": str(logs),
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-m",
            "jobyard",
            "--config",
            str(config),
            "worker",
            "-n",
            name,
            *options,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_all(procs: Iterable[subprocess.Popen[str]], timeout: float = 30) -> None:
    """SIGTERM every process still running, then wait (SIGKILL what does not stop)."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def chaos_yard(url: str) -> Yard:
    """A Yard on ``url`` that knows the chaos job types (to enqueue them)."""
    yard = Yard(url)
    for jt in app.yard.types.values():
        yard.types[jt.name] = jt
    return yard


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
