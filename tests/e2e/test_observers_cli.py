"""Observers from the command line: ``jobyard scheduler`` delivers ``[[observers]]`` mail
to a real SMTP server (aiosmtpd, STARTTLS, login); killed with -9 in the middle of a mail
and started again, it sends no mail twice; ``jobyard observers`` shows the state and
deliveries; ``observers test`` sends one now; a broken template is one line at load."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobyard import Yard
from tests.helpers import ROOT, run_cli, until
from tests.observer_servers import SMTP_PASSWORD, SMTP_USER, SmtpServer, smtp_server

__all__ = ["smtp_server"]  # a fixture


def write_config(tmp_path: Path, server: SmtpServer, body: str = "job {{ job.id }}") -> Path:
    path = tmp_path / "jobyard.toml"
    path.write_text(
        f"""
db = "sqlite:///{tmp_path / "jobyard.db"}"

[mail]
host = "127.0.0.1"
port = {server.port}
from = "jobyard@example.com"
user = "{SMTP_USER}"
password_env = "TEST_SMTP_PASSWORD"
starttls = true
ca_file = "{server.cert}"
timeout = 5

[[observers]]
name = "ops"
channel = "mail"
events = ["job.created"]
start = "beginning"
to = ["ops@example.com"]
subject = "created {{{{ job.id }}}}"
body = "{body}"
"""
    )
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200",
            "TEST_SMTP_PASSWORD": SMTP_PASSWORD}  # fmt: skip


@pytest.fixture
def yard(tmp_path: Path) -> Iterator[Yard]:
    y = Yard(f"sqlite:///{tmp_path / 'jobyard.db'}")
    y.job(name="t")(lambda job: None)
    y.migrate()
    yield y
    y.close()


def scheduler(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "jobyard", "--config", str(config), "scheduler"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def subjects(server: SmtpServer) -> list[str]:
    return [str(m["Subject"]) for m in server.inbox.messages]


def test_a_scheduler_killed_mid_mail_sends_no_mail_twice_after_restart(
    tmp_path: Path, env: dict[str, str], yard: Yard, smtp_server: SmtpServer
) -> None:
    config = write_config(tmp_path, smtp_server)
    jobs = [yard.enqueue("t").id for _ in range(8)]
    smtp_server.inbox.hold_after = 3
    first = scheduler(config, env)
    try:
        assert smtp_server.inbox.held.wait(30), "the fourth mail never started"
        first.send_signal(signal.SIGKILL)  # in the middle of the fourth mail
        first.wait(10)
    finally:
        first.kill()
    smtp_server.inbox.release.set()
    assert subjects(smtp_server) == [f"created {j}" for j in jobs[:3]]
    in_flight = yard.store.deliveries_in_flight("ops")
    assert [d.job_id for d in in_flight] == [jobs[3]]  # recorded before it was sent
    smtp_server.inbox.hold_after = None

    second = scheduler(config, env)
    try:
        until(lambda: len(smtp_server.inbox.messages) >= 7, timeout=30)
        time.sleep(1.0)  # anything extra would arrive now
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=30)
    assert second.returncode == 0, err
    got = subjects(smtp_server)
    assert len(got) == len(set(got)) == 7  # not one mail twice
    assert got == [f"created {j}" for j in jobs[:3] + jobs[4:]]
    lost = yard.store.delivery("ops", in_flight[0].event_id)
    assert lost is not None and lost.status == "unknown" and "not resent" in (lost.last_error or "")

    shown = run_cli(env, "--config", str(config), "observers", "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    [ops] = view["observers"]
    assert ops["deliveries"] == {"sent": 7, "unknown": 1} and ops["state"] == "stopped"
    assert [d["job"] for d in view["deliveries"]][-1] == jobs[-1]
    table = run_cli(env, "--config", str(config), "observers")
    assert table.returncode == 0 and "ops" in table.stdout and "unknown" in table.stdout


def test_observers_test_sends_one_mail_now(
    tmp_path: Path, env: dict[str, str], yard: Yard, smtp_server: SmtpServer
) -> None:
    config = write_config(tmp_path, smtp_server)
    job = yard.enqueue("t")
    done = run_cli(env, "--config", str(config), "observers", "test", "ops", "--job", str(job.id))
    assert done.returncode == 0, done.stderr
    assert "sent to ops@example.com" in done.stdout
    [msg] = smtp_server.inbox.wait(1)
    assert msg["Subject"] == f"created {job.id}"
    assert yard.store.recent_deliveries("ops") == []  # a test is not a delivery
    missing = run_cli(env, "--config", str(config), "observers", "test", "nope")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "jobyard: error: no observer 'nope' in the config; known: ops"
    smtp_server.inbox.refuse = True
    refused = run_cli(env, "--config", str(config), "observers", "test", "ops")
    assert refused.returncode == 1
    assert "test send failed: SMTP 127.0.0.1" in refused.stderr and "451" in refused.stderr
    assert SMTP_PASSWORD not in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr


def test_a_broken_template_is_one_line_at_load_with_its_line(
    tmp_path: Path, env: dict[str, str], smtp_server: SmtpServer
) -> None:
    config = write_config(tmp_path, smtp_server, body="ok\\n{{ job.id }\\nmore")
    for args in (["observers"], ["scheduler"]):
        done = run_cli(env, "--config", str(config), *args, timeout=30)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("jobyard: error: observer 'ops': body template, line 2: ")


def test_up_runs_the_observers_while_its_workers_run_the_jobs(
    tmp_path: Path, env: dict[str, str]
) -> None:
    out = tmp_path / "events.log"
    config = tmp_path / "jobyard.toml"
    config.write_text(
        f'db = "sqlite:///{tmp_path / "up.db"}"\napp = ["tests.e2e.cli_app"]\n\n'
        f'[[observers]]\nname = "done"\nchannel = "log"\npath = "{out}"\n'
        'events = ["job.completed", "job.failed"]\n'
        'line = "{{ event.name }} {{ job.type }} {{ job.result }} {{ job.error }}"\n'
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "--config", str(config), "up", "--no-examples",
         "--no-web", "--workers", "1", "-c", "2"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for args in (["add", "a=1", "b=2"], ["boom"]):
            done = run_cli(env, "--config", str(config), "submit", *args)
            assert done.returncode == 0, done.stderr
        until(lambda: out.exists() and len(out.read_text().splitlines()) == 2, timeout=40)
    finally:
        up.send_signal(signal.SIGTERM)
        _, err = up.communicate(timeout=60)
    assert "observers: done" in err
    assert sorted(out.read_text().splitlines()) == [
        "job.completed add 3 None",
        "job.failed boom None RuntimeError: kaboom",
    ]
