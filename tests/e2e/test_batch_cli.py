"""``jobyard sites`` and ``jobyard batch`` as real subprocesses, with sites over real sshd."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.helpers import ROOT, cli_env, run_cli, until
from tests.sshd import SSHServer


def setup(tmp_path: Path, sites: dict[str, dict[str, object]], lease: float = 10) -> dict[str, str]:
    lines = [f"[worker]\nlease = {lease}\n"]
    for name, config in sites.items():
        lines.append(f'[sites.{name}]\nroles = ["app"]\n')
        lines.extend(f"{key} = {json.dumps(value)}\n" for key, value in config.items())
    (tmp_path / "jobyard.toml").write_text("".join(lines))
    env = cli_env(tmp_path / "cli.db", "tests.e2e.batch_app")
    env["JOBYARD_CONFIG"] = str(tmp_path / "jobyard.toml")
    return env


def runs(tmp_path: Path, site: str) -> list[str]:
    path = tmp_path / site / "runs"
    return path.read_text().split() if path.exists() else []


def completed(env: dict[str, str]) -> int:
    out = run_cli(env, "jobs", "--json")
    return sum(1 for job in json.loads(out.stdout or "[]") if job["status"] == "completed")


def test_sites_lists_the_inventory(tmp_path: Path) -> None:
    env = setup(
        tmp_path,
        {"web1": {"host": "10.0.0.1", "user": "deploy", "root": "/srv"}, "web2": {"root": "/srv2"}},
    )
    out = run_cli(env, "sites")
    assert out.returncode == 0, out.stderr
    assert "web1" in out.stdout and "deploy@10.0.0.1:22" in out.stdout and "local" in out.stdout
    data = json.loads(run_cli(env, "sites", "--json").stdout)
    assert [s["name"] for s in data["sites"]] == ["web1", "web2"]
    assert data["roles"]["app"] == ["web1", "web2"]
    assert data["sites"][0]["where"] == "deploy@10.0.0.1:22"  # the API's view
    assert data["sites"][1]["variables"] == {"root": "/srv2"}


def test_batch_over_ssh_fails_then_reruns_only_what_failed(
    tmp_path: Path, sshd: Callable[..., SSHServer]
) -> None:
    one, two = sshd(), sshd()
    env = setup(
        tmp_path,
        {
            "web1": one.site(root=str(tmp_path / "web1")),
            "web2": two.site(root=str(tmp_path / "web2")),
        },
    )
    (tmp_path / "web2").mkdir()
    (tmp_path / "web2" / "broken").write_text("")
    out = run_cli(env, "batch", "greet", "check")
    assert out.returncode == 1, out.stderr
    assert "FAILED check on web2: site 'web2': command exited with status 1" in out.stdout
    assert "batch 1: 3 of 4 ok" in out.stdout
    assert "Traceback" not in out.stderr
    (tmp_path / "web2" / "broken").unlink()
    again = run_cli(env, "batch", "greet", "check")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "running again the 1 failed pair(s)" in again.stderr
    assert "batch 1: 4 of 4 ok" in again.stdout
    assert runs(tmp_path, "web1") == ["greet", "check"]
    assert runs(tmp_path, "web2") == ["greet", "check"]  # greet did not run twice
    fresh = run_cli(env, "batch", "greet", "check", "--json")  # the last one is ok: a new one
    assert json.loads(fresh.stdout) == {"batch": 2, "ok": True, "failed": []}


def test_serial_with_max_fail_stops_the_rollout(tmp_path: Path) -> None:
    sites = {f"s{i}": {"root": str(tmp_path / f"s{i}")} for i in range(3)}
    env = setup(tmp_path, sites)
    (tmp_path / "s0").mkdir()
    (tmp_path / "s0" / "broken").write_text("")
    out = run_cli(env, "batch", "check", "--serial", "1", "--max-fail", "0")
    assert out.returncode == 1
    assert "FAILED check on s1: not run: 1 failures in the batch passed max_fail 0" in out.stdout
    assert runs(tmp_path, "s1") == runs(tmp_path, "s2") == []


def test_bad_input_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    env = setup(tmp_path, {"web1": {"root": str(tmp_path / "web1")}})
    for args, needle in [
        (("batch", "nope"), "action 'nope' not found; known actions: check, greet, slow"),
        (("batch", "greet", "--roles", "ghost"), "unknown role 'ghost'"),
        (("batch", "greet", "--serial", "0"), "invalid serial '0'"),
        (("batch", "greet", "--schedule", "fast"), "Invalid value for '--schedule'"),
    ]:
        out = run_cli(env, *args)
        assert out.returncode == 2, (args, out.stderr)
        assert needle in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    assert json.loads(run_cli(env, "jobs", "--json").stdout) == []
    bad = setup(tmp_path, {"web1": {"port": "22"}})
    out = run_cli(bad, "sites")
    assert (
        out.returncode == 2 and "site 'web1' variable 'port' must be a whole number" in out.stderr
    )


def test_killed_mid_batch_resumes_without_rerunning_completed(tmp_path: Path) -> None:
    sites = {"a": {"root": str(tmp_path / "a")}, "b": {"root": str(tmp_path / "b"), "sleep": 5}}
    env = setup(tmp_path, sites, lease=1.5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "batch", "greet", "slow"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    until(
        lambda: (
            runs(tmp_path, "a") == ["greet", "slow-start", "slow-end"]
            and "slow-start" in runs(tmp_path, "b")
        ),
        timeout=30,
    )
    # slow-end on a is written before its outcome is stored: wait for the outcome too, or a
    # kill in between rightly runs slow on a again (at-least-once)
    until(lambda: completed(env) == 3, timeout=30, interval=0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch's own worker dies with site b mid-action
    proc.wait()
    out = run_cli(env, "batch", "greet", "slow")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "resuming unfinished batch 1" in out.stderr
    assert runs(tmp_path, "a") == ["greet", "slow-start", "slow-end"]  # nothing twice on a
    assert (
        runs(tmp_path, "b")[:2] == ["greet", "slow-start"]
        and runs(tmp_path, "b").count("greet") == 1
    )


def test_no_run_hands_the_batch_to_a_running_worker(tmp_path: Path) -> None:
    env = setup(tmp_path, {"a": {"root": str(tmp_path / "a")}, "b": {"root": str(tmp_path / "b")}})
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "-n", "w1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out = run_cli(env, "batch", "greet", "check", "--no-run")
        assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr
        until(lambda: runs(tmp_path, "a") == runs(tmp_path, "b") == ["greet", "check"], 30)
        shown = json.loads(run_cli(env, "jobs", "--json").stdout)
        assert {j["worker"] for j in shown} == {"w1"} and {j["site"] for j in shown} == {"a", "b"}
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
