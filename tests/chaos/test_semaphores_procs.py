"""Semaphores, site caps and the global cap across real ``jobyard worker`` processes:
the holders each run wrote down (start and end times, from inside the job) never overlap
more than the count allows, a kill -9 of a holder frees its slot by lease rescue, and a
waiter starts at once when a slot frees (a wake-up, not the poll). The same for slots
held around a call (``with job.semaphore("db"):``, the type sem_call)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobyard import Yard
from tests.chaos.procs import ROOT, stop_all

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

CONFIG = """
[worker]
lease = 2.0
heartbeat = 0.5
quarantine_after = 50
[semaphores.db]
count = {count}
"""


def _spawn(url: str, tmp: Path, name: str, *options: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "JOBYARD_DB": url,
        "JOBYARD_CONFIG": str(tmp / "jobyard.toml"),
        "JOBYARD_APP": "tests.chaos.sem_app",
        "CHAOS_DIR": str(tmp / "logs"),
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "-n", name, *options],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _runs(tmp: Path) -> dict[int, list[tuple[str, float, int]]]:
    """job id → its notes (event, time, pid), in time order."""
    out: dict[int, list[tuple[str, float, int]]] = {}
    for path in (tmp / "logs").glob("*.log"):
        for line in path.read_text().splitlines():
            event, job, at, pid = line.split()
            out.setdefault(int(job), []).append((event, float(at), int(pid)))
    for notes in out.values():
        notes.sort(key=lambda n: n[1])
    return out


def _intervals(tmp: Path, killed_at: dict[int, float] | None = None) -> list[tuple[float, float]]:
    """Each run's [start, end]; a run without an end (its worker killed) lasts until the kill."""
    found = []
    for notes in _runs(tmp).values():
        start = None
        for event, at, pid in notes:
            if event == "start":
                if start is not None:  # the earlier run was killed
                    found.append((start[0], (killed_at or {}).get(start[1], at)))
                start = (at, pid)
            elif start is not None:
                found.append((start[0], at))
                start = None
        if start is not None:
            found.append((start[0], (killed_at or {}).get(start[1], time.time())))
    return found


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    now = best = 0
    for _, step in points:  # an end at the same instant as a start comes first (-1 < 1)
        now += step
        best = max(best, now)
    return best


@pytest.fixture
def setup(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, Yard]]:
    url = str(request.getfixturevalue("pg_url"))
    (tmp_path / "logs").mkdir()
    count = getattr(request, "param", 2)
    (tmp_path / "jobyard.toml").write_text(CONFIG.format(count=count))
    old = os.environ.get("JOBYARD_CONFIG")
    os.environ["JOBYARD_CONFIG"] = str(tmp_path / "jobyard.toml")
    from tests.chaos import sem_app

    yard = Yard(url, config=None)
    yard.config.semaphores = {}
    yard.semaphore("db", count=count)
    yard.job(name="sem_hold", semaphores=["db"])(sem_app.sem_hold.func)
    yard.job(name="sem_plain")(sem_app.sem_plain.func)
    yard.job(name="sem_call")(sem_app.sem_call.func)
    yard.migrate()
    try:
        yield url, tmp_path, yard
    finally:
        yard.close()
        if old is None:
            os.environ.pop("JOBYARD_CONFIG", None)
        else:
            os.environ["JOBYARD_CONFIG"] = old


