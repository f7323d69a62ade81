"""Deploy scripts by ``git push``: a bare repository whose post-receive hook checks the
pushed branch out into the scripts directory and syncs the store.

The hook is written with absolute paths (Python interpreter, working directory, config
file, database, scripts directory): a push over ssh carries none of the pusher's
environment, so the hook must know its project by itself. A database URL that may hold a
secret (anything but SQLite) is not written into the hook but into a file of mode 0600
beside it, which the hook reads.

Everything a pusher sends is untrusted: ref names are checked (``git check-ref-format``,
no component starting with ``-``) and the checkout is made by commit id, so no pushed text
ever reaches a place where git parses options.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from jobyard.errors import InvalidInput
from jobyard.i18n import _

ZERO = "0" * 40
HOOK = "post-receive"
DB_FILE = "jobyard-db-url"  # in the hooks folder, mode 0600: the URL may hold a password
_OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_TEMPLATE = """#!{python}
# Installed by `jobyard scripts init-repo`: a push checks the branch out into the scripts
# directory and syncs the job types. Re-run init-repo to rewrite this file.
import sys

from jobyard.cli.hook import post_receive

sys.exit(post_receive(
    repo={repo!r},
    work={work!r},
    cwd={cwd!r},
    config={config!r},
    db={db!r},
    db_file={db_file!r},
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
        raise InvalidInput(
            _("the scripts directory {target} cannot be inside the repository", target=target)
        )
    created = False
    bare = _is_bare_repo(repo)
    if repo.exists() and not bare and (not repo.is_dir() or any(repo.iterdir())):
        raise InvalidInput(_("{repo} exists and is not a bare git repository", repo=repo))
    if not repo.exists() or not _is_bare_repo(repo):
        repo.parent.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["git", "init", "--bare", "-q", str(repo)], capture_output=True, text=True
            )
        except FileNotFoundError:
            raise InvalidInput(_("git is not installed (or not on PATH)")) from None
        if done.returncode != 0:
            raise InvalidInput(
                _("git init --bare {repo} failed: {strip}", repo=repo, strip=done.stderr.strip())
            )
        created = True
    target.mkdir(parents=True, exist_ok=True)
    hook = repo / "hooks" / HOOK
    hook.parent.mkdir(exist_ok=True)
    url = absolute_db(db)
    db_file = hook.parent / DB_FILE
    inline = url is None or url.startswith("sqlite:")  # a file path holds no secret
    if inline:
        db_file.unlink(missing_ok=True)
    else:
        assert url is not None
        _write_private(db_file, url + "\n")
    hook.write_text(
        _TEMPLATE.format(
            python=python or sys.executable,
            repo=str(repo),
            work=str(target),
            cwd=os.getcwd(),
            config=os.path.abspath(config) if config else None,
            db=url if inline else None,
            db_file=None if inline else str(db_file),
        )
    )
    hook.chmod(0o755)  # it holds no secret (see DB_FILE)
    return InitResult(str(repo), str(target), str(hook), created)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only, also when the file existed with a wider mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _git(repo: str, *args: str, work: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    cmd = ["git", f"--git-dir={repo}"]
    if work is not None:
        cmd.append(f"--work-tree={work}")
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env)


def bad_ref(repo: str, ref: str) -> str | None:
    """Why a pushed ref name is not deployable (None if it is fine).

    Refused: any component starting with ``-`` (git would read it as an option), and
    whatever ``git check-ref-format`` refuses."""
    if not ref.startswith("refs/") or any(part.startswith("-") for part in ref.split("/")):
        return "a ref name part may not start with '-'"
    if _git(repo, "check-ref-format", ref).returncode != 0:  # starts with refs/: no option
        return "git check-ref-format refuses it"
    return None


def _deploy_branch(
    repo: str, pushed: list[tuple[str, str, str]], out: TextIO
) -> tuple[str, str] | None:
    """The (branch, commit id) to check out: HEAD's; or, in a fresh repository, the one
    pushed. Refs with unusable names or object ids are reported and never deployed."""
    usable = []
    for old, new, ref in pushed:
        why = bad_ref(repo, ref)
        if why is None and not (_OBJECT_ID.match(new) and _OBJECT_ID.match(old)):
            why = "not an object id"
        if why is not None:
            out.write(f"jobyard: ignored ref {ref!r}: {why}; nothing of it is deployed\n")
            continue
        usable.append((old, new, ref))
    head = _git(repo, "symbolic-ref", "-q", "HEAD").stdout.strip() or "refs/heads/main"
    for _unused, new, ref in usable:
        if ref == head:
            if new.strip("0") == "":
                out.write(f"jobyard: {ref} was deleted; nothing deployed\n")
                return None
            return ref, new
    branches = [
        (ref, new)
        for _unused, new, ref in usable
        if ref.startswith("refs/heads/") and new.strip("0")
    ]
    if _git(repo, "rev-parse", "-q", "--verify", "HEAD").returncode != 0 and branches:
        _git(repo, "symbolic-ref", "HEAD", branches[0][0])  # first push: adopt its branch
        return branches[0]
    if usable:
        names = ", ".join(ref for _unused, _unused, ref in usable)
        out.write(f"jobyard: only {head} is deployed; not {names}\n")
    return None


def receive(
    repo: str, work: str, db: str | None, db_file: str | None, stdin: TextIO, out: TextIO
) -> tuple[str, str | None] | int:
    """Read the pushed refs and check the deployed branch out into ``work``: its name and
    the database URL, or the hook's exit status when there is nothing (more) to do."""
    pushed = []
    for line in stdin:
        parts = line.split()
        if len(parts) == 3:
            pushed.append((parts[0], parts[1], parts[2]))
    picked = _deploy_branch(repo, pushed, out)
    if picked is None:
        out.flush()
        return 0
    branch, commit = picked
    if db_file is not None:
        try:
            with open(db_file, encoding="utf-8") as f:
                db = f.read().strip() or None
        except OSError as exc:
            out.write(f"jobyard: cannot read the database URL from {db_file}: {exc.strerror}\n")
            return 1
    os.makedirs(work, exist_ok=True)
    # By commit id (checked above), never by the pushed name: the index follows the tree,
    # files removed in git go, files never tracked stay.
    done = _git(repo, "read-tree", "-u", "--reset", commit, work=work)
    if done.returncode != 0:
        out.write(f"jobyard: checkout into {work} failed: {done.stderr.strip()}\n")
        return 1
    return branch, db
