"""The no-op job type of bench/remote.py."""

from __future__ import annotations

from jobyard import Yard

yard = Yard()


@yard.job
def bench_noop(job, **data) -> None:  # type: ignore[no-untyped-def]
    return None
