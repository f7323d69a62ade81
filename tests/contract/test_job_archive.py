"""The archive of finished jobs (migration 0022, ``[retention] archive_hours``): retention
moves finished jobs out of the hot table; every read still sees them and every change of
one moves it back first. On both backends."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from tests.helpers import until

from jobyard import Yard, lifecycle, manage
from jobyard.config import Retention, load_config
from jobyard.errors import ConfigError
from jobyard.feed import Feed
from jobyard.retention import archive_jobs, prune_jobs
from jobyard.store.jobs import JobFilter

HOUR = 3600.0
ARCHIVE = Retention(jobs_days=30, archive_hours=1)


@pytest.fixture(autouse=True)
def _types(yard: Yard) -> None:
    yard.job(name="r")(lambda job, **data: None)


def finish(yard: Yard, n: int, at: float, jobset: int | None = None) -> list[int]:
    options = {} if jobset is None else {"jobset": jobset}
    ids = yard.enqueue_many("r", [{"i": i} for i in range(n)], **options)
    now = time.time()
    jobs = yard.store.claim("w", "x", ["default"], ["r"], n, now, now + 30)
    assert len(jobs) == n
    yard.store.append_logs(
        [{"job_id": i, "time": at, "run_id": "x", "level": "info", "message": f"line {i}"}
         for i in ids]
    )  # fmt: skip
    lifecycle.complete(yard.store, [(j, {"r": j.id}) for j in jobs], at)
    return ids


def archived(yard: Yard) -> set[int]:
    return set(yard.store.archived_upto(2**62, 10_000))


def test_old_finished_jobs_move_and_every_read_still_sees_them(yard: Yard) -> None:
    now = time.time()
    old = finish(yard, 5, now - 3 * HOUR)
    recent = finish(yard, 2, now - 60)
    waiting = yard.enqueue("r").id
    assert archive_jobs(yard.store, now, ARCHIVE, chunk=2) == 5
    assert archived(yard) == set(old)
    assert archive_jobs(yard.store, now, ARCHIVE) == 0  # nothing more is due
    # one job, a list, paging, counts, filters: as if nothing had moved
    job = yard.find(old[0])
    assert job is not None and (job.status, job.result) == ("completed", {"r": old[0]})
    assert yard.job_log(old[0])[-1]["message"] == f"line {old[0]}"
    everything = [waiting, *reversed(recent), *reversed(old)]
    assert [j.id for j in yard.jobs(limit=100)] == everything
    assert [j.id for j in yard.jobs(limit=3)] == everything[:3]
    page = yard.store.query_jobs(JobFilter(before_id=recent[0], limit=2))
    assert [j.id for j in page] == [old[4], old[3]]
    oldest = yard.store.query_jobs(JobFilter(oldest_first=True, limit=3))
    assert [j.id for j in oldest] == old[:3]
    assert yard.count() == 8
    assert yard.count(status="completed") == 7
    assert [j.id for j in yard.jobs(status="ready", limit=100)] == [waiting]
    assert [j.id for j in yard.store.get_jobs([recent[0], old[1], 10**9, old[1]])] == [
        recent[0],
        old[1],
        old[1],
    ]


def test_the_newest_job_row_is_never_archived(yard: Yard) -> None:
    now = time.time()
    ids = finish(yard, 3, now - 3 * HOUR)
    assert archive_jobs(yard.store, now, ARCHIVE) == 2
    assert archived(yard) == set(ids[:2])
    assert yard.enqueue("r").id == ids[-1] + 1  # ids keep growing


def test_no_archive_when_archive_hours_is_off(yard: Yard) -> None:
    now = time.time()
    finish(yard, 3, now - 300 * HOUR)
    assert archive_jobs(yard.store, now, Retention(archive_hours=None)) == 0
    assert archived(yard) == set()


def test_changing_an_archived_job_moves_it_back(yard: Yard) -> None:
    now = time.time()
    cancelled = yard.enqueue("r").id
    manage.cancel(yard.store, [cancelled], now - 3 * HOUR)
    ids = finish(yard, 4, now - 3 * HOUR)
    assert archive_jobs(yard.store, now, ARCHIVE) == 4
    feed = Feed(yard.store)

    def created() -> list[int]:
        return [e.job_id for e in feed.read(limit=1000, kinds=["job.created"])[0]]

    until(lambda: len(created()) == 5)
    assert yard.restart([cancelled]) == [cancelled]
    assert cancelled not in archived(yard)
    assert yard.find(cancelled).status == "ready"  # type: ignore[union-attr]
    t = time.time()
    (job,) = yard.store.claim("w", "y", ["default"], ["r"], 1, t, t + 30)
    assert job.id == cancelled
    rerun = yard.rerun(ids[0])  # a copy; the original is read (and moved back) only
    assert rerun.id > ids[-1] and yard.find(ids[0]).status == "completed"  # type: ignore[union-attr]
    assert yard.remove([ids[1]]) == [ids[1]]
    assert yard.find(ids[1]) is None and ids[1] not in archived(yard)
    assert yard.store.tombstoned([ids[1]]) == {ids[1]}
    # moving back is no new job: no second job.created
    until(lambda: len(created()) == 6)
    time.sleep(0.2)
    assert created() == [cancelled, *ids, rerun.id]


def test_a_job_may_depend_on_an_archived_one(yard: Yard) -> None:
    now = time.time()
    done = finish(yard, 2, now - 3 * HOUR)
    archive_jobs(yard.store, now, ARCHIVE)
    assert done[0] in archived(yard)
    after = yard.enqueue("r", depends=[done[0]])
    assert yard.find(after.id).status == "ready"  # type: ignore[union-attr]


def test_a_jobset_counts_its_archived_jobs(yard: Yard) -> None:
    now = time.time()
    jobset = yard.store.insert_jobset("test", "js", "{}", now)
    early = finish(yard, 2, now - 3 * HOUR, jobset=jobset)
    last = yard.enqueue("r", jobset=jobset).id
    yard.enqueue("r")  # the newest job row, so every early one may move
    assert archive_jobs(yard.store, now, ARCHIVE) == 2
    t = time.time()
    (job,) = yard.store.claim("w", "z", ["default"], ["r"], 1, t, t + 30)
    assert job.id == last
    lifecycle.complete(yard.store, [(job, None)], now)
    feed = Feed(yard.store)
    # announced when the early two ended (then alone in it), and again now
    until(lambda: len(feed.read(limit=100, kinds=["jobset.finished"])[0]) == 2)
    event = feed.read(limit=100, kinds=["jobset.finished"])[0][-1]
    assert (event.data["total"], event.data["completed"]) == (3, 3)
    assert event.data["jobs"] == {str(i): "completed" for i in [*early, last]}
    members = yard.store.query_jobs(JobFilter(jobset=jobset))
    assert sorted(j.id for j in members) == sorted([*early, last])


def test_retention_prunes_the_archive_too(yard: Yard) -> None:
    now = time.time()
    old = finish(yard, 3, now - 40 * 86400)
    mid = finish(yard, 3, now - 3 * HOUR)
    yard.enqueue("r")
    assert archive_jobs(yard.store, now, ARCHIVE) == 6
    assert prune_jobs(yard.store, now, ARCHIVE, chunk=2) == 3
    assert archived(yard) == set(mid)
    assert yard.job_log(old[0]) == []
    # a count limit counts both tables: the newest two finished stay
    assert prune_jobs(yard.store, now, Retention(jobs_days=None, jobs_keep=2)) == 1
    assert archived(yard) == set(mid[1:])


def test_two_changes_of_one_archived_job_at_once(yard: Yard) -> None:
    """Two transactions moving the same job back at once: one moves it, the other then
    finds it in jobs (PostgreSQL: it waits on the row lock)."""
    now = time.time()
    ids = finish(yard, 2, now - 3 * HOUR)
    archive_jobs(yard.store, now, ARCHIVE)
    seen: list[list[int]] = []
    start = threading.Barrier(2)

    def read() -> None:
        start.wait()
        with yard.store.transaction():
            seen.append([j.id for j in yard.store.get_jobs([ids[0]], lock=True)])
            time.sleep(0.1)
        yard.store.close_thread()

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == [[ids[0]], [ids[0]]]
    assert archived(yard) == set()
    assert yard.count() == 2


def test_archive_hours_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text("[retention]\narchive_hours = 0.5\n")
    assert load_config(str(path)).retention.archive_hours == 0.5
    path.write_text("[retention]\narchive_hours = 0\n")
    assert load_config(str(path)).retention.archive_hours is None
    assert Retention().archive_hours == 1.0
    path.write_text('[retention]\narchive_hours = "soon"\n')
    with pytest.raises(ConfigError, match="archive_hours must be a number of hours"):
        load_config(str(path))
