"""The body of the git ``post-receive`` hook that ``jobyard scripts init-repo`` installs:
check the pushed branch out (jobyard.scripts.deploy), then sync the script types."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from jobyard.config import load_config
from jobyard.errors import JobyardError
from jobyard.scripts.deploy import receive
from jobyard.scripts.sync import sync_scripts
from jobyard.yard import Yard


def post_receive(
    repo: str,
    work: str,
    cwd: str,
    config: str | None,
    db: str | None,
    db_file: str | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """Read the pushed refs, check out, sync, print the report; the hook's exit status."""
    out = out or sys.stdout
    picked = receive(repo, work, db, db_file, stdin or sys.stdin, out)
    if isinstance(picked, int):
        return picked
    branch, db = picked
    try:
        os.chdir(cwd)
    except OSError:
        pass  # the project moved: absolute paths still work
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
