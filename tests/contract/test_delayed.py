"""Delayed works (jobyard.delayed), on both backends: skip N on an every-second crontab,
exactly once per tick across schedulers, a one-shot at a time, pause/resume, nodes, and
bad input refused before anything is saved."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from jobyard import Yard, delayed
from jobyard.errors import InvalidInput, NotFound
from jobyard.events import list_events


@pytest.fixture(autouse=True)
def _types(yard: Yard) -> None:
    @yard.job
    def backup(job, full: bool = False) -> bool:  # type: ignore[no-untyped-def]
        return full


@pytest.fixture
def other(store_url: str, yard: Yard) -> Iterator[Yard]:
    """A second scheduler's process on the same database."""
    y = Yard(store_url)
    for jt in yard.types.values():
        y.registry.add(jt)
    yield y
    y.close()


def names(yard: Yard) -> list[str]:
    return [e.name for e in list_events(yard, limit=1000) if e.name.startswith("delayed.")]


def test_skip_two_on_every_second_then_it_runs(yard: Yard) -> None:
    w = delayed.add(yard, "backup", cron="* * * * * *", data={"full": True}, skip=2)
    base = float(int(w.created)) + 1
    assert delayed.fire_due(yard, base) == []
    assert delayed.fire_due(yard, base + 1) == []
    made = delayed.fire_due(yard, base + 2)
    assert len(made) == 1
    assert names(yard) == ["delayed.created", "delayed.skipped", "delayed.skipped", "delayed.fired"]
    job = yard.get(made[0]).job
    assert job.data == {"full": True} and job.props["delayed"] == w.id
    assert delayed.get(yard, w.id).skip == 0 and delayed.get(yard, w.id).fired == 1


def test_each_tick_fires_once_across_schedulers(yard: Yard, other: Yard) -> None:
    w = delayed.add(yard, "backup", cron="* * * * * *")
    base = float(int(w.created)) + 1
    made = []
    for t in (base, base + 1, base + 2):
        made += delayed.fire_due(yard, t) + delayed.fire_due(other, t)
    assert len(made) == 3 == yard.count()
    assert delayed.get(yard, w.id).fired == 3


def test_an_at_work_fires_once_and_is_done(yard: Yard) -> None:
    at = time.time() + 30
    w = delayed.add(yard, "backup", at=at)
    assert delayed.fire_due(yard, at - 1) == []
    assert len(delayed.fire_due(yard, at + 0.5)) == 1
    assert delayed.fire_due(yard, at + 5) == []
    assert delayed.get(yard, w.id).done


def test_paused_works_wait_and_nodes_make_jobsets(yard: Yard) -> None:
    w = delayed.add(yard, "backup", cron="* * * * * *", nodes=["db1", "db2"], paused=True)
    assert delayed.fire_due(yard, w.created + 5) == []
    delayed.pause(yard, w.id, False)
    # the ticks it slept through are not owed: only the first one after the resume fires
    made = delayed.fire_due(yard, float(int(time.time())) + 1)
    assert sorted(yard.get(i).job.queue for i in made) == ["node:db1", "node:db2"]
    delayed.remove(yard, w.id)
    with pytest.raises(NotFound):
        delayed.get(yard, w.id)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "--at or --cron"),
        ({"at": 1.0, "cron": "* * * * *"}, "--at or --cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * * * *", "skip": -1}, "skip"),
        ({"cron": "* * * * *", "data": {"fulll": True}}, "no parameter 'fulll'"),
        ({"cron": "* * * * *", "nodes": ["a", "a"]}, "more than once"),
        ({"at": "tomorrow"}, "at"),
    ],
)
def test_bad_delayed_works_are_refused_and_nothing_saved(
    yard: Yard, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        delayed.add(yard, "backup", **kwargs)  # type: ignore[arg-type]
    assert delayed.works(yard) == [] and names(yard) == []
    with pytest.raises(InvalidInput):
        delayed.add(yard, "nosuch", cron="* * * * *")
