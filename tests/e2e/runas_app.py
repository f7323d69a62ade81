"""Actions for tests/e2e/test_run_as.py: report who their local shell commands run as."""

from __future__ import annotations

import os
from typing import Any

from jobyard import Yard

yard = Yard()

PROBE = 'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) cwd=$(pwd)"; env | sed "s/^/env: /"'


@yard.action("box")
def whoami(ctx: Any) -> None:
    ctx.report(ctx.shell.run(PROBE, quiet=True).stdout)


# The type's own run_as: the user comes from the test (its users are made per session).
@yard.action("plain", run_as=os.environ.get("JYT_ACTION_USER") or None)
def typed(ctx: Any) -> None:
    ctx.report(ctx.shell.run(PROBE, quiet=True).stdout)
