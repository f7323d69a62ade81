"""The job type of bench/scaleout.py: a no-op, loaded by ``jobyard worker`` on every host."""

from __future__ import annotations

from typing import Any

from jobyard import Yard

yard = Yard()


@yard.job(name="noop")
def noop(job: Any, **data: Any) -> None:
    return None
