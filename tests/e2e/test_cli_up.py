"""``jobyard up`` and ``jobyard worker`` as real commands: a worker that cannot start stops
``up`` (no restart loop), and the worker's prefetch stays adaptive unless given."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jobyard.cli.main import build
from jobyard.yard import Yard
from tests.helpers import ROOT, cli_env


def test_up_stops_when_a_worker_exits_with_a_usage_error(tmp_path: Path) -> None:
    # "tests.e2e" imports fine but defines no job type: every worker exits 2 at once
    # ("no job types loaded"); up used to restart it every second, forever.
    env = cli_env(tmp_path / "up.db", "tests.e2e")
    started = time.monotonic()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "jobyard", "up", "--no-examples", "--workers", "2"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=40,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"up kept restarting a worker that cannot start: {exc.stderr!r}")
    assert out.returncode == 2, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("jobyard: error: worker ") and "exited with code 2" in last, last
    assert "stopping instead of restarting it" in last
    assert "starting a new one" not in out.stderr
    assert "no job types loaded" in out.stderr  # the worker's own reason is shown too
    assert time.monotonic() - started < 30


def test_worker_leaves_prefetch_adaptive_unless_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    class Fake:
        name = "fake"

        def run(self) -> None:
            return None

    def fake_worker(self: Yard, **options: Any) -> Fake:
        seen.append(options)
        return Fake()

    monkeypatch.setattr(Yard, "worker", fake_worker)
    env = cli_env(tmp_path / "w.db", "tests.e2e.cli_app")
    runner = CliRunner()
    for args in (["worker", "-c", "3"], ["worker", "-c", "3", "--prefetch", "7"]):
        result = runner.invoke(build(), args, env=env)
        assert result.exit_code == 0, result.output
    assert [o["prefetch"] for o in seen] == [None, 7]  # None: the worker adapts (4 x c first)
