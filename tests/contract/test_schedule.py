"""Cron schedules on every backend: one job per tick however many schedulers run."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from jobyard import InvalidInput, Yard, scheduler
from jobyard.scheduler import last_tick, tick

EVERY_SECOND = "*/1 * * * * *"
T = 1_700_000_000.0  # a fake clock: 2023-11-14T22:13:20Z, a whole second


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def scheduled(yard: Yard, name: str = "beat", schedule: str = EVERY_SECOND, **meta: Any) -> None:
    """A type with a schedule as ``jobyard type set`` records it (a script type, say)."""
    store = yard.store
    row = {
        "name": name,
        "kind": "script",
        "enabled": 1,
        "now": time.time(),
        "meta": store.encode_json({"schedule": schedule, **meta}),
    }
    store.execute("upsert_type", row)
    yard.stored_types(refresh=True)


def ticks_of(yard: Yard, type_name: str = "beat") -> list[str]:
    return sorted(j.props["tick"] for j in yard.jobs(type=type_name, limit=None))


def test_each_tick_fires_one_job_with_its_schedule_and_tick(yard: Yard) -> None:
    scheduled(yard)
    (first,) = tick(yard, T + 0.5)
    job = yard.get(first).job
    assert job.props == {"schedule": EVERY_SECOND, "tick": "2023-11-14T22:13:20+00:00"}
    assert job.status == "ready" and job.type == "beat"
    assert tick(yard, T + 0.5) == []
    assert len(tick(yard, T + 3.2)) == 3
    assert ticks_of(yard) == [f"2023-11-14T22:13:{s}+00:00" for s in (20, 21, 22, 23)]
    assert last_tick(yard, "beat") == T + 3


def test_a_second_scheduler_never_fires_the_same_tick(yard: Yard) -> None:
    scheduled(yard)
    other = Yard(yard.url)
    try:
        assert len(tick(yard, T + 0.5)) == 1
        assert tick(other, T + 0.5) == []
        assert len(tick(other, T + 2.5)) == 2
        assert tick(yard, T + 2.5) == []
    finally:
        other.close()
    assert len(ticks_of(yard)) == 3


def test_a_clock_going_back_neither_refires_nor_fires_early(yard: Yard) -> None:
    scheduled(yard)
    assert len(tick(yard, T + 10.5)) == 1
    assert tick(yard, T + 5.0) == []  # the clock went back: T+1..T+5 are not fired now
    restarted = Yard(yard.url)  # no memory of its own: the recorded tick is what counts
    try:
        assert tick(restarted, T + 5.0) == []
        assert tick(restarted, T + 10.9) == []
        (later,) = tick(restarted, T + 11.1)
    finally:
        restarted.close()
    assert yard.get(later).job.props["tick"] == "2023-11-14T22:13:31+00:00"
    assert len(ticks_of(yard)) == 2


def test_downtime_skips_missed_ticks_unless_catchup_latest(yard: Yard) -> None:
    ten = at("2024-05-01T10:00:00+00:00")
    scheduled(yard, "skipper", "@hourly")
    scheduled(yard, "catcher", "@hourly", catchup="latest")
    assert len(tick(yard, ten + 5)) == 2
    restarted = Yard(yard.url)
    try:
        (caught,) = tick(restarted, ten + 3.5 * 3600)  # 11, 12 and 13:00 were missed
        assert tick(restarted, ten + 3.6 * 3600) == []
        assert len(tick(restarted, ten + 4 * 3600 + 30)) == 2  # 14:00 is within grace
    finally:
        restarted.close()
    assert yard.get(caught).job.type == "catcher"
    assert ticks_of(yard, "catcher") == [
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T13:00:00+00:00",
        "2024-05-01T14:00:00+00:00",
    ]
    assert ticks_of(yard, "skipper") == ["2024-05-01T10:00:00+00:00", "2024-05-01T14:00:00+00:00"]


def test_catchup_latest_from_the_config(yard: Yard) -> None:
    ten = at("2024-05-01T10:00:00+00:00")
    yard.config.raw["scheduler"] = {"catchup": "latest"}
    scheduled(yard, "hourly", "@hourly")
    tick(yard, ten + 1)
    assert len(tick(yard, ten + 5.5 * 3600)) == 1
    assert ticks_of(yard, "hourly")[-1] == "2024-05-01T15:00:00+00:00"


def test_disabled_deleted_and_unscheduled_types_do_not_fire(yard: Yard) -> None:
    scheduled(yard, "on")
    scheduled(yard, "off")
    scheduled(yard, "gone", deleted=True)
    yard.store.execute("set_type_enabled", {"name": "off", "enabled": 0, "now": time.time()})
    meta = yard.store.encode_json({"on": []})
    row = {"name": "plain", "kind": "script", "enabled": 1, "now": 0, "meta": meta}
    yard.store.execute("upsert_type", row)
    yard.stored_types(refresh=True)
    tick(yard, T + 0.5)
    assert {j.type for j in yard.jobs(limit=None)} == {"on"}
    # An hour later, "off" enabled again: it starts afresh, and "on" fires only the ticks of
    # the last 60 s (the grace window); the hour's other ticks are skipped, not replayed.
    yard.store.execute("set_type_enabled", {"name": "off", "enabled": 1, "now": time.time()})
    yard.stored_types(refresh=True)
    fired = Counter(yard.get(i).job.type for i in tick(yard, T + 3600.5))
    assert fired == {"on": 60, "off": 1}


def test_python_type_schedule_and_time_zone_come_from_sync_types(yard: Yard) -> None:
    @yard.job(schedule="0 9 * * *", timezone="Europe/Paris")
    def report(job):  # type: ignore[no-untyped-def]
        return None

    yard.sync_types()
    reader = Yard(yard.url)  # another process: knows the type only from the store
    try:
        assert reader.stored_types()["report"].meta["timezone"] == "Europe/Paris"
        (job_id,) = tick(reader, at("2024-07-01T07:00:10+00:00"))  # 09:00 CEST
    finally:
        reader.close()
    assert yard.get(job_id).job.props["tick"] == "2024-07-01T09:00:00+02:00"


def test_dst_spring_forward_daily_0230_fires_once(yard: Yard) -> None:
    scheduled(yard, "nightly", "30 2 * * *", timezone="Europe/Paris")
    now = at("2024-03-30T23:00:00+01:00")
    while now < at("2024-03-31T06:00:00+02:00"):  # a scheduler every minute all night
        tick(yard, now)
        now += 60
    assert ticks_of(yard, "nightly") == ["2024-03-31T03:00:00+02:00"]


def test_dst_fall_back_daily_0230_fires_once(yard: Yard) -> None:
    scheduled(yard, "nightly", "30 2 * * *", timezone="Europe/Paris")
    now = at("2024-10-26T23:00:00+02:00")
    while now < at("2024-10-27T06:00:00+01:00"):
        tick(yard, now)
        now += 60
    assert ticks_of(yard, "nightly") == ["2024-10-27T02:30:00+02:00"]


def test_the_tick_and_its_job_commit_together(yard: Yard, monkeypatch: pytest.MonkeyPatch) -> None:
    scheduled(yard)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise InvalidInput("refused")

    monkeypatch.setattr(yard, "enqueue", refuse)
    assert tick(yard, T + 0.5) == []
    assert last_tick(yard, "beat") is None  # the tick row was rolled back with the job
    monkeypatch.undo()
    assert len(tick(yard, T + 0.5)) == 1
    assert last_tick(yard, "beat") == T


def test_old_ticks_are_pruned_but_each_type_keeps_its_latest(yard: Yard) -> None:
    scheduled(yard)
    scheduled(yard, "rare", "@yearly")
    store = yard.store
    for name, stamp in [("beat", 1000), ("beat", 2000), ("rare", 1500)]:
        store.execute("insert_schedule_tick", {"type": name, "tick": stamp, "now": 0})
    tick(yard, T + 0.5)
    scheduler.join_housekeeping(yard, 30)  # the hourly pass runs in a thread of its own
    rows = store._execute("SELECT type, tick FROM schedule_ticks ORDER BY type, tick", {})
    kept = [(r[0], int(r[1])) for r in rows.fetchall()]
    assert ("rare", 1500) in kept  # old, but the latest of its type
    assert ("beat", 1000) not in kept and ("beat", 2000) not in kept
    assert [t for name, t in kept if name == "beat"] == list(range(int(T) - 59, int(T) + 1))


def test_status_lists_last_and_next_tick(yard: Yard) -> None:
    scheduled(yard, "hourly", "@hourly")
    ten = at("2024-05-01T10:00:00+00:00")
    tick(yard, ten + 1)
    (row,) = scheduler.status(yard, ten + 60)
    assert row["type"] == "hourly" and row["catchup"] == "skip" and row["timezone"] is None
    assert (row["last"], row["next"]) == (ten, ten + 3600)


def test_three_schedulers_at_once_fire_each_second_exactly_once(store_url: str) -> None:
    setup = Yard(store_url)
    scheduled(setup)
    yards = [Yard(store_url) for _ in range(3)]
    created: list[list[int]] = [[] for _ in yards]
    errors: list[BaseException] = []
    start = time.time()
    end = start + 3.2

    def run(index: int) -> None:
        try:
            while time.time() < end:
                created[index].extend(tick(yards[index]))
                time.sleep(0.01)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for y in yards:
        y.close()
    assert not errors
    jobs = setup.jobs(type="beat", limit=None)
    setup.close()
    ids = sorted(i for part in created for i in part)
    assert ids == sorted(j.id for j in jobs)  # every job was made by one of the schedulers
    stamps = sorted(datetime.fromisoformat(j.props["tick"]).timestamp() for j in jobs)
    assert len(stamps) >= 3
    assert len(set(stamps)) == len(stamps)  # exactly one job per tick
    assert stamps == [stamps[0] + i for i in range(len(stamps))]  # and no second missed
    assert stamps[0] <= start + 1 and stamps[-1] >= end - 1.5
