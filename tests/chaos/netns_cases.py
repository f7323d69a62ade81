"""The netns chaos scenarios, run with local workers (test_netns_scaleout.py) and with
remote ones (test_netns_remote.py) on a :class:`~tests.chaos.netns_cluster.Cluster`.

jobyard promises at-least-once runs and exactly-once outcomes: a job interrupted by a lost
worker runs again elsewhere, and the lost worker's late report is refused (its run id is
no longer the job's).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter

from tests.chaos.netns_cluster import CONCURRENCY, Cluster
from tests.chaos.procs import stop_all, wait_for


def kill_one_hosts_worker(cluster: Cluster, hosts: int, jobs: int = 900) -> None:
    """Host 1's worker is killed with SIGKILL mid-drain: every job completes; only jobs the
    kill interrupted (or whose outcome it lost) ran twice, and never twice elsewhere."""
    yard = cluster.yard
    ids = yard.enqueue_many("chaos", [{"ms": 40} for _ in range(jobs)])
    workers = {host: cluster.spawn(host) for host in range(1, hosts + 1)}
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
        alive = {h: w.poll() is None for h, w in workers.items() if w is not victim}
        assert all(alive.values()), (alive, [cluster.errors(h) for h in alive])
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
    completed = Counter(e.job_id for e in cluster.events("job.completed"))
    assert set(completed) == set(ids) and set(completed.values()) == {1}


def cut_one_host(cluster: Cluster, hosts: int) -> None:
    """Host 1's link is cut for longer than the lease while it runs four jobs: two long
    ones (it gives them up when their lease runs out unrenewed) and two gated ones that end
    during the cut (their outcomes wait for the link). The other hosts rescue all four;
    the gated ones are still running there when the link comes back and host 1's late
    reports reach the server: they are refused (the runs are no longer host 1's), the
    rescuers' outcomes are the ones recorded (one ``job.completed`` each), and host 1 goes
    on working."""
    yard = cluster.yard
    gate = cluster.tmp / "gate"
    cut = cluster.spawn(1, prefetch=0)
    others: list[subprocess.Popen[str]] = []
    try:
        wait_for(lambda: yard.store.execute("list_workers").fetchall(), 30, "host 1 never came up")
        long = [yard.enqueue("chaos_async", {"ms": 5000}).id for _ in range(CONCURRENCY // 2)]
        gated = [
            yard.enqueue("chaos_gated", {"gate": str(gate)}).id
            for _ in range(CONCURRENCY - len(long))
        ]
        held = [*long, *gated]
        wait_for(lambda: yard.count(status="running") == CONCURRENCY, 30, "host 1 took no jobs")
        others = [cluster.spawn(host) for host in range(2, hosts + 1)]
        rest = yard.enqueue_many("chaos", [{"ms": 30} for _ in range(200)])
        cluster.lab.cut(1)
        t_cut = time.monotonic()
        gate.touch()  # host 1 ends its gated runs now, and cannot say so
        wait_for(lambda: _ended_on(cluster, cut.pid) == set(gated), 10, "gated runs on host 1")
        gate.unlink()  # their rescues will wait, running, until the link is back
        everything = [*held, *rest]

        def rescued() -> bool:
            return yard.count(status="completed") == len(everything) - len(gated) and all(
                _running_elsewhere(cluster, i) for i in gated
            )

        wait_for(rescued, 60, "the cut-off host's jobs were not rescued")
        assert time.monotonic() - t_cut > cluster.lease  # the link stayed down past the lease
        cluster.lab.heal(1)
        # Back on the network, host 1 works again. Its held outcomes go first (they block
        # its one database/server thread, then lead its next batch): a late job it
        # completes proves its late reports were sent. Jobs keep coming until host 1 takes
        # one: a fixed batch could be drained by the other hosts while host 1's worker
        # still waits out its reconnect backoff.
        late: list[int] = []

        def host1_completed_some() -> bool:
            if len(late) < 600:
                late.extend(yard.enqueue_many("chaos", [{"ms": 50} for _ in range(3)]))
            return any(
                j.worker == "h1" and j.status == "completed"
                for j in (yard.get(i).job for i in late)
            )

        wait_for(host1_completed_some, 60, "host 1 did no work after its link came back")
        assert cut.poll() is None, f"host 1's worker exited: {cluster.errors(1)}"
        # Its reports for the gated jobs were refused: the rescues still run.
        assert all(_running_elsewhere(cluster, i) for i in gated), [yard.get(i) for i in gated]
        gate.touch()
        wait_for(
            lambda: yard.count(status="completed") == len(everything) + len(late), 60, "late jobs"
        )
        runs = cluster.runs()
        for job_id in held:
            job = yard.get(job_id).job
            assert job.status == "completed" and job.worker != "h1", (job_id, job.worker)
            pids = [pid for pid, _ in runs.starts[job_id]]
            assert pids[0] == cut.pid and cut.pid not in pids[1:], runs.starts[job_id]
        for job_id in gated:  # the outcome recorded is the rescuer's
            assert yard.get(job_id).job.result not in (None, cut.pid), yard.get(job_id).job
        assert _ended_on(cluster, cut.pid) & set(held) == set(gated)  # long runs given up
        completed = Counter(e.job_id for e in cluster.events("job.completed"))
        assert set(everything) <= set(completed), set(everything) - set(completed)
        assert {completed[i] for i in everything} == {1}, completed
    finally:
        cluster.lab.heal(1)
        stop_all([cut, *others])


def _ended_on(cluster: Cluster, pid: int) -> set[int]:
    return {job for job, by, _ in cluster.runs().ended if by == pid}


def _running_elsewhere(cluster: Cluster, job_id: int) -> bool:
    job = cluster.yard.get(job_id).job
    return job.status == "running" and job.worker not in (None, "h1")
