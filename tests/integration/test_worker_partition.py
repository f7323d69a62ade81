"""A worker cut off from PostgreSQL (a network partition, not a refused connection) for
longer than its lease stops its own job before another worker rescues and runs it."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest
from tests.faultpg import Proxy
from tests.helpers import until

from jobyard import Yard

pytestmark = [pytest.mark.postgres]


def test_partitioned_worker_stops_its_job_before_the_rescue(pg_url: str) -> None:
    proxy = Proxy(urlsplit(pg_url).port or 5432)  # only worker A talks through it
    events: list[tuple[str, str, float]] = []  # (worker, what, when)
    lock = threading.Lock()

    def note(who: str, what: str) -> None:
        with lock:
            events.append((who, what, time.monotonic()))

    def register(yard: Yard, who: str) -> None:
        @yard.job
        def long(job):  # type: ignore[no-untyped-def]
            note(who, "start")
            began = time.monotonic()
            while time.monotonic() - began < 4 and not job.cancelled:
                time.sleep(0.02)
            note(who, "cancelled" if job.cancelled else "end")
            return who

    cut = Yard(proxy.url(urlsplit(pg_url).path.lstrip("/")))
    direct = Yard(pg_url)
    register(cut, "A")
    register(direct, "B")
    a = cut.worker(name="A", concurrency=1, lease=1, housekeeping=False).start()
    b = None
    try:
        h = direct.enqueue("long")
        until(lambda: ("A", "start") in [(w, e) for w, e, _ in events])
        b = direct.worker(name="B", concurrency=1, lease=1).start()  # rescues expired leases
        proxy.pause()  # A's statements now hang: no renewal, no outcome
        until(lambda: ("B", "end") in [(w, e) for w, e, _ in events], timeout=20)
        h.wait(timeout=10)
        proxy.resume()
    finally:
        proxy.resume()
        if b is not None:
            b.stop()
        a.stop(timeout=15)
        proxy.close()
        cut.close()
        direct.close()
    when = {(w, e): t for w, e, t in events}
    assert ("A", "cancelled") in when, events  # A gave its job up ...
    assert when[("A", "cancelled")] < when[("B", "start")], events  # ... before B took it
    assert h.status == "completed" and h.result == "B"
    assert h.job.interruptions == 1  # rescued once; A's outcome was never written
