"""Job types of the nodes CLI tests (AnyJob's face)."""

from __future__ import annotations

import socket

from jobyard import Yard

yard = Yard()


@yard.job(min_nodes=1, max_nodes=4)
def restart(job, service: str, count: int = 1, force: bool = False) -> dict:  # type: ignore[no-untyped-def]
    for i in range(count):
        job.progress(i + 1, count)
    return {"service": service, "count": count, "force": force, "host": socket.gethostname()}


yard.abstract("restart_all", "restart")
