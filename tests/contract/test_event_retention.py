"""Retention of the event logs (jobyard.feed.prune, ``[events]``), on both backends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.helpers import until

from jobyard import Yard, feed
from jobyard.config import load_config
from jobyard.errors import ConfigError
from jobyard.events import list_events
from jobyard.feed import Feed


def fill(yard: Yard, n: int) -> None:
    yard.job(name="r")(lambda job, **data: None)
    yard.enqueue_many("r", [{"i": i} for i in range(n)])  # n job.created events
    for i in range(n):
        yard.emit("tick", {"i": i})


def created(yard: Yard, count: int = 0) -> list[int]:
    """The job ids of the job.created events, once ``count`` are readable (PostgreSQL shows
    an event once every older transaction of the server has ended: a moment)."""

    def read() -> list[int]:
        return [e.job_id for e in Feed(yard.store).read(limit=1000, kinds=["job.created"])[0]]

    until(lambda: len(read()) >= count)
    return read()


def test_rows_beyond_the_newest_keep_rows_go_oldest_first(yard: Yard) -> None:
    fill(yard, 30)
    before = created(yard, 30)
    gone = feed.prune(yard.store, time.time(), keep_days=7, keep_rows=10)
    assert gone == 40  # 20 of each log
    assert created(yard, 10) == before[-10:]
    assert [e.data["i"] for e in list_events(yard, limit=100)] == list(range(20, 30))
    assert feed.prune(yard.store, time.time(), keep_days=7, keep_rows=10) == 0


def test_rows_older_than_keep_days_go(yard: Yard) -> None:
    fill(yard, 5)
    assert feed.prune(yard.store, time.time(), keep_days=1, keep_rows=100) == 0
    # a day and a bit later, everything written now is old enough to go
    last = created(yard, 5)[-1]
    # a day and a bit later, all of it is old enough; the newest row of each log stays
    # (SQLite would hand its id out again: cursors must only ever grow)
    assert feed.prune(yard.store, time.time() + 1.01 * 86400, keep_days=1, keep_rows=100) == 8
    assert created(yard, 1) == [last]
    # a reader's old cursor simply goes on after the pruned part, with new ids
    late = yard.enqueue("r", {"late": True})
    assert created(yard, 2) == [last, late.id]
    assert Feed(yard.store).read(after=1, limit=10, kinds=["job.created"])[0][-1].job_id == late.id


def test_prune_works_in_chunks(yard: Yard, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(yard, 25)
    monkeypatch.setattr(feed, "PRUNE_CHUNK", 7)
    assert feed.prune(yard.store, time.time(), keep_days=7, keep_rows=3) == 44
    assert len(created(yard, 3)) == 3


@pytest.mark.parametrize(
    "text",
    [
        "keep_days = 0",
        "keep_days = nan",
        "keep_days = inf",
        "keep_rows = 0",
        "keep_rows = 1.5",
        "keep_rows = true",
        "kept = 3",
    ],
)
def test_bad_retention_settings_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text(f"[events]\n{text}\n")
    with pytest.raises(ConfigError, match=r"\[events\]|keep_days"):
        load_config(str(path))


def test_retention_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text("[events]\nkeep_days = 2.5\nkeep_rows = 500\n")
    cfg = load_config(str(path))
    assert (cfg.events_keep_days, cfg.events_keep_rows) == (2.5, 500)
