"""``[slack]`` from the command line: the secrets from the environment (never argv), the
built-in ``slack-threads`` observer listed by ``jobyard observers``, and a mistake in
``[slack]`` one line with exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import ROOT, run_cli


def _env(tmp_path: Path, config: str) -> dict[str, str]:
    path = tmp_path / "jobyard.toml"
    path.write_text(f'db = "sqlite:///{tmp_path / "j.db"}"\n{config}')
    return {
        **os.environ,
        "JOBYARD_CONFIG": str(path),
        "PYTHONPATH": str(ROOT),
        "JOBYARD_SLACK_SIGNING_SECRET": "s3cret-from-env",
        "JOBYARD_SLACK_BOT_TOKEN": "xoxb-from-env",
    }


def test_observers_lists_the_thread_observer(tmp_path: Path) -> None:
    env = _env(tmp_path, '[slack]\nusers = { U0ALICE = "alice" }\n')
    assert run_cli(env, "db", "migrate").returncode == 0
    out = run_cli(env, "observers", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["observers"]
    assert [r["name"] for r in rows] == ["slack-threads"] and rows[0]["channel"] == "slack"
    assert "xoxb-from-env" not in out.stdout + out.stderr
    assert "s3cret-from-env" not in out.stdout + out.stderr


def test_a_mistake_in_slack_is_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path, '[slack]\nusers = { alice = "alice" }\n')
    out = run_cli(env, "observers")
    assert out.returncode == 2
    assert "is not a Slack user id" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
