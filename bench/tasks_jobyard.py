"""jobyard job types for the benchmark, shared by the adapters and ``jobyard_worker.py``."""

from __future__ import annotations

from typing import Any

import probe


def build_yard(url: str) -> Any:
    """A ``Yard`` on ``url`` with the ``noop`` and ``lat`` job types registered."""
    from jobyard import Yard

    yard = Yard(url)

    @yard.job(name="noop")
    def noop(job: Any, **data: Any) -> None:
        probe.tick()

    @yard.job(name="lat")
    def lat(job: Any, sid: int) -> None:
        probe.record_start(sid)

    return yard
