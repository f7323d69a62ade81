"""bench/transitions.py as docs/benchmarks.md runs it: with and without the named
triggers, on both backends (its own PostgreSQL databases, dropped after), one line each."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.pgfixtures import PG_ADMIN_URL as PG

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]
LINE = re.compile(r"^(sqlite|postgres):\s+([\d,]+) jobs/s with them, ([\d,]+) without \(")


@pytest.mark.parametrize("mode", ["--single", "--enqueue-only"])
def test_it_measures_with_and_without_the_trigger(mode: str, pg_admin: object) -> None:
    args = [mode, "--drop", "job_created", "--jobs", "300", "--rounds", "1", "--pg", PG]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "transitions.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 0, proc.stderr
    found = {m[1]: (m[2], m[3]) for m in map(LINE.match, proc.stdout.splitlines()) if m}
    assert set(found) == {"sqlite", "postgres"}, proc.stdout
    assert all(
        int(a.replace(",", "")) > 0 and int(b.replace(",", "")) > 0 for a, b in found.values()
    )
    word = "single enqueue" if mode == "--single" else "bulk enqueue"
    assert proc.stdout.startswith(f"{word} of 300 jobs"), proc.stdout
