"""Numbers that are not finite or do not fit the store are refused before anything is written."""

from __future__ import annotations

import math
from typing import Any

import pytest

from jobyard import Yard
from jobyard.errors import InvalidInput

BAD: list[dict[str, Any]] = [
    {"priority": 99999999999999999999},
    {"priority": "99999999999999999999"},
    {"priority": 2**31},
    {"delay": math.nan},
    {"delay": math.inf},
    {"delay": 1e300},
    {"after": math.inf},
    {"after": 1e300},
    {"after": "99999-01-01T00:00:00"},
    {"retries": "inf"},
    {"retries": "nan"},
    {"retries": 2**40},
    {"timeout": math.nan},
    {"timeout": math.inf},
    {"jobset": "abc"},
    {"jobset": 2**70},
    {"site": {"a": 1}},
    {"depends": [2**70]},
]


@pytest.mark.parametrize("options", BAD, ids=lambda o: repr(o)[:40])
def test_bad_numbers_are_refused_and_write_nothing(yard: Yard, options: dict[str, Any]) -> None:
    @yard.job
    def noop(job: Any) -> None: ...

    with pytest.raises(InvalidInput):
        yard.enqueue("noop", {}, **options)
    assert yard.count() == 0


def test_extreme_but_valid_numbers_round_trip(yard: Yard) -> None:
    @yard.job
    def noop(job: Any) -> None: ...

    handle = yard.enqueue("noop", {}, priority=2**31 - 1, delay=86400 * 365 * 100)
    assert handle.refresh().priority == 2**31 - 1
    assert [j.to_dict()["id"] for j in yard.jobs()] == [handle.id]


def test_progress_with_total_zero_reads_100_percent_when_completed(yard: Yard) -> None:
    @yard.job
    def zero(job: Any) -> None:
        job.progress(5, 0)

    handle = zero.defer()
    worker = yard.worker(concurrency=1).start()
    try:
        job = handle.wait(timeout=30).refresh()
    finally:
        worker.stop()
    assert job.status == "completed" and job.percent == 100.0
    assert handle.progress["percent"] == 100.0


def test_handle_log_is_a_property_and_still_callable(yard: Yard) -> None:
    @yard.job
    def talk(job: Any) -> None:
        job.log("hello", level="warning")

    handle = talk.defer()
    worker = yard.worker(concurrency=1).start()
    try:
        handle.wait(timeout=30)
    finally:
        worker.stop()
    assert [e["message"] for e in handle.log if e["level"] == "warning"] == ["hello"]
    assert handle.log() == handle.log
