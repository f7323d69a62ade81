"""What a worker really does, on every backend: N jobs at once for concurrency=N, cron
repeats that run, log levels kept as given (issue #7 §6: these had no test)."""

from __future__ import annotations

import threading
import time

import pytest
from tests.helpers import until

from jobyard import InvalidInput, Repeat, Yard
from jobyard.model import LOG_LEVELS


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The largest number of [start, end) intervals that overlap at one instant."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    level = peak = 0
    for _, step in edges:  # at equal times an end (-1) sorts first: touching is not overlap
        level += step
        peak = max(peak, level)
    return peak


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_n_runs_n_jobs_at_once_and_never_more(yard: Yard, concurrency: int) -> None:
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    # Every job of the first N waits for the other N-1: this passes only if N run at once.
    barrier = threading.Barrier(concurrency, timeout=15)

    @yard.job
    def work(job, first):  # type: ignore[no-untyped-def]
        start = time.monotonic()
        if first:
            barrier.wait()
        time.sleep(0.2)
        with lock:
            spans.append((start, time.monotonic()))

    jobs = [yard.enqueue("work", {"first": i < concurrency}) for i in range(3 * concurrency)]
    w = yard.worker(concurrency=concurrency, prefetch=2 * concurrency).start()
    try:
        for h in jobs:
            h.wait(timeout=30, raise_on_failure=True)
    finally:
        w.stop()
    assert len(spans) == 3 * concurrency
    assert most_at_once(spans) == concurrency


def test_a_cron_repeat_runs_on_a_worker_once_per_tick(yard: Yard) -> None:
    @yard.job
    def beat(job):  # type: ignore[no-untyped-def]
        return job.job.repeated

    first = yard.enqueue("beat", repeat=Repeat(2, schedule="*/1 * * * * *"))
    w = yard.worker().start()
    try:

        def runs() -> list[object]:
            return [j for j in yard.jobs(type="beat", limit=None) if j.status == "completed"]

        until(lambda: len(runs()) == 3, timeout=20)
        time.sleep(1.5)  # repeats=2: nothing more comes after the third run
    finally:
        w.stop()
    found = sorted(yard.jobs(type="beat", limit=None), key=lambda j: j.id)
    assert [j.status for j in found] == ["completed"] * 3
    assert [j.result for j in found] == [0, 1, 2]
    assert found[0].id == first.id
    copies = found[1:]
    # Each copy was due on a whole second (a tick of the cron) and started at or after it.
    assert all(j.after == int(j.after) for j in copies)
    assert all(j.started is not None and j.started >= j.after for j in copies)
    assert copies[1].after > copies[0].after
    assert all(j.repeat_schedule == "*/1 * * * * *" for j in copies)


def test_log_levels_are_stored_as_given(yard: Yard) -> None:
    @yard.job
    def chatty(job):  # type: ignore[no-untyped-def]
        for level in LOG_LEVELS:
            job.log(f"a {level} line", level=level, data={"level": level})
        try:
            job.log("nope", level="loud")
        except InvalidInput as exc:
            return str(exc)
        return None

    h = yard.enqueue("chatty")
    w = yard.worker().start()
    try:
        h.wait(timeout=20)
    finally:
        w.stop()
    assert h.result == (f"invalid log level 'loud': use one of {', '.join(LOG_LEVELS)}")
    mine = [e for e in h.log if e["message"].startswith("a ")]
    assert [(e["level"], e["message"], e["data"]) for e in mine] == [
        (level, f"a {level} line", {"level": level}) for level in LOG_LEVELS
    ]
    assert not any(e["message"] == "nope" for e in h.log)


def test_tiny_jobs_keep_n_at_once_and_are_recorded_many_per_commit(yard: Yard) -> None:
    """Tiny sync jobs are queued to the handler threads ahead and their outcomes gathered
    while queued work remains: still never more than N at once, and far fewer commits
    than jobs (one per outcome starved the database thread: 2-3 jobs per commit)."""
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    @yard.job
    def tiny(job, i):  # type: ignore[no-untyped-def]
        start = time.monotonic()
        time.sleep(0.0005)
        with lock:
            spans.append((start, time.monotonic()))

    n = 600
    yard.enqueue_many("tiny", [{"i": i} for i in range(n)])
    w = yard.worker(concurrency=4)
    records: list[int] = []
    record = w.port.record

    def counting(batch, claim=None):  # type: ignore[no-untyped-def]
        records.append(len(batch))
        return record(batch, claim)

    w.port.record = counting  # type: ignore[method-assign]
    w.start()
    try:
        until(lambda: yard.count(status="completed") == n, timeout=60)
    finally:
        w.stop()
    assert len(spans) == n and sum(records) == n
    assert most_at_once(spans) <= 4
    assert len(records) <= n / 8, f"{len(records)} commits for {n} jobs"
