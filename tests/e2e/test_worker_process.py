"""A real ``jobyard worker`` process: the second signal is a hard shutdown, and log levels
written by a handler are shown by ``jobyard job log`` (issue #7 §6)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobyard.model import LOG_LEVELS
from tests.helpers import ROOT, cli_env, run_cli, until


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "worker.db", "tests.e2e.worker_app")


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "-n", "hard", "-c", "1"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )


def show(env: dict[str, str], job_id: str) -> dict[str, object]:
    out = run_cli(env, "job", "show", job_id, "--json")
    assert out.returncode == 0, out.stderr
    found: dict[str, object] = json.loads(out.stdout)
    return found


def test_second_sigterm_hands_the_running_job_back_at_once(env: dict[str, str]) -> None:
    job_id = run_cli(env, "submit", "slow", "seconds=60").stdout.strip()
    proc = start_worker(env)
    try:
        until(lambda: show(env, job_id)["status"] == "running", timeout=30, interval=0.2)
        proc.send_signal(signal.SIGTERM)  # normal: would let the 60 s job run to its end
        time.sleep(0.5)
        assert proc.poll() is None, "the first signal must wait for the running job"
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # hard: hand it back now
        code = proc.wait(timeout=15)
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert took < 10, f"hard shutdown took {took:.1f} s"
    job = show(env, job_id)
    # docs/workers.md: handed back at once, to ready, and the attempt is not counted.
    assert job["status"] == "ready" and job["attempts"] == 0 and job["worker"] is None
    log = json.loads(run_cli(env, "job", "log", job_id, "--json").stdout)
    assert log[-1]["message"] == "Job Handed Back: hard shutdown"
    workers = json.loads(run_cli(env, "workers", "--json").stdout)
    assert [w for w in workers if w["name"] == "hard"] == []  # it removed itself at exit


def test_log_levels_are_shown_by_job_log(env: dict[str, str]) -> None:
    job_id = run_cli(env, "submit", "chatty").stdout.strip()
    proc = start_worker(env)
    try:
        until(lambda: show(env, job_id)["status"] == "completed", timeout=30, interval=0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    entries = json.loads(run_cli(env, "job", "log", job_id, "--json").stdout)
    mine = [(e["level"], e["message"]) for e in entries if e["message"].startswith("a ")]
    assert mine == [(level, f"a {level} line") for level in LOG_LEVELS]
    human = run_cli(env, "job", "log", job_id)
    assert human.returncode == 0, human.stderr
    lines = [line for line in human.stdout.splitlines() if " a " in line]
    assert [line.split()[2] for line in lines] == list(LOG_LEVELS)  # date time LEVEL message
