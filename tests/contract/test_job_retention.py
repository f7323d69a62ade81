"""Retention of finished jobs (jobyard.retention, ``[retention]``), on both backends."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from tests.helpers import until

from jobyard import Yard, lifecycle
from jobyard.config import Retention, load_config
from jobyard.errors import ConfigError
from jobyard.retention import Housekeeper, claim_run, prune_jobs


@pytest.fixture(autouse=True)
def _types(yard: Yard) -> None:
    yard.job(name="r")(lambda job, **data: None)


def finish(yard: Yard, n: int, at: float) -> list[int]:
    ids = yard.enqueue_many("r", [None] * n)
    now = time.time()
    jobs = yard.store.claim("w", "x", ["default"], ["r"], n, now, now + 30)
    assert len(jobs) == n
    lifecycle.complete(yard.store, [(j, None) for j in jobs], at)  # they ended at ``at``
    return ids


def test_old_finished_jobs_go_with_their_logs_the_rest_stays(yard: Yard) -> None:
    now = time.time()
    old = finish(yard, 5, now - 40 * 86400)
    recent = finish(yard, 3, now - 86400)
    waiting = yard.enqueue("r").id  # unfinished: never pruned
    gone = prune_jobs(yard.store, now, Retention(jobs_days=30), chunk=2)
    assert gone == 5
    assert sorted(j.id for j in yard.jobs(limit=100)) == sorted([*recent, waiting])
    assert yard.store.get_log(old[0]) == []
    assert yard.enqueue("r").id > waiting  # ids are never handed out again


def test_beyond_the_newest_keep_finished_jobs(yard: Yard) -> None:
    now = time.time()
    ids = finish(yard, 6, now)
    last = yard.enqueue("r").id
    assert prune_jobs(yard.store, now, Retention(jobs_days=None, jobs_keep=2)) == 4
    assert sorted(j.id for j in yard.jobs(limit=100)) == [ids[4], ids[5], last]


def test_the_newest_job_row_stays_so_ids_keep_growing(yard: Yard) -> None:
    now = time.time()
    ids = finish(yard, 3, now - 40 * 86400)
    assert prune_jobs(yard.store, now, Retention(jobs_days=30)) == 2
    assert [j.id for j in yard.jobs(limit=10)] == [ids[-1]]
    assert yard.enqueue("r").id == ids[-1] + 1


@pytest.mark.parametrize(
    "text",
    ["jobs_days = -1", "jobs_days = nan", "jobs_keep = 1.5", "jobs_keep = true", "keep = 3"],
)
def test_bad_retention_settings_are_refused_at_load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text(f"[retention]\n{text}\n")
    with pytest.raises(ConfigError, match=r"\[retention\]"):
        load_config(str(path))


def test_retention_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text("[retention]\njobs_days = 0\njobs_keep = 1000\ntombstones_days = 1\n")
    assert load_config(str(path)).retention == Retention(None, 1000, 1)
    assert Retention() == Retention(30.0, None, 7.0)


def test_one_process_per_period_runs_the_prunes(yard: Yard) -> None:
    """Every process that keeps house offers the hourly run; the first to record the
    period's tick runs it, the others (and a second offer) do nothing."""
    other = Yard(yard.store.url)
    try:
        now = 1_800_000_000.0
        assert claim_run(yard.store, now, every=60)
        assert not claim_run(other.store, now + 1, every=60)  # another process, same period
        assert not claim_run(yard.store, now + 59, every=60)
        assert claim_run(other.store, now + 61, every=60)  # the next period
    finally:
        other.close()


def test_the_housekeeper_prunes_in_a_thread_of_its_own_once_a_period(yard: Yard) -> None:
    now = time.time()
    old = finish(yard, 3, now - 40 * 86400)
    recent = finish(yard, 2, now)
    yard.config.retention = Retention(jobs_days=30)
    keeper, rival = Housekeeper(yard.store, yard.config), Housekeeper(yard.store, yard.config)
    assert keeper.offer(now)
    keeper.join(30)
    assert sorted(j.id for j in yard.jobs(limit=100)) == recent
    assert all(yard.store.get_log(i) == [] for i in old)
    assert not rival.offer(now)  # this period's run is taken
    assert not keeper.offer(now + 1)  # and asked for once per period


def test_a_worker_alone_prunes_old_finished_jobs(yard: Yard) -> None:
    """A deployment with no scheduler and no web: its workers keep the tables bounded."""
    now = time.time()
    old = finish(yard, 4, now - 40 * 86400)
    recent = finish(yard, 1, now)
    yard.config.retention = Retention(jobs_days=30)
    worker = yard.worker(heartbeat=0.2).start()
    try:
        until(lambda: {j.id for j in yard.jobs(limit=100)} == {recent[0]}, timeout=20)
    finally:
        worker.stop()
    assert all(yard.store.get_log(i) == [] for i in old)


def test_a_helper_thread_closing_its_connection_leaves_the_store_open(yard: Yard) -> None:
    first = yard.enqueue("r").id

    def helper() -> None:
        assert yard.count() == 1  # the helper's own connection
        yard.store.close_thread()

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join(10)
    assert yard.enqueue("r").id == first + 1  # this thread's connection and wake-ups still work
    assert yard.count() == 2
