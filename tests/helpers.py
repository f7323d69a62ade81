"""Small helpers shared by the test layers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {predicate}")


ROOT = Path(__file__).resolve().parents[1]


def cli_env(db_path: object, app: str) -> dict[str, str]:
    """Environment for a ``jobyard`` subprocess on a SQLite file, loading ``app``."""
    return {
        **os.environ,
        "JOBYARD_DB": f"sqlite:///{db_path}",
        "JOBYARD_APP": app,
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "200",
    }


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m jobyard ARGS`` from the repository root; capture text output."""
    return subprocess.run(
        [sys.executable, "-m", "jobyard", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
