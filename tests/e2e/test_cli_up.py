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
from tests.apiserver import free_port
from tests.helpers import ROOT, cli_env, until


def test_up_stops_when_a_worker_exits_with_a_usage_error(tmp_path: Path) -> None:
    # "tests.e2e" imports fine but defines no job type: every worker exits 2 at once
    # ("no job types loaded"); up used to restart it every second, forever.
    env = cli_env(tmp_path / "up.db", "tests.e2e")
    started = time.monotonic()
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "jobyard",
                "up",
                "--no-examples",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{free_port()}",
            ],
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


def test_up_serves_the_web_ui_with_the_example_jobs_and_a_setup_link(tmp_path: Path) -> None:
    import re

    import httpx

    port = free_port()
    env = cli_env(tmp_path / "up.db", "")
    env.pop("JOBYARD_APP")
    log = open(tmp_path / "up.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "up", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        until(lambda: "web UI and API at" in (tmp_path / "up.log").read_text(), timeout=30)
        text = (tmp_path / "up.log").read_text()
        link = re.search(r"http://127\.0\.0\.1:\d+/setup\?token=(\S+)", text)
        assert link, text
        assert httpx.get(f"{base}/api/v1/jobs").status_code == 401  # auth is on by default
        body = {"token": link.group(1), "username": "root", "password": "correct horse"}
        assert httpx.post(f"{base}/api/v1/setup", json=body).status_code == 201
        with httpx.Client() as c:
            r = c.post(
                f"{base}/api/v1/login", json={"username": "root", "password": "correct horse"}
            )
            assert r.status_code == 200

            def some_completed() -> bool:
                jobs = c.get(f"{base}/api/v1/jobs?status=completed").json()["jobs"]
                return len(jobs) > 0

            until(some_completed, timeout=60, interval=0.5)
            assert "Dashboard" in c.get(f"{base}/").text
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
    assert proc.returncode == 0, (tmp_path / "up.log").read_text()
