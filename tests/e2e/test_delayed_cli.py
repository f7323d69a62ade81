"""`jobyard delayed` with a real `jobyard scheduler` process: a crontab every second with
`--skip 2` gives two skip events, then its job; list/pause/resume/skip/remove; bad input
is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobyard import Yard
from jobyard.events import list_events
from tests.helpers import ROOT, cli_env, run_cli, until

pytestmark = [pytest.mark.slow]


def test_skip_two_then_it_runs_under_a_real_scheduler(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    env = cli_env(db, "tests.e2e.nodes_app")
    assert run_cli(env, "db", "migrate").returncode == 0
    out = run_cli(env, "delayed", "add", "restart", "service=cron", "--cron", "* * * * * *",
                  "--skip", "2")  # fmt: skip
    assert out.returncode == 0, out.stderr
    work = int(out.stdout)
    sched = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "scheduler"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    yard = Yard(f"sqlite:///{db}")
    try:

        def names() -> list[str]:
            return [e.name for e in list_events(yard, limit=100) if e.name.startswith("delayed.")]

        until(lambda: "delayed.fired" in names(), timeout=30)
        seen = names()
        assert seen[:4] == [
            "delayed.created",
            "delayed.skipped",
            "delayed.skipped",
            "delayed.fired",
        ]
        assert yard.count(type="restart") >= 1
        assert run_cli(env, "delayed", "pause", str(work)).returncode == 0
        listed = json.loads(run_cli(env, "delayed", "list", "--json").stdout)
        assert listed[0]["paused"] is True and listed[0]["skip"] == 0
        assert run_cli(env, "delayed", "skip", str(work), "5").returncode == 0
        assert json.loads(run_cli(env, "delayed", "list", "--json").stdout)[0]["skip"] == 5
        assert run_cli(env, "delayed", "remove", str(work)).returncode == 0
        assert json.loads(run_cli(env, "delayed", "list", "--json").stdout) == []
    finally:
        sched.terminate()
        sched.wait(30)
        yard.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "restart", "service=x"], "--at or --cron"),
        (["add", "restart", "service=x", "--cron", "99 * * * *"], "cron"),
        (["add", "restart", "--cron", "* * * * *"], "needs parameter 'service'"),
        (["pause", "4242"], "no delayed work 4242"),
    ],
)
def test_bad_delayed_input_is_one_line_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    env = cli_env(tmp_path / "d.db", "tests.e2e.nodes_app")
    out = run_cli(env, "delayed", *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and out.stderr.count("\n") == 1, out.stderr
