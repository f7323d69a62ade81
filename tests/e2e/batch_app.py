"""Actions for tests/e2e/test_batch_cli.py: each appends its name to the site's ``runs`` file."""

from __future__ import annotations

from typing import Any

from jobyard import Yard

yard = Yard()


def _note(ctx: Any, what: str) -> None:
    runs = ctx.site.root + "/runs"
    ctx.shell.run(
        ["mkdir -p " + ctx.shell.quote(ctx.site.root), f"echo {what} >> " + ctx.shell.quote(runs)]
    )


@yard.action("app")
def greet(ctx: Any) -> None:
    _note(ctx, "greet")
    ctx.report("greeted " + ctx.site.name)


@yard.action("app")
def check(ctx: Any) -> None:
    ctx.shell.run(("test", "!", "-e", ctx.site.root + "/broken"))  # fails while it exists
    _note(ctx, "check")


@yard.action("app")
def slow(ctx: Any) -> None:
    _note(ctx, "slow-start")
    ctx.shell.run(("sleep", str(ctx.site.get("sleep", 0))))
    _note(ctx, "slow-end")
