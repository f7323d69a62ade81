"""``jobyard scripts sync``, ``type enable|disable|set``, ``types``: output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobyard.scripts import sync_scripts
from tests.e2e.scripts_project import Project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path / "project")
    yield p
    p.close()


def test_sync_enable_set_and_list(project: Project) -> None:
    project.script("backup.sh", "# jobyard: schedule = 0 3 * * *\n# jobyard: group = ops\n")
    project.script("notes.txt", "not a script\n", mode=0o644)
    out = project.ok("scripts", "sync")
    assert "created (disabled): backup" in out
    assert "skipped: notes.txt (not executable)" in out
    assert "jobyard type enable NAME" in out
    again = json.loads(project.ok("scripts", "sync", "--json"))
    assert again["created"] == [] and again["unchanged"] == ["backup"]

    refused = project.run("submit", "backup")
    assert refused.returncode == 2
    assert "job type 'backup' is disabled; enable it with `jobyard type enable backup`" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert project.ok("type", "enable", "backup").strip() == "script type backup enabled"
    out = project.ok(
        "type", "set", "backup", "--on", "disk.full, backup.retry", "--worker", "vip",
        "--timeout", "90", "--no-mutex", "--description", "nightly backup", "--json",
    )  # fmt: skip
    meta = json.loads(out)
    assert meta["on"] == ["disk.full", "backup.retry"] and meta["worker"] == "vip"
    assert meta["timeout"] == 90 and meta["mutex"] is False
    assert meta["schedule"] == "0 3 * * *" and meta["group"] == "ops"
    listed = {t["name"]: t for t in json.loads(project.ok("types", "--json"))}
    backup = listed["backup"]
    assert backup["kind"] == "script" and backup["enabled"] is True
    assert backup["description"] == "nightly backup" and backup["deleted"] is False
    assert backup["path"] == str(project.scripts / "backup.sh")
    table = project.ok("types")
    assert "backup" in table and "0 3 * * *" in table and "vip" in table
    assert project.ok("type", "disable", "backup").strip() == "script type backup disabled"
    assert project.run("submit", "backup").returncode == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["type", "set", "job", "--schedule", "61 * * * *"],
            "schedule: invalid cron expression '61 * * * *': the minute field '61' is not valid",
        ),
        (["type", "set", "job", "--schedule", "* * *"], "expected 5 fields"),
        (["type", "set", "job", "--timeout", "-3"], "--timeout must be seconds >= 0"),
        (["type", "set", "job"], "nothing to set"),
        (["type", "set", "nosuch", "--worker", "a"], "unknown job type 'nosuch'"),
        (["type", "enable", "nosuch"], "unknown job type 'nosuch'; known types: job"),
        (["scripts", "sync", "no-such-dir"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2(project: Project, args: list[str], message: str) -> None:
    project.script("job.sh", "echo hi\n")
    sync_scripts(project.yard, project.scripts)
    out = project.run(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    meta = project.yard.stored_types(refresh=True)["job"].meta
    assert meta["schedule"] is None and meta["overrides"] == {}  # nothing was written