def _wait_done(yard: Yard, n: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while yard.count(status="completed") < n:
        assert time.monotonic() < deadline, f"only {yard.count(status='completed')} of {n} done"
        time.sleep(0.1)


def test_never_more_holders_than_the_count_across_three_workers(setup) -> None:  # type: ignore[no-untyped-def]
    url, tmp, yard = setup
    yard.enqueue_many("sem_hold", [{"ms": 150}] * 12)
    yard.enqueue_many("sem_plain", [{"ms": 10}] * 6)
    procs = [_spawn(url, tmp, f"sem-{i}", "-c", "4") for i in range(3)]
    try:
        _wait_done(yard, 18)
    finally:
        stop_all(procs)
    hold_ids = {j.id for j in yard.jobs(type="sem_hold", limit=100)}
    hold_runs = [
        (notes[0][1], notes[-1][1]) for job, notes in _runs(tmp).items() if job in hold_ids
    ]
    assert len(hold_runs) == 12
    assert _most_at_once(hold_runs) == 2  # reached (3 workers x 4 slots want more), never passed


@pytest.mark.parametrize("setup", [1], indirect=True)
@pytest.mark.parametrize("kind", ["sem_hold", "sem_call"])
def test_a_killed_holder_frees_its_slot_by_lease_rescue(setup, kind: str) -> None:  # type: ignore[no-untyped-def]
    """sem_hold holds db for the whole job (its claim); sem_call only inside
    ``job.semaphore`` (a call hold: the other jobs run meanwhile, waiting in the call)."""
    url, tmp, yard = setup
    ids = yard.enqueue_many(kind, [{"ms": 1500}] * 3)
    procs = {f"sem-{i}": _spawn(url, tmp, f"sem-{i}", "-c", "2") for i in range(2)}
    try:
        deadline = time.monotonic() + 30
        while not _runs(tmp):
            assert time.monotonic() < deadline, "no job started"
            time.sleep(0.05)
        (notes,) = _runs(tmp).values()
        holder_pid = notes[0][2]
        name, victim = next((n, p) for n, p in procs.items() if p.pid == holder_pid)
        # sem_hold: the others wait ready; sem_call: all run, two of them in the call
        assert yard.count(status="running") == (1 if kind == "sem_hold" else 3)
        lost = [j.id for j in yard.jobs(status="running") if j.worker == name]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = {holder_pid: time.time()}
        _wait_done(yard, 3, timeout=60)
    finally:
        stop_all(procs.values())
    assert {j.id for j in yard.jobs(status="completed")} == set(ids)
    intervals = _intervals(tmp, killed_at)
    assert len(intervals) == 4  # three runs and the killed one
    # The killed run's slot stays held until its lease is rescued: nobody overlapped it.
    assert _most_at_once(intervals) == 1
    assert sum(yard.get(i).job.interruptions for i in ids) == len(lost)
    assert yard.store.call_holds() == []  # the killed call hold's row went with the rescue


@pytest.mark.parametrize("setup", [1], indirect=True)
def test_a_waiter_starts_at_once_when_the_slot_frees(setup) -> None:  # type: ignore[no-untyped-def]
    url, tmp, yard = setup
    procs = [_spawn(url, tmp, "sem-a", "-q", "a"), _spawn(url, tmp, "sem-b", "-q", "b")]
    gaps = []
    try:
        for n in range(4):
            first = yard.enqueue("sem_hold", {"ms": 600}, queue="a").id
            deadline = time.monotonic() + 30
            while first not in _runs(tmp):
                assert time.monotonic() < deadline, "the holder did not start"
                time.sleep(0.02)
            second = yard.enqueue("sem_hold", {"ms": 10}, queue="b").id
            time.sleep(0.2)
            assert yard.get(second).status == "ready"  # waiting on db, visibly:
            from jobyard.views.semaphores import job_detail

            assert job_detail(yard, yard.get(second).job)["waiting"] == (
                f"semaphore db (1/1 held by job {first})"
            )
            _wait_done(yard, 2 * (n + 1), timeout=30)
            runs = _runs(tmp)
            gaps.append(runs[second][0][1] - runs[first][-1][1])
    finally:
        stop_all(procs)
    assert all(g > 0 for g in gaps)
    # The worker of queue b polls every second: without the wake-up on release its start
    # would come 0.5 s after the release on average. It comes at once.
    assert sorted(gaps)[len(gaps) // 2] < 0.4, gaps


def test_a_site_cap_holds_across_two_workers(setup) -> None:  # type: ignore[no-untyped-def]
    url, tmp, yard = setup
    for _ in range(6):
        yard.enqueue("sem_plain", {"ms": 150}, site="web1", site_max_jobs=2)
    yard.enqueue_many("sem_plain", [{"ms": 150}] * 4)
    procs = [_spawn(url, tmp, f"sem-{i}", "-c", "4") for i in range(2)]
    try:
        _wait_done(yard, 10)
    finally:
        stop_all(procs)
    site_ids = {j.id for j in yard.jobs(limit=100) if j.site == "web1"}
    site_runs = [(n[0][1], n[-1][1]) for job, n in _runs(tmp).items() if job in site_ids]
    assert len(site_runs) == 6 and _most_at_once(site_runs) == 2
    assert {j.site for j in yard.jobs(status="completed", limit=100)} == {"web1", None}


def test_call_holds_never_exceed_the_count_across_three_workers(setup) -> None:  # type: ignore[no-untyped-def]
    url, tmp, yard = setup
    yard.enqueue_many("sem_call", [{"ms": 150}] * 10)
    yard.enqueue_many("sem_hold", [{"ms": 150}] * 4)  # claims share db with the calls
    procs = [_spawn(url, tmp, f"sem-{i}", "-c", "4") for i in range(3)]
    try:
        _wait_done(yard, 14)
    finally:
        stop_all(procs)
    runs = [(notes[0][1], notes[-1][1]) for notes in _runs(tmp).values()]
    assert len(runs) == 14
    assert _most_at_once(runs) == 2  # reached, never passed
    assert yard.store.call_holds() == []
