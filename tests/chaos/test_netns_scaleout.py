"""Workers on three hosts (network namespaces) against a PostgreSQL on a fourth address.

The test makes its own network (tests/netns.py: a bridge holding the server's address and a
namespace per host) and its own server (tests/faultpg.py, listening on the bridge only), and
runs real ``jobyard worker`` processes in the hosts (``ip netns exec``). jobyard promises
at-least-once runs and exactly-once outcomes: a job interrupted by a lost worker runs again
elsewhere, and the lost worker's late report is refused (its run id is no longer the job's).

(a) one host's worker is killed with SIGKILL mid-drain: every job completes; only jobs the
    kill interrupted (or whose outcome it lost) ran twice, and never twice elsewhere;
(b) one host's link is cut for longer than the lease: its jobs are rescued and completed by
    the other hosts; when the link comes back its stale worker records nothing for them (one
    ``job.completed`` each, by the rescuer) and goes on working.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobyard import Yard
from jobyard.feed import Feed
from tests.chaos.procs import chaos_yard, spawn_worker, stop_all, wait_for
from tests.chaos.test_kill_workers import Runs
from tests.faultpg import PrivatePostgres, _bin_dir, _unavailable
from tests.netns import NetLab, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

HOSTS = 3
LEASE = 2.0
CONCURRENCY = 4
PREFETCH = 4


@dataclass
class Cluster:
    lab: NetLab
    pg: PrivatePostgres
    url: str  # as the hosts (and the test, from the root namespace) reach it
    tmp: Path
    logs: Path
    yard: Yard

    def spawn(self, host: int, *, prefetch: int = PREFETCH) -> subprocess.Popen[str]:
        config = self.tmp / "jobyard.toml"
        config.write_text(f"[worker]\nlease = {LEASE}\nheartbeat = 0.4\nquarantine_after = 50\n")
        options = ("-c", str(CONCURRENCY), "--prefetch", str(prefetch))
        prefix = self.lab.exec_prefix(host)
        return spawn_worker(self.url, config, self.logs, f"h{host}", *options, prefix=prefix)

    def runs(self) -> Runs:
        runs = Runs(signalled=set())
        runs.read(self.logs)
        return runs


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if reason := unavailable():
        _unavailable(reason)
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        _unavailable("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin")
        raise AssertionError("unreachable")
    lab = NetLab.create(HOSTS)
    pg: PrivatePostgres | None = None
    yard: Yard | None = None
    try:
        pg = PrivatePostgres(bin_dir, host=lab.server)
        pg.init()
        pg.trust(lab.network)
        pg.start()
        url = pg.create_database("scaleout")
        yard = chaos_yard(url)
        logs = tmp_path / "runs"
        logs.mkdir()
        yield Cluster(lab, pg, url, tmp_path, logs, yard)
    finally:
        if yard is not None:
            yard.close()
        if pg is not None:
            pg.destroy()
        lab.destroy()


def test_killing_one_hosts_worker_loses_nothing(cluster: Cluster) -> None:
    yard = cluster.yard
    jobs = 900
    ids = yard.enqueue_many("chaos", [{"ms": 40} for _ in range(jobs)])
    workers = {host: cluster.spawn(host) for host in range(1, HOSTS + 1)}
    try:
        victim = workers[1]

        def victim_busy() -> bool:
            return (cluster.logs / f"{victim.pid}.log").exists() and yard.count(
                status="completed"
            ) >= jobs // 6

        wait_for(victim_busy, 60, "host 1 never ran jobs")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        wait_for(lambda: yard.count(status="completed") == jobs, 90, "the jobs never all completed")
    finally:
        stop_all(workers.values())
    runs = cluster.runs()
    assert set(runs.starts) == set(ids), "some job never ran"
    assert yard.count() == yard.count(status="completed") == jobs
    interrupted = runs.interrupted()
    assert interrupted, "the kill interrupted no running job: it proved nothing"
    assert {pid for _, pid, _ in interrupted} == {victim.pid}, interrupted
    for job_id, _, _ in interrupted:  # each ran again, on another host, to its end
        again = runs.starts[job_id][-1]
        assert again[0] != victim.pid and (job_id, *again) in runs.ended, runs.starts[job_id]
    for job_id, executions in runs.starts.items():
        earlier = sorted(executions, key=lambda run: run[1])[:-1]
        assert all(pid == victim.pid for pid, _ in earlier), (job_id, executions)
    survivors = {w.pid for w in workers.values()} - {victim.pid}
    done_elsewhere = {job for job, pid, _ in runs.ended if pid in survivors}
    assert len(done_elsewhere) > jobs // 2  # the other hosts took over the rest


def test_a_host_cut_off_longer_than_the_lease_is_rescued_without_double_completion(
    cluster: Cluster,
) -> None:
    yard = cluster.yard
    cut = cluster.spawn(1, prefetch=0)
    others: list[subprocess.Popen[str]] = []
    try:
        wait_for(lambda: yard.store.execute("list_workers").fetchall(), 30, "host 1 never came up")
        held = [yard.enqueue("chaos_async", {"ms": 5000}).id for _ in range(CONCURRENCY)]
        wait_for(lambda: yard.count(status="running") == CONCURRENCY, 30, "host 1 took no jobs")
        others = [cluster.spawn(host) for host in range(2, HOSTS + 1)]
        rest = yard.enqueue_many("chaos", [{"ms": 30} for _ in range(200)])
        cluster.lab.cut(1)
        t_cut = time.monotonic()
        everything = [*held, *rest]
        wait_for(
            lambda: yard.count(status="completed") == len(everything),
            60,
            "the cut-off host's jobs were not rescued",
        )
        assert time.monotonic() - t_cut > LEASE  # the link stayed down past the lease
        cluster.lab.heal(1)
        time.sleep(3 * LEASE)  # host 1 may now report whatever it still holds
        assert cut.poll() is None, f"host 1's worker exited: {cut.stderr}"
        runs = cluster.runs()
        for job_id in held:
            job = yard.get(job_id).job
            assert job.status == "completed" and job.worker != "h1", (job_id, job.worker)
            pids = [pid for pid, _ in runs.starts[job_id]]
            assert pids[0] == cut.pid and cut.pid not in pids[1:], runs.starts[job_id]
        assert not any(pid == cut.pid for _, pid, _ in runs.ended)  # it gave its runs up
        completed = Counter(
            e.job_id for e in _all_events(yard, "job.completed") if e.job_id in set(everything)
        )
        assert set(completed) == set(everything) and set(completed.values()) == {1}
        # Back on the network, host 1 works again.
        # Jobs keep coming until host 1 takes one: a fixed batch could be drained by the
        # other hosts while host 1's worker still waits out its reconnect backoff.
        late: list[int] = []

        def host1_took_some() -> bool:
            if len(late) < 600:
                late.extend(yard.enqueue_many("chaos", [{"ms": 50} for _ in range(3)]))
            return any(yard.get(i).job.worker == "h1" for i in late)

        wait_for(host1_took_some, 60, "host 1 did no work after its link came back")
        wait_for(
            lambda: yard.count(status="completed") == len(everything) + len(late), 60, "late jobs"
        )
    finally:
        cluster.lab.heal(1)
        stop_all([cut, *others])


def _all_events(yard: Yard, kind: str) -> list[object]:
    feed, cursor, out = Feed(yard.store), 0, []
    while True:
        events, cursor = feed.read(after=cursor, limit=1000, kinds=[kind])
        if not events:
            return out
        out.extend(events)
