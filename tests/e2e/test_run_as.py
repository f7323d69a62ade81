"""Run as user/group with real system users (made here, removed after): scripts through a
real ``jobyard worker``, local site shells through ``jobyard batch``, delayed works, the
root refusal, and unknown users refused by the real CLI. Checked with ``id`` from inside
the job."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobyard import delayed, runas
from tests.e2e.scripts_project import Project, alive
from tests.helpers import cli_env, run_cli

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="run-as tests create system users and switch to them: they need root and useradd",
)

SECRET = "hunter2-not-for-scripts"


@dataclass(frozen=True)
class Users:
    alice: str  # member of ``team`` too
    bob: str
    team: str

    def uid(self, name: str) -> int:
        return pwd.getpwnam(name).pw_uid

    def gid(self, name: str) -> int:
        return pwd.getpwnam(name).pw_gid

    def group(self, name: str) -> int:
        return grp.getgrnam(name).gr_gid


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture(scope="session")
def users() -> Iterator[Users]:
    tag = f"{os.getpid() % 100000}"  # xdist workers each make their own
    made = Users(f"jyt_alice{tag}", f"jyt_bob{tag}", f"jyt_team{tag}")
    _sh("groupadd", "--system", made.team)
    _sh("useradd", "--system", "-M", "-s", "/bin/sh", "-G", made.team, made.alice)
    _sh("useradd", "--system", "-M", "-s", "/bin/sh", made.bob)
    try:
        yield made
    finally:
        for user in (made.alice, made.bob):
            subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["groupdel", made.team], capture_output=True)


@pytest.fixture
def project() -> Iterator[Project]:
    # Under /tmp, open to all: the scripts' users must reach their directory (the pytest
    # tmp_path is root's alone).
    root = Path(tempfile.mkdtemp(prefix="jyt-runas-", dir="/tmp"))
    root.chmod(0o755)
    p = Project(root / "project")
    p.root.chmod(0o755)
    p.scripts.chmod(0o755)
    # Secrets in the worker's environment: none may reach another user's script.
    p.env |= {"JOBYARD_DB": p.db, "SECRET_TOKEN": SECRET}
    yield p
    p.close()
    shutil.rmtree(root, ignore_errors=True)


def ids(log: list[str]) -> dict[str, object]:
    line = next(m for m in log if m.startswith("uid="))
    found = re.match(r"uid=(\d+) gid=(\d+) groups=([\d ]+) cwd=(\S+)", line)
    assert found, line
    uid, gid, groups, cwd = found.groups()
    return {
        "uid": int(uid),
        "gid": int(gid),
        "groups": {int(g) for g in groups.split()},
        "cwd": cwd,
    }


PROBE = """\
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) cwd=$(pwd)"
env | sed 's/^/env: /'
"""

SOCKET_CALL = """\
python3 -c 'import os, socket
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["JOBYARD_SOCKET"])
s.sendall(b"{\\"call\\": \\"progress\\", \\"args\\": [3, 7]}\\n")
print("reply", s.makefile().readline().strip())'
"""


def test_script_runs_as_the_user_with_its_groups_a_clean_env_and_the_socket(
    project: Project, users: Users
) -> None:
    project.script("who.sh", f"# jobyard: run_as = {users.alice}\n{PROBE}{SOCKET_CALL}", "/bin/sh")
    project.script("whog.sh", PROBE, "/bin/sh")
    project.ok("scripts", "sync")
    project.ok("type", "enable", "who", "whog")
    set_out = project.ok("type", "set", "whog", "--run-as", f"{users.bob}:{users.team}")
    assert f"{users.bob}:{users.team}" in set_out
    shown = {t["name"]: t for t in json.loads(project.ok("types", "--json"))}
    assert shown["who"]["run_as"] == users.alice
    assert shown["whog"]["run_as"] == f"{users.bob}:{users.team}"
    assert users.alice in project.ok("types")
    project.worker("w1")

    job_id = project.submit("who")
    job = project.finished(job_id)
    log = project.log(job_id)
    assert job.status == "completed", log
    seen = ids(log)
    assert seen["uid"] == users.uid(users.alice) and seen["gid"] == users.gid(users.alice)
    # initgroups: its own memberships (team), none of the worker's (root's group 0)
    assert seen["groups"] == {users.gid(users.alice), users.group(users.team)}
    assert seen["cwd"] == str(project.scripts)
    env = {m[5:].split("=", 1)[0]: m[5:].split("=", 1)[1] for m in log if m.startswith("env: ")}
    assert "JOBYARD_DB" not in env and "SECRET_TOKEN" not in env and "JOBYARD_CONFIG" not in env
    assert not any(SECRET in m or project.db in m for m in log)
    assert env["USER"] == env["LOGNAME"] == users.alice and env["JOBYARD_JOB_ID"] == str(job_id)
    assert env["PATH"] == runas.SAFE_PATH
    # the socket, handed to alice, answers her progress call
    assert 'reply {"ok":true}' in log
    assert job.progress_total == 7  # its max (a completed job's count is filled up to it)
    assert any(f"as {users.alice} (uid {users.uid(users.alice)}" in m for m in log)

    grouped = project.finished(project.submit("whog"))
    seen = ids(project.log(grouped.id))
    assert grouped.status == "completed"
    assert seen["uid"] == users.uid(users.bob) and seen["gid"] == users.group(users.team)
    assert 0 not in seen["groups"]  # type: ignore[operator]


def test_timeout_kills_the_other_users_process_group(project: Project, users: Users) -> None:
    header = f"# jobyard: run_as = {users.alice}\n# jobyard: timeout = 1\n"
    body = header + "sleep 300 &\necho child $!\nwait\n"
    project.script("stuck.sh", body, "/bin/sh")
    project.ok("scripts", "sync")
    project.ok("type", "enable", "stuck")
    project.worker("w1")
    job_id = project.submit("stuck")
    job = project.finished(job_id, timeout=30)
    assert job.status == "failed" and "killed by timeout (1 s)" in str(job.failures[-1]["error"])
    child = int(next(m for m in project.log(job_id) if m.startswith("child ")).split()[1])
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def _run_as_root_setup(project: Project) -> None:
    project.env.pop("JOBYARD_ALLOW_ROOT", None)  # this worker takes the default policy
    project.script("plain.sh", 'echo "uid=$(id -u)"\n', "/bin/sh")
    project.script("rooty.sh", '# jobyard: run_as = root\necho "uid=$(id -u)"\n', "/bin/sh")
    project.ok("scripts", "sync")
    project.ok("type", "enable", "plain", "rooty")


def test_root_worker_refuses_root_unless_allowed(project: Project, users: Users) -> None:
    _run_as_root_setup(project)
    worker = project.worker("strict")
    for name, said in (("plain", "refusing to run script plain as root"),
                       ("rooty", "refusing to run script rooty as root (root)")):  # fmt: skip
        job = project.finished(project.submit(name))
        assert job.status == "failed" and job.attempts == 1  # not retried: a refusal
        assert said in str(job.failures[-1]["error"]), job.failures
        assert not any(m.startswith("uid=") for m in project.log(job.id))
    assert worker.poll() is None  # the worker goes on
    assert "warning: this worker runs as root" in project.worker_log("strict")  # told at start

    worker.terminate()
    worker.wait(20)
    toml = project.root / "jobyard.toml"
    toml.write_text(toml.read_text() + "allow_root = true\n")  # still in [worker]
    project.worker("allowing")
    for name in ("plain", "rooty"):
        job = project.finished(project.submit(name))
        assert job.status == "completed" and "uid=0" in project.log(job.id)
    assert "warning: this worker runs as root" not in project.worker_log("allowing")


def test_a_worker_that_is_not_root_cannot_switch(users: Users) -> None:
    # A forked child that became bob decides as a non-root worker would.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            os.setgid(users.gid(users.bob))
            os.setuid(users.uid(users.bob))
            try:
                runas.decide(users.alice, False)
                said = "allowed"
            except runas.RunAsError as exc:
                said = str(exc)
            same = runas.decide(users.bob, False)
            said += f"|{same is not None and not same.switch}|{runas.decide(None, False)}"
            os.write(write, said.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        said = fh.read()
    os.waitpid(pid, 0)
    refusal, same, default = said.split("|")
    assert refusal == (
        f"cannot switch to user {users.alice}: the worker is not root (it runs as {users.bob})"
    )
    assert same == "True" and default == "None"  # its own user, or no run_as: no switch


def test_a_user_removed_later_fails_the_job_clearly(project: Project) -> None:
    gone = f"jyt_gone{os.getpid() % 100000}"
    _sh("useradd", "--system", "-M", "-s", "/bin/sh", gone)
    try:
        project.script("ghost.sh", f"# jobyard: run_as = {gone}\nid\n", "/bin/sh")
        project.ok("scripts", "sync")
        project.ok("type", "enable", "ghost")
    finally:
        _sh("userdel", gone)
    project.worker("w1")
    job = project.finished(project.submit("ghost"))
    assert job.status == "failed" and job.attempts == 1
    assert job.failures[-1]["error"] == f"cannot run as {gone}: no user {gone!r} on this machine"


def test_unknown_users_are_one_line_errors_of_the_cli(project: Project, users: Users) -> None:
    project.script("who.sh", PROBE, "/bin/sh")
    project.ok("scripts", "sync")
    project.ok("type", "enable", "who")
    for args in (
        ("type", "set", "who", "--run-as", "jyt_nobody_here"),
        ("type", "set", "who", "--run-as", f"{users.alice}:jyt_no_group"),
        ("type", "set", "who", "--run-as", "bad name;rm"),
        ("delayed", "add", "who", "--at", "2100-01-01T00:00:00", "--run-as", "jyt_nobody_here"),
        ("submit", "who", "--prop", "run_as=jyt_nobody_here"),
    ):
        out = project.run(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
        assert "jyt_nobody_here" in lines[0] or "jyt_no_group" in lines[0] or "bad name" in lines[0]
    assert "no user 'jyt_nobody_here' on this machine" in project.run(*args).stderr
    assert project.yard.count() == 0 and delayed.works(project.yard) == []
    shown = {t["name"]: t for t in json.loads(project.ok("types", "--json"))}
    assert shown["who"]["run_as"] is None  # nothing half-written

    toml = project.root / "jobyard.toml"
    toml.write_text(toml.read_text() + 'run_as = "jyt_nobody_here"\n')  # in [worker]
    out = project.run("worker", "-n", "never")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "[worker] run_as: no user 'jyt_nobody_here' on this machine" in out.stderr


def test_delayed_work_runs_its_job_as_its_user(project: Project, users: Users) -> None:
    project.script("who.sh", PROBE, "/bin/sh")
    project.ok("scripts", "sync")
    project.ok("type", "enable", "who")
    project.ok("type", "set", "who", "--run-as", users.alice)  # the work's user wins
    work = json.loads(
        project.ok("delayed", "add", "who", "--at", "2000-01-01T00:00:00", "--run-as", users.bob,
                   "--json")
    )  # fmt: skip
    assert work["run_as"] == users.bob
    (job_id,) = delayed.fire_due(project.yard, time.time() + 1e9)  # its tick, long due
    project.worker("w1")
    job = project.finished(job_id)
    assert job.status == "completed" and job.props["run_as"] == users.bob
    assert ids(project.log(job_id))["uid"] == users.uid(users.bob)


def _batch_env(tmp: Path, users: Users, extra: str = "") -> dict[str, str]:
    (tmp / "jobyard.toml").write_text(
        f'[sites.box]\nroles = ["box"]\nrun_as = "{users.alice}"\n\n'
        f'[sites.flat]\nroles = ["plain"]\n{extra}'
    )
    env = cli_env(tmp / "cli.db", "tests.e2e.runas_app")
    env |= {"JOBYARD_CONFIG": str(tmp / "jobyard.toml"), "SECRET_TOKEN": SECRET}
    env["JYT_ACTION_USER"] = users.bob
    return env


def _reports(env: dict[str, str], action: str) -> str:
    jobs = json.loads(run_cli(env, "jobs", "--json").stdout)
    (job,) = [j for j in jobs if j["type"] == f"action.{action}"]
    return "\n".join(job["result"]["reports"])


def test_local_site_shell_runs_as_the_site_user_then_the_type_user(
    tmp_path: Path, users: Users
) -> None:
    env = _batch_env(tmp_path, users)
    out = run_cli(env, "batch", "whoami", "typed")
    assert out.returncode == 0, out.stdout + out.stderr
    box = _reports(env, "whoami")
    seen = ids(box.splitlines())
    assert seen["uid"] == users.uid(users.alice)
    assert seen["groups"] == {users.gid(users.alice), users.group(users.team)}
    assert seen["cwd"] == "/"  # its home does not exist: a directory it may stand in
    assert SECRET not in box and "JOBYARD_DB" not in box and "env: JOBYARD_SITE=box" in box
    typed = ids(_reports(env, "typed").splitlines())  # site flat has no run_as: the type's
    assert typed["uid"] == users.uid(users.bob)

    bad = _batch_env(tmp_path, users, 'run_as = "jyt_nobody_here"\n')
    out = run_cli(bad, "sites")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "site 'flat' variable 'run_as': no user 'jyt_nobody_here'" in out.stderr
