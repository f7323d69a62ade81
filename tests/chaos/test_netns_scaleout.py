"""Workers on three hosts (network namespaces) against a PostgreSQL on a fourth address.

The test makes its own network (tests/netns.py: a bridge holding the server's address and a
namespace per host) and its own server (tests/faultpg.py, listening on the bridge only), and
runs real ``jobyard worker`` processes in the hosts (``ip netns exec``), each opening the
database (tests/chaos/netns_cluster.py). The scenarios (tests/chaos/netns_cases.py), run
with remote workers too by test_netns_remote.py:

(a) one host's worker is killed with SIGKILL mid-drain: every job completes; only jobs the
    kill interrupted (or whose outcome it lost) ran twice, and never twice elsewhere;
(b) one host's link is cut for longer than the lease: its jobs are rescued and completed by
    the other hosts; when the link comes back its stale worker records nothing for them (one
    ``job.completed`` each, by the rescuer) and goes on working.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.netns_cases import cut_one_host, kill_one_hosts_worker
from tests.chaos.netns_cluster import Cluster, netns_cluster

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

HOSTS = 3


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with netns_cluster(tmp_path, HOSTS) as made:
        yield made


def test_killing_one_hosts_worker_loses_nothing(cluster: Cluster) -> None:
    kill_one_hosts_worker(cluster, HOSTS)


def test_a_host_cut_off_longer_than_the_lease_is_rescued_without_double_completion(
    cluster: Cluster,
) -> None:
    cut_one_host(cluster, HOSTS)
