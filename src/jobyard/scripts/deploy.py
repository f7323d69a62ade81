"""Deploy scripts by ``git push``: a bare repository whose post-receive hook checks the
pushed branch out into the scripts directory and syncs the store.

The hook is written with absolute paths (Python interpreter, working directory, config
file, database, scripts directory): a push over ssh carries none of the pusher's
environment, so the hook must know its project by itself.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from jobyard.errors import InvalidInput

ZERO = "0" * 40
HOOK = "post-receive"
_TEMPLATE = """#!{python}
# Installed by `jobyard scripts init-repo`: a push checks the branch out into the scripts
# directory and syncs the job types. Re-run init-repo to rewrite this file.
import sys

from jobyard.scripts.deploy import post_receive

sys.exit(post_receive(
    repo={repo!r},
    work={work!r},
    cwd={cwd!r},
    config={config!r},
    db={db!r},
))
"""


@dataclass
class InitResult:
    repo: str
    work: str
    hook: str
    created: bool


def _is_bare_repo(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def absolute_db(url: str | None) -> str | None:
    """A SQLite URL made absolute (relative paths are taken from the working directory)."""
    if not url or not url.startswith("sqlite:"):
        return url
    from jobyard.store.sqlite import sqlite_path

    path = sqlite_path(url)
    return url if path == ":memory:" else f"sqlite:///{os.path.abspath(path)}"


def init_repo(
    path: str | os.PathLike[str],
    work: str | os.PathLike[str],
    *,
    config: str | None = None,
    db: str | None = None,
    python: str | None = None,
) -> InitResult:
    """Create (or re-hook) the bare repository at ``path`` deploying into ``work``."""
    repo, target = Path(os.path.abspath(path)), Path(os.path.abspath(work))
    if repo == target or target.is_relative_to(repo):
        raise InvalidInput(f"the scripts directory {target} cannot be inside the repository")
    created = False
    bare = _is_bare_repo(repo)
    if repo.exists() and not bare and (not repo.is_dir() or any(repo.iterdir())):
        raise InvalidInput(f"{repo} exists and is not a bare git repository")
    if not repo.exists() or not _is_bare_repo(repo):
        repo.parent.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["git", "init", "--bare", "-q", str(repo)], capture_output=True, text=True
            )
        except FileNotFoundError:
            raise InvalidInput("git is not installed (or not on PATH)") from None
        if done.returncode != 0:
            raise InvalidInput(f"git init --bare {repo} failed: {done.stderr.strip()}")
        created = True
    target.mkdir(parents=True, exist_ok=True)
    hook = repo / "hooks" / HOOK
    hook.parent.mkdir(exist_ok=True)
    url = absolute_db(db)
    hook.write_text(
        _TEMPLATE.format(
            python=python or sys.executable,
            repo=str(repo),
            work=str(target),
            cwd=os.getcwd(),
            config=os.path.abspath(config) if config else None,
            db=url,
        )
    )
    secret = url is not None and urlsplit(url).password is not None
    hook.chmod(stat.S_IRWXU if secret else 0o755)  # a password in the URL: owner only
    return InitResult(str(repo), str(target), str(hook), created)


def _git(repo: str, *args: str, work: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    cmd = ["git", f"--git-dir={repo}"]
    if work is not None:
        cmd.append(f"--work-tree={work}")
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env)


def _deploy_branch(repo: str, pushed: list[tuple[str, str, str]], out: TextIO) -> str | None:
    """The branch to check out: HEAD's; or, in a fresh repository, the one pushed."""
    head = _git(repo, "symbolic-ref", "-q", "HEAD").stdout.strip() or "refs/heads/main"
    for _, new, ref in pushed:
        if ref == head:
            if new == ZERO:
                out.write(f"jobyard: {ref} was deleted; nothing deployed\n")
                return None
            return ref
    branches = [ref for _, new, ref in pushed if ref.startswith("refs/heads/") and new != ZERO]
    if _git(repo, "rev-parse", "-q", "--verify", "HEAD").returncode != 0 and branches:
        _git(repo, "symbolic-ref", "HEAD", branches[0])  # first push: adopt its branch
        return branches[0]
    names = ", ".join(ref for _, _, ref in pushed)
    out.write(f"jobyard: only {head} is deployed; not {names}\n")
    return None


def post_receive(
    repo: str,
    work: str,
    cwd: str,
    config: str | None,
    db: str | None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """The hook's body: read the pushed refs, check out, sync, print the report."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    pushed = []
    for line in stdin:
        parts = line.split()
        if len(parts) == 3:
            pushed.append((parts[0], parts[1], parts[2]))
    branch = _deploy_branch(repo, pushed, out)
    if branch is None:
        return 0
    os.makedirs(work, exist_ok=True)
    done = _git(repo, "checkout", "-f", "-q", branch.removeprefix("refs/heads/"), work=work)
    if done.returncode != 0:
        out.write(f"jobyard: checkout into {work} failed: {done.stderr.strip()}\n")
        return 1
    try:
        os.chdir(cwd)
    except OSError:
        pass  # the project moved: absolute paths still work
    from jobyard.config import load_config
    from jobyard.errors import JobyardError
    from jobyard.scripts.sync import sync_scripts
    from jobyard.yard import Yard

    try:
        yard = Yard(config=load_config(config, db))
        try:
            report = sync_scripts(yard, work)
        finally:
            yard.close()
    except JobyardError as exc:
        out.write(f"jobyard: deploy failed: {exc}\n")
        return 1
    out.write(f"jobyard: deployed {branch.removeprefix('refs/heads/')} into {work}\n")
    for line in report.lines():
        out.write(f"jobyard: {line}\n")
    out.flush()
    return 0
