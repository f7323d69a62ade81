"""Deploy by ``git push``: init-repo, a real clone, commit and push; the hook syncs the store."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.scripts_project import Project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path / "project")
    yield p
    p.close()


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The pusher's environment knows nothing of jobyard: no JOBYARD_*, no PYTHONPATH.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBYARD_", "GIT_")) and k != "PYTHONPATH"
    }
    env |= {"HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    ident = ["-c", "user.name=Tester", "-c", "user.email=t@example.com"]
    out = subprocess.run(
        ["git", *ident, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out


def test_push_creates_disabled_types_and_skips_non_executables(
    project: Project, tmp_path: Path
) -> None:
    out = project.ok("scripts", "init-repo", "scripts.git")
    repo = project.root / "scripts.git"
    assert f"created bare repository {repo}" in out and str(project.scripts) in out
    hook = (repo / "hooks" / "post-receive").read_text()
    assert hook.startswith(f"#!{sys.executable}\n")
    assert str(project.scripts) in hook and str(project.root / "jobyard.db") in hook

    clone = tmp_path / "workstation"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    (clone / "backup.sh").write_text("#!/bin/bash\n# jobyard: on = disk.full\necho backup\n")
    (clone / "backup.sh").chmod(0o755)
    (clone / "notes.txt").write_text("remember the milk\n")
    (clone / ".helper.sh").write_text("#!/bin/bash\n")
    (clone / ".helper.sh").chmod(0o755)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "Add backup")
    pushed = git(clone, "push", "origin", "HEAD")
    assert "remote: jobyard: scripts in " in pushed.stderr
    assert "remote: jobyard:   created (disabled): backup" in pushed.stderr
    assert "remote: jobyard:   skipped: notes.txt (not executable)" in pushed.stderr
    assert "helper" not in pushed.stderr

    deployed = project.scripts / "backup.sh"
    assert deployed.read_text().endswith("echo backup\n")
    assert deployed.stat().st_mode & stat.S_IXUSR
    types = project.yard.stored_types(refresh=True)
    assert set(types) == {"backup"}
    assert types["backup"].kind == "script" and types["backup"].enabled is False
    assert types["backup"].meta["on"] == ["disk.full"]
    assert types["backup"].meta["path"] == str(deployed)

    # a second push: one script goes, another comes, one changes
    git(clone, "rm", "-q", "backup.sh")
    (clone / "report.py").write_text("#!/usr/bin/env python3\nprint('report')\n")
    (clone / "report.py").chmod(0o755)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "Replace backup with report")
    pushed = git(clone, "push", "-q", "origin", "HEAD")
    assert "remote: jobyard:   created (disabled): report" in pushed.stderr
    assert "remote: jobyard:   deleted: backup" in pushed.stderr
    assert not deployed.exists()
    types = project.yard.stored_types(refresh=True)
    assert types["backup"].meta["deleted"] is True and types["report"].enabled is False


def test_pushing_another_branch_deploys_nothing(project: Project, tmp_path: Path) -> None:
    project.ok("scripts", "init-repo", str(tmp_path / "repo.git"))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "repo.git"), str(clone))
    (clone / "a.sh").write_text("#!/bin/sh\n")
    (clone / "a.sh").chmod(0o755)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "a")
    git(clone, "push", "-q", "origin", "HEAD")  # the first push sets the deployed branch
    git(clone, "checkout", "-q", "-b", "experiment")
    (clone / "b.sh").write_text("#!/bin/sh\n")
    (clone / "b.sh").chmod(0o755)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "b")
    pushed = git(clone, "push", "origin", "experiment")
    assert "is deployed; not refs/heads/experiment" in pushed.stderr
    assert set(project.yard.stored_types(refresh=True)) == {"a"}
    assert not (project.scripts / "b.sh").exists()


def test_init_repo_refuses_a_folder_that_is_not_a_repository(project: Project) -> None:
    (project.root / "busy").mkdir()
    (project.root / "busy" / "file").write_text("x")
    out = project.run("scripts", "init-repo", "busy")
    assert out.returncode == 2 and "is not a bare git repository" in out.stderr
    again = project.run("scripts", "init-repo", "fresh.git")
    assert again.returncode == 0
    kept = project.run("scripts", "init-repo", "fresh.git")
    assert kept.returncode == 0 and "kept bare repository" in kept.stdout


def git_any(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git without the success assert: a push may be refused."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBYARD_", "GIT_")) and k != "PYTHONPATH"
    }
    env |= {"HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    ident = ["-c", "user.name=Tester", "-c", "user.email=t@example.com"]
    return subprocess.run(
        ["git", *ident, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_a_ref_name_that_looks_like_an_option_is_never_passed_to_git(
    project: Project, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    lines = [f"top-secret-line-{i}" for i in range(5)]
    secret.write_text("\n".join(lines) + "\n")
    project.ok("scripts", "init-repo", str(tmp_path / "repo.git"))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "repo.git"), str(clone))
    (clone / "a.sh").write_text("#!/bin/sh\n")
    (clone / "a.sh").chmod(0o755)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "a")
    evil = f"refs/heads/--pathspec-from-file={secret}"
    for round in range(2):  # the first push to a fresh repo, and a later one
        if round:
            git(clone, "commit", "-q", "--allow-empty", "-m", "again")
        pushed = git_any(clone, "push", "origin", f"HEAD:{evil}")
        output = pushed.stdout + pushed.stderr
        assert not any(line in output for line in lines), output
        assert f"jobyard: ignored ref '{evil}'" in output
        assert "may not start with '-'" in output
    assert not (project.scripts / "a.sh").exists()
    assert project.yard.stored_types(refresh=True) == {}
    # the repository did not adopt the bad ref as its deployed branch: a normal push deploys
    pushed = git_any(clone, "push", "origin", "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr
    assert "remote: jobyard: deployed main into" in pushed.stderr
    assert not any(line in pushed.stderr for line in lines)
    assert (project.scripts / "a.sh").exists()
    assert set(project.yard.stored_types(refresh=True)) == {"a"}
    # and later pushes of it keep checking out by commit id
    (clone / "b.sh").write_text("#!/bin/sh\n")
    (clone / "b.sh").chmod(0o755)
    git(clone, "rm", "-q", "a.sh")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "b")
    pushed = git_any(clone, "push", "origin", "HEAD:refs/heads/main")
    assert "created (disabled): b" in pushed.stderr and "deleted: a" in pushed.stderr
    assert (project.scripts / "b.sh").exists() and not (project.scripts / "a.sh").exists()


def test_bad_ref_refuses_what_check_ref_format_refuses(tmp_path: Path) -> None:
    from jobyard.scripts.deploy import bad_ref

    repo = tmp_path / "r.git"
    subprocess.run(["git", "init", "--bare", "-q", str(repo)], check=True)
    assert bad_ref(str(repo), "refs/heads/main") is None
    assert bad_ref(str(repo), "refs/heads/feature/x") is None
    for ref in (
        "refs/heads/-x",
        "refs/heads/a/--y",
        "-refs/heads/a",
        "refs/heads/a..b",
        "refs/heads/a.lock",
        "heads/a",
        "refs/heads/a b",
    ):
        assert bad_ref(str(repo), ref) is not None, ref


def test_a_database_password_never_lands_in_the_hook(project: Project, tmp_path: Path) -> None:
    url = "postgresql://jobyard@127.0.0.1:5432/test?password=s3cr3t-pw"
    for given in (url, "postgresql://jobyard:s3cr3t-pw@127.0.0.1:5432/test"):
        out = project.run("--db", given, "scripts", "init-repo", str(tmp_path / "repo.git"))
        assert out.returncode == 0, out.stderr
        hook = tmp_path / "repo.git" / "hooks" / "post-receive"
        assert "s3cr3t-pw" not in hook.read_text()
        assert stat.S_IMODE(hook.stat().st_mode) == 0o755
        kept = tmp_path / "repo.git" / "hooks" / "jobyard-db-url"
        assert kept.read_text().strip() == given
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert str(kept) in hook.read_text()
    # back to SQLite: the URL is inline again and the secret file is gone
    project.ok("scripts", "init-repo", str(tmp_path / "repo.git"))
    assert not kept.exists()
