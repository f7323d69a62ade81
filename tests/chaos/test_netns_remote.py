"""Remote workers on three hosts (network namespaces), talking HTTP to one ``jobyard web``.

The server side sits on the fourth address (the bridge's): the test's private PostgreSQL
and a ``jobyard web`` process with authentication on, which alone opens the database. Each
host runs ``jobyard worker --server http://BRIDGE:PORT`` with a worker token of its own
(made with ``jobyard token create --role worker``), in an environment naming no database
it could reach (tests/chaos/netns_cluster.py). The scenarios of test_netns_scaleout.py
(tests/chaos/netns_cases.py), and one of the server's own:

(a) one host's remote worker is killed with SIGKILL mid-drain: every job completes; only
    jobs the kill interrupted (or whose outcome it lost) ran twice;
(b) one host's link is cut for longer than the lease: the server rescues its jobs and the
    other hosts complete them; when the link comes back the stale worker's late reports are
    refused (one ``job.completed`` each) and it reconnects and goes on working;
(c) the web server is restarted mid-drain: the workers reconnect and nothing is lost; with a
    lease that outlasts the restart, no job runs twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.netns_cases import cut_one_host, kill_one_hosts_worker
from tests.chaos.netns_cluster import Cluster, netns_cluster
from tests.chaos.procs import stop_all, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

HOSTS = 3


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with netns_cluster(tmp_path, HOSTS, remote=True) as made:
        yield made


def test_killing_one_hosts_remote_worker_loses_nothing(cluster: Cluster) -> None:
    kill_one_hosts_worker(cluster, HOSTS)


def test_a_remote_host_cut_off_longer_than_the_lease_is_rescued_and_reconnects(
    cluster: Cluster,
) -> None:
    cut_one_host(cluster, HOSTS)


def test_restarting_the_web_server_mid_drain_loses_nothing(tmp_path: Path) -> None:
    # A lease far longer than a restart (and the workers' reconnect backoff after it): the
    # server's absence alone must never get a job rescued, so none may run twice.
    with netns_cluster(tmp_path, HOSTS, remote=True, lease=10.0) as cluster:
        yard, web = cluster.yard, cluster.web
        assert web is not None
        jobs = 1200
        ids = yard.enqueue_many("chaos", [{"ms": 40} for _ in range(jobs)])
        workers = {host: cluster.spawn(host) for host in range(1, HOSTS + 1)}
        try:
            wait_for(lambda: yard.count(status="completed") >= jobs // 6, 60, "no progress")
            web.restart()
            left = jobs - yard.count(status="completed")
            before = _ended_by_pid(cluster)  # what each worker had run when it came back
            wait_for(lambda: yard.count(status="completed") == jobs, 90, "jobs lost")
            dead = {h: w.returncode for h, w in workers.items() if w.poll() is not None}
            assert not dead, (dead, [cluster.errors(h) for h in dead])
        finally:
            stop_all(workers.values())
        runs = cluster.runs()
        assert left > jobs // 4, left  # the restart came mid-drain
        assert set(runs.starts) == set(ids), "some job never ran"
        assert not runs.interrupted()  # nobody was killed: every run ended
        assert runs.duplicates() == 0, [(j, r) for j, r in runs.starts.items() if len(r) > 1]
        assert yard.count(status="completed") == jobs
        after = _ended_by_pid(cluster)
        for host, proc in workers.items():  # each worker reconnected and went on working
            assert after[proc.pid] > before[proc.pid] + 10, (host, before, after)


def _ended_by_pid(cluster: Cluster) -> Counter[int]:
    return Counter(pid for _, pid, _ in cluster.runs().ended)
