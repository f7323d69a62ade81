"""jobyard job types for the benchmark, shared by the adapters and ``jobyard_worker.py``."""

from __future__ import annotations

import time
from typing import Any

import probe


def build_yard(url: str, **options: Any) -> Any:
    """A ``Yard`` on ``url`` (``options``: Yard config, e.g. ``lease``) with the ``noop``,
    ``lat`` and ``hold`` job types registered."""
    from jobyard import Yard

    yard = Yard(url, **options)

    @yard.job(name="noop")
    def noop(job: Any, **data: Any) -> None:
        probe.job()

    @yard.job(name="lat")
    def lat(job: Any, sid: int) -> None:
        probe.record_start(sid)

    @yard.job(name="hold")
    def hold(job: Any, sid: int, seconds: float = 120.0) -> None:
        # The rescue measurement kills the worker running this; a rescued run records again.
        probe.record_run(sid)
        time.sleep(seconds)

    return yard
