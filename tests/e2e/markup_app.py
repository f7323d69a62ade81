"""Job types whose names, queues, logs, errors and results look like rich markup."""

from __future__ import annotations

from typing import Any

from jobyard import Fatal, Yard
from jobyard.context import JobContext

MARKUP = "[/]x[bold]y[/] [ok] <script>"
yard = Yard()


@yard.job(name="[bold]t[/]", queue="[/]q")
def marked(job: JobContext, **data: Any) -> str:
    for level in ("info", "success", "warning", "danger"):
        job.log(f"{level} {MARKUP}", level=level)
    return MARKUP


@yard.job(name="fails[/]")
def fails(job: JobContext) -> None:
    raise Fatal(f"bad {MARKUP}")
