"""The real ``jobyard`` command in subprocesses: exit codes, output, errors without tracebacks."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import cli_env, run_cli, until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "cli.db", "tests.e2e.cli_app")


run = run_cli


@pytest.fixture
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "-n", "e2e", "-c", "2"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_submit_wait_prints_result(env: dict[str, str], worker: subprocess.Popen[str]) -> None:
    out = run(env, "submit", "add", "a=2", "b=3", "--wait")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0].isdigit() and json.loads(lines[1]) == 5


def test_submit_wait_failed_job_exits_1(env: dict[str, str], worker: subprocess.Popen[str]) -> None:
    out = run(env, "submit", "boom", "--wait")
    assert out.returncode == 1
    assert "failed: RuntimeError: kaboom" in out.stderr
    assert "Traceback" not in out.stderr


def test_list_show_log_and_manage(env: dict[str, str]) -> None:
    first = run(env, "submit", "add", "a=1", "b=1", "--priority", "high", "--delay", "60")
    assert first.returncode == 0, first.stderr
    job_id = first.stdout.strip()
    listed = json.loads(run(env, "jobs", "--json").stdout)
    assert [j["id"] for j in listed] == [int(job_id)]
    assert listed[0]["status"] == "waiting" and listed[0]["priority"] == -10
    shown = json.loads(run(env, "job", "show", job_id, "--json").stdout)
    assert shown["data"] == {"a": 1, "b": 1} and shown["type"] == "add"
    assert run(env, "job", "pause", job_id).returncode == 0
    again = run(env, "job", "pause", job_id)
    assert again.returncode == 2
    assert "cannot pause job" in again.stderr and "it is paused" in again.stderr
    assert run(env, "job", "cancel", job_id).returncode == 0
    log = json.loads(run(env, "job", "log", job_id, "--json").stdout)
    assert [e["message"] for e in log] == ["Job Submitted", "Job Paused", "Job Cancelled"]
    assert run(env, "job", "remove", job_id).returncode == 0
    assert json.loads(run(env, "jobs", "--json").stdout) == []


def test_depends_and_status_filter(env: dict[str, str], worker: subprocess.Popen[str]) -> None:
    a = run(env, "submit", "add", "a=1", "b=2").stdout.strip()
    b = run(env, "submit", "add", "--data", '{"a": 10, "b": 20}', "--depends", a, "--wait")
    assert b.returncode == 0 and json.loads(b.stdout.split()[1]) == 30
    done = json.loads(run(env, "jobs", "--status", "completed", "--json").stdout)
    assert sorted(j["id"] for j in done) == sorted([int(a), int(b.stdout.split()[0])])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["submit", "nosuch"], "unknown job type 'nosuch'; known types: add, boom"),
        (["submit", "add", "--priority", "urgent"], "invalid priority 'urgent'"),
        (["submit", "add", "--data", "{oops"], "--data is not valid JSON"),
        (["submit", "add", "--retries", "-2"], "invalid retries"),
        (["submit", "add", "--after", "tomorrowish"], "invalid after 'tomorrowish'"),
        (["submit", "add", "a=1", "b=2", "--depends", "424242"], "do not exist: [424242]"),
        (["submit", "add", "1=2"], "bad parameter '1=2'"),
        (["job", "show", "999"], "no job with id 999"),
        (["--db", "sqlite:///no/such/dir/x.db", "jobs"], "folder"),
        (["--db", "mysql://x", "jobs"], "unknown scheme"),
    ],
)
def test_bad_input_is_one_line_exit_2(env: dict[str, str], args: list[str], message: str) -> None:
    out = run(env, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert json.loads(run(env, "jobs", "--json").stdout or "[]") == []


def test_worker_sigterm_finishes_running_job(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "-c", "1"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    job_id = run(env, "submit", "add", "a=4", "b=4").stdout.strip()
    until(
        lambda: (
            json.loads(run(env, "job", "show", job_id, "--json").stdout)["status"]
            in ("running", "completed")
        ),
        timeout=20,
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    shown = json.loads(run(env, "job", "show", job_id, "--json").stdout)
    assert shown["status"] == "completed" and shown["result"] == 8


def test_db_migrate_and_up(env: dict[str, str], tmp_path: Path) -> None:
    out = run(env, "db", "migrate")
    assert out.returncode == 0 and ("applied" in out.stdout or "up to date" in out.stdout)
    assert "up to date" in run(env, "db", "migrate").stdout
    up = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "up", "--workers", "1"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def seeded_done() -> bool:
            jobs = json.loads(run(env, "jobs", "--json").stdout or "[]")
            return len(jobs) >= 4 and all(j["status"] == "completed" for j in jobs)

        until(seeded_done, timeout=60, interval=0.5)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(60)
    time.sleep(0)


def test_manage_many_by_filter(env: dict[str, str]) -> None:
    ids = [
        run(env, "submit", "add", f"a={i}", "b=0", "--delay", "600").stdout.strip()
        for i in range(3)
    ]
    paused = json.loads(run(env, "job", "pause", "--status", "waiting", "--json").stdout)
    assert sorted(paused["ids"]) == sorted(map(int, ids))
    out = run(env, "job", "cancel", "--type", "add", "--json")
    assert sorted(json.loads(out.stdout)["ids"]) == sorted(map(int, ids))
    assert run(env, "job", "remove", "--status", "cancelled").returncode == 0
    assert json.loads(run(env, "jobs", "--json").stdout) == []
    both = run(env, "job", "cancel", "1", "--status", "failed")
    assert both.returncode == 2 and "not both" in both.stderr
    neither = run(env, "job", "cancel")
    assert neither.returncode == 2 and "which jobs?" in neither.stderr


def test_workers_registry(env: dict[str, str], worker: subprocess.Popen[str]) -> None:
    def listed() -> list[dict[str, object]]:
        out = run(env, "workers", "--json")
        assert out.returncode == 0, out.stderr
        found: list[dict[str, object]] = json.loads(out.stdout)
        return found

    until(lambda: any(w["name"] == "e2e" for w in listed()), timeout=20)
    (me,) = [w for w in listed() if w["name"] == "e2e"]
    assert me["pid"] == worker.pid and me["alive"] is True
    assert "default" in me["queues"]  # type: ignore[operator]


@pytest.mark.parametrize(
    "option",
    [
        ("--priority", "99999999999999999999"),
        ("--delay", "nan"),
        ("--delay", "inf"),
        ("--retries", "inf"),
    ],
)
def test_numbers_out_of_range_exit_2_with_one_line(
    env: dict[str, str], option: tuple[str, str]
) -> None:
    out = run(env, "submit", "add", "a=1", "b=2", *option)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("jobyard: error: ") and out.stderr.count("\n") == 1
    assert json.loads(run(env, "jobs", "--json").stdout) == []


@pytest.mark.parametrize(
    "args",
    [
        ("jobs", "--limit", "x"),
        ("up", "-c", "0"),
        ("up", "--workers", "0"),
        ("up", "--bind", "nonsense"),
        ("up", "--bind", "127.0.0.1:70000"),
        ("worker", "--prefetch", "-1"),
        ("worker", "-c", "0"),
        ("submit", "add", "--depends", "1,,2"),
        ("job", "restart", "4,x"),
        ("nosuch",),
    ],
)
def test_usage_errors_are_one_line_exit_2(env: dict[str, str], args: tuple[str, ...]) -> None:
    out = run(env, *args, timeout=20)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.startswith("jobyard: error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr
