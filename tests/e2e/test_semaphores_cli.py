"""``jobyard`` subprocesses: --semaphore on submit, ``jobyard semaphores``, the waiting
field of ``job show``, and bad input (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import cli_env, run_cli

APP = "tests.e2e.sem_cli_app"


def _env(tmp_path: Path, config: str) -> dict[str, str]:
    (tmp_path / "jobyard.toml").write_text(config)
    return {**cli_env(tmp_path / "y.db", APP), "JOBYARD_CONFIG": str(tmp_path / "jobyard.toml")}


def test_submit_show_and_list_semaphores(tmp_path: Path) -> None:
    env = _env(tmp_path, "[semaphores.db]\ncount = 1\n[semaphores.files]\ncount = 2\n")
    first = run_cli(env, "submit", "noop", "--semaphore", "db:write")
    assert first.returncode == 0, first.stderr
    second = run_cli(env, "submit", "noop", "--semaphore", "db", "--semaphore", "files:read")
    assert second.returncode == 0, second.stderr
    a, b = int(first.stdout), int(second.stdout)
    # claim the first one as a worker would, so the second waits
    from jobyard import Yard
    from jobyard.worker.local import LocalPort
    from jobyard.worker.port import ClaimRequest

    yard = Yard(f"sqlite:///{tmp_path / 'y.db'}")
    try:
        got = LocalPort(yard).claim(ClaimRequest("w", ["default"], ["noop"], 1, 60.0))
        assert [j.id for j in got] == [a]
    finally:
        yard.close()
    show = run_cli(env, "job", "show", str(b), "--json")
    assert show.returncode == 0, show.stderr
    fields = json.loads(show.stdout)
    assert fields["semaphores"] == ["db", "files:read"]
    assert fields["waiting"] == f"semaphore db (1/1 held by job {a})"
    listed = run_cli(env, "semaphores", "--json")
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["db"]["holders"] == [{"job": a, "mode": "write", "jobset": None}]
    assert rows["db"]["waiters"] == [b] and rows["files"]["count"] == 2
    table = run_cli(env, "semaphores")
    assert "1/1" in table.stdout and str(b) in table.stdout


def test_bad_semaphores_are_one_line_and_exit_2(tmp_path: Path) -> None:
    env = _env(tmp_path, "[semaphores.db]\ncount = 1\n")
    unknown = run_cli(env, "submit", "noop", "--semaphore", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith(
        "jobyard: error: job of type 'noop': unknown semaphore"
    )
    assert len(unknown.stderr.strip().splitlines()) == 1 and "Traceback" not in unknown.stderr
    mode = run_cli(env, "submit", "noop", "--semaphore", "db:both")
    assert mode.returncode == 2 and "'read' or 'write'" in mode.stderr
    for body in ("[semaphores.db]\ncount = 0\n", "[semaphores.db]\ncount = 1.5\n"):
        bad = _env(tmp_path, body)
        out = run_cli(bad, "semaphores")
        assert out.returncode == 2, out.stderr
        assert "[semaphores.db] count must be a whole number >= 1" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    env = _env(tmp_path, "[semaphores.db]\ncount = 1\n")
    listed = run_cli(env, "jobs", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # nothing half-made


def test_a_script_header_names_its_semaphores(tmp_path: Path) -> None:
    """``# jobyard: semaphores = db`` on a script type: two runs on a worker with room for
    both never overlap, and ``jobyard types`` shows what the type holds."""
    from tests.e2e.scripts_project import Project

    project = Project(tmp_path)
    try:
        with open(tmp_path / "jobyard.toml", "a") as config:
            config.write("\n[semaphores.db]\ncount = 1\n")
        times = tmp_path / "times"
        project.script(
            "exclusive.sh",
            "# jobyard: semaphores = db\n# jobyard: mutex = false\n"
            f'echo "start $(date +%s.%N)" >> {times}\nsleep 0.6\n'
            f'echo "end $(date +%s.%N)" >> {times}\n',
        )
        project.ok("scripts", "sync")
        project.ok("type", "enable", "exclusive")
        listed = json.loads(project.ok("types", "--json"))
        (row,) = [t for t in listed if t["name"] == "exclusive"]
        assert row["semaphores"] == ["db"]
        ids = [project.submit("exclusive") for _ in range(2)]
        project.worker("w1", "-c", "2")
        for job_id in ids:
            assert project.finished(job_id, timeout=30).status == "completed"
        marks = [line.split() for line in times.read_text().splitlines()]
        spans = sorted(
            (float(a[1]), float(b[1])) for a, b in zip(marks[::2], marks[1::2], strict=True)
        )
        assert [m[0] for m in marks] == ["start", "end", "start", "end"]  # one at a time
        assert spans[0][1] <= spans[1][0]
    finally:
        project.close()
