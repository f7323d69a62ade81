"""RQ job functions for the benchmark (worker: ``rq worker``; jobs reference ``tasks_rq.noop``)."""

from __future__ import annotations

import probe


def noop(i: int, pad: str) -> None:
    probe.job()


def lat(sid: int) -> None:
    probe.record_start(sid)
