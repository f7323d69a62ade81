"""A scheduled script type on every backend, in real processes: ``jobyard scripts sync``,
``type enable``, then ``jobyard scheduler`` fires its cron ticks and ``jobyard worker`` runs
them (issue #7 §6: scripts and the scheduler had no test on PostgreSQL)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from tests.helpers import ROOT, cli_env, run_cli, until
from tests.pgfixtures import BACKENDS

from jobyard import Yard
from jobyard.joblog import read_log

BEAT = '#!/bin/bash\n# jobyard: schedule = */1 * * * * *\necho beat "$(cat)"\n'


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    found = cli_env(tmp_path / "jobyard.db", "")
    found.pop("JOBYARD_APP")  # script types only
    if request.param == "postgres":
        found["JOBYARD_DB"] = str(request.getfixturevalue("pg_url"))
    return found


def spawn(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "jobyard", *args],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_cron_scheduled_script_fires_and_runs(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "beat.sh").write_text(BEAT)
    (folder / "beat.sh").chmod(0o755)
    for args in (("db", "migrate"), ("scripts", "sync", str(folder)), ("type", "enable", "beat")):
        out = run_cli(env, *args)
        assert out.returncode == 0, (args, out.stderr)
    procs = [spawn(env, "scheduler"), spawn(env, "worker", "-n", "beat-worker")]
    yard = Yard(env["JOBYARD_DB"])
    try:

        def done() -> list[int]:
            return [j.id for j in yard.jobs(type="beat", status="completed", limit=None)]

        until(lambda: len(done()) >= 3, timeout=40, interval=0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=30)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    jobs = [j for j in yard.jobs(type="beat", limit=None) if j.status == "completed"]
    ticks = sorted(datetime.fromisoformat(j.props["tick"]).timestamp() for j in jobs)
    assert len(set(ticks)) == len(ticks)  # one job per tick
    assert all(t == int(t) for t in ticks)
    log = [e["message"] for e in read_log(yard.store, jobs[0].id)]
    assert any(m.startswith("beat") for m in log), log
    rows = json.loads(run_cli(env, "schedules", "--json").stdout)
    assert [(r["type"], r["schedule"]) for r in rows] == [("beat", "*/1 * * * * *")]
    assert rows[0]["last"] is not None
    yard.close()
