"""Converge graphs run distributed — a jobset of node jobs on the workers — reach exactly
what the in-process runner reaches.

- on SQLite and PostgreSQL, with two in-process workers (each with its own Yard);
- on SQLite across real processes: two ``python -m jobyard worker`` processes, the graph
  submitted from this process or by ``jobyard converge --distributed``.

The graph modules are imported by dotted name, the way workers import them; the 18-node
graph is the one of ``tests/unit/converge/test_converge_big_graph.py``.
"""

from __future__ import annotations

import importlib
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.pgfixtures import BACKENDS

from jobyard import Yard
from jobyard.converge import converge, load_root, plan
from jobyard.converge import distributed as dist
from jobyard.errors import WaitTimeout

ROOT = Path(__file__).resolve().parents[2]
BIG = "tests.unit.converge.test_converge_big_graph:Site"
RETRIES = "tests.integration.converge_graphs:Retries"
FLEET = "tests.integration.converge_graphs:Report"
MOVIE = f"{ROOT / 'examples' / 'dojobber_movie_night.py'}:WatchMovie"
DELAY = 0.05  # RETRY_DELAY of the nodes that set none


@pytest.fixture(params=BACKENDS)
def yard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Yard]:
    """A Yard on a fresh database, once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobyard.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    y = Yard(url)
    try:
        yield y
    finally:
        y.close()


@pytest.fixture
def workers(yard: Yard) -> Iterator[list[Yard]]:
    """Two workers, each with its own Yard (its own connections), on the same database."""
    yards = [Yard(yard.url) for _ in range(2)]
    started = []
    for index, own in enumerate(yards):
        dist.register(own)
        started.append(own.worker(name=f"w{index + 1}", concurrency=2).start())
    try:
        yield yards
    finally:
        for w in started:
            w.stop()
        for own in yards:
            own.close()


def big_module() -> Any:
    return importlib.import_module(BIG.split(":")[0])


def test_big_graph_reaches_the_in_process_statuses(yard: Yard, workers: list[Yard]) -> None:
    module = big_module()
    module.CLEANUPS.clear()
    local = converge(load_root(BIG), default_retry_delay=DELAY)
    local_cleanups = Counter(module.CLEANUPS)
    assert dict(local.status) == module.EXPECTED_STATUS  # the unit test's exact nodestatus
    module.CLEANUPS.clear()

    jobset = dist.submit(yard, BIG, default_retry_delay=DELAY)
    status = dist.wait(yard, jobset, timeout=30)

    assert status == module.EXPECTED_STATUS
    assert list(status) == list(module.EXPECTED_STATUS)  # jobs were made in DoJobber's order
    remote = dist.result(yard, jobset)
    assert dict(remote.attempts) == dict(local.attempts)  # e.g. Database passed on try 4 of 4
    assert dict(remote.outcomes) == dict(local.outcomes)
    assert dict(remote.results) == dict(local.results)
    assert {n: str(e) for n, e in remote.errors.items()} == {
        n: str(e) for n, e in local.errors.items()
    }
    assert not remote.success and remote.partial_success
    # every created object was cleaned up once, at the end of its try, on the worker
    assert Counter(module.CLEANUPS) == local_cleanups
    summary = yard.jobset(jobset)
    assert summary.done and summary.counts["completed"] == 9
    assert (summary.counts["failed"], summary.counts["cancelled"]) == (4, 5)


def test_the_jobset_mirrors_the_graph(yard: Yard) -> None:
    jobset = dist.submit(yard, BIG, default_retry_delay=DELAY)
    found = yard.jobset(jobset)
    assert (found.kind, found.name, found.meta["root"]) == ("converge", "Site", BIG)
    graph = dist.graph_of(yard, jobset)
    jobs = dist.node_jobs(yard, jobset)
    assert list(jobs) == list(graph.names)
    for spec in graph.nodes:
        job = jobs[spec.name]
        assert job.type == "converge.node" and job.jobset == jobset
        assert job.data == {
            "root": BIG,
            "node": spec.name,
            "args": {},
            "default_tries": 3,
            "default_retry_delay": DELAY,
            "no_act": False,
        }
        assert sorted(job.depends) == sorted(jobs[dep].id for dep in spec.deps)
        assert job.retry_limit == math.ceil(spec.tries) - 1
        assert job.retry_wait == spec.retry_delay and job.retry_backoff == "constant"
    assert jobs["Database"].retry_limit == 3 and jobs["Disk"].retry_wait == 0
    # no worker: nothing runs, nothing is known
    assert set(dist.status(yard, jobset).values()) == {None}
    with pytest.raises(WaitTimeout):
        dist.wait(yard, jobset, timeout=0.2)


def test_retries_pass_on_try_n_and_one_try_short_blocks_dependents(
    yard: Yard, workers: list[Yard]
) -> None:
    local = converge(load_root(RETRIES))
    jobset = dist.submit(yard, RETRIES)
    status = dist.wait(yard, jobset, timeout=30)
    expected = {
        "Eight": True,
        "Five": True,
        "Three": True,
        "TooFew": False,
        "AfterTooFew": None,
        "Retries": None,
    }
    assert status == expected == dict(local.status)
    jobs = dist.node_jobs(yard, jobset)
    attempts = {name: job.attempts for name, job in jobs.items()}
    assert attempts == {
        "Eight": 8,
        "Five": 5,
        "Three": 3,
        "TooFew": 2,
        "AfterTooFew": 0,
        "Retries": 0,
    }
    assert attempts == dict(local.attempts)
    assert jobs["Eight"].result == 8
    assert jobs["TooFew"].error == "RuntimeError: TooFew: 2 runs so far"
    assert [f["attempt"] for f in jobs["Eight"].failures] == [1, 2, 3, 4, 5, 6, 7]
    # each retry waited RETRY_DELAY (0.02 s) after the failed try
    times = [f["time"] for f in jobs["Five"].failures]
    assert all(b - a >= 0.02 for a, b in itertools.pairwise(times))
    assert jobs["AfterTooFew"].status == jobs["Retries"].status == "cancelled"
    # the counters live in the jobset's storage, written back after every try
    assert yard.jobset(jobset).storage.snapshot() == {
        "Eight": 8,
        "Five": 5,
        "Three": 3,
        "TooFew": 2,
    }


def test_global_storage_is_shared_across_nodes_and_workers(yard: Yard, workers: list[Yard]) -> None:
    args = {"token": "t-42", "hosts": ["web1", "web2", "db1"]}
    local = converge(load_root(FLEET), args=args)
    assert local.success
    jobset = dist.submit(yard, FLEET, args)
    status = dist.wait(yard, jobset, timeout=30)
    assert status == dict(local.status)
    assert set(status) == {
        "Token",
        "HostReady[host=web1]",
        "HostReady[host=web2]",
        "HostReady[host=db1]",
        "Fleet",
        "Report",
    }
    expected = {"host:db1": "t-42", "host:web1": "t-42", "host:web2": "t-42", "token": "t-42"}
    assert dist.node_jobs(yard, jobset)["Report"].result == expected == local.results["Report"]
    assert yard.jobset(jobset).storage.snapshot() == expected


def test_no_act_is_a_plan(yard: Yard, workers: list[Yard]) -> None:
    local = plan(load_root(BIG))
    jobset = dist.submit(yard, BIG, no_act=True)
    status = dist.wait(yard, jobset, timeout=30)
    assert status == dict(local.status)
    jobs = dist.node_jobs(yard, jobset)
    assert all(job.attempts <= 1 for job in jobs.values())  # one try each, no retries
    assert jobs["Packages"].error == (
        "RuntimeError: Runonly node check intentionally fails first time."
    )
    assert jobs["Network"].status == "completed" and jobs["Mount"].status == "cancelled"
    assert dist.result(yard, jobset).no_act
    assert yard.jobset(jobset).storage.snapshot() == {}  # no Run ran


# -- real processes (SQLite) ---------------------------------------------------------------

APP = textwrap.dedent(
    """
    from jobyard import Yard
    from jobyard.converge.distributed import register

    yard = Yard()
    register(yard)
    """
)


class Cluster:
    def __init__(self, url: str, env: dict[str, str], cwd: Path) -> None:
        self.url, self.env, self.cwd = url, env, cwd

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobyard", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two worker processes; the graph modules import from the repository (PYTHONPATH),
    the ``converge.node`` type from an app module that calls ``register``."""
    home = tmp_path_factory.mktemp("converge-cluster")
    (home / "converge_worker_app.py").write_text(APP)
    url = f"sqlite:///{home / 'jobyard.db'}"
    env = {
        **os.environ,
        "JOBYARD_DB": url,
        "JOBYARD_APP": "converge_worker_app",
        "PYTHONPATH": os.pathsep.join([str(home), str(ROOT)]),
    }
    Yard(url).migrate()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobyard", "worker", "-n", name, "-c", "2"],
            cwd=home,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("proc1", "proc2")
    ]
    try:
        yield Cluster(url, env, home)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_two_worker_processes_reach_the_in_process_statuses(cluster: Cluster) -> None:
    expected = big_module().EXPECTED_STATUS
    local = converge(load_root(BIG), default_retry_delay=0.05)
    yard = Yard(cluster.url)
    try:
        jobset = dist.submit(yard, BIG, default_retry_delay=0.05)
        status = dist.wait(yard, jobset, timeout=30)
        remote = dist.result(yard, jobset)
        workers = {job.worker for job in dist.node_jobs(yard, jobset).values() if job.attempts}
    finally:
        yard.close()
    assert status == expected == dict(local.status)
    assert dict(remote.attempts) == dict(local.attempts)
    assert dict(remote.results) == dict(local.results)
    assert workers <= {"proc1", "proc2"} and workers


def test_cli_submits_and_follows_the_run(cluster: Cluster) -> None:
    out = cluster.cli("converge", BIG, "--distributed", "--wait", "--retry-delay", "0.05")
    assert out.returncode == 1, out.stderr
    assert "not converged: 9 true, 4 failed, 5 blocked of 18" in out.stdout
    assert "✘ Secrets (try 2/2) PermissionError: vault sealed" in out.stdout
    assert "✔ Database converged after run (try 4/4)" in out.stdout
    assert out.stderr.startswith("jobset ")

    out = cluster.cli("converge", BIG, "--distributed", "--wait", "--json", "--retry-delay", "0")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    expected = big_module().EXPECTED_STATUS
    assert {n["name"]: n["status"] for n in report["nodes"]} == expected
    assert {n["name"]: n["attempts"] for n in report["nodes"]}["Database"] == 4


def test_cli_success_and_submit_only(cluster: Cluster) -> None:
    args = ["movie=MST3K", "battery_state=charged", "couch_space=true"]
    out = cluster.cli("converge", MOVIE, "--distributed", "--wait", "--retry-delay", "0", *args)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "converged: 18 nodes true" in out.stdout

    out = cluster.cli("converge", MOVIE, "--distributed", "--retry-delay", "0")
    assert out.returncode == 0, out.stderr
    jobset = int(out.stdout)
    yard = Yard(cluster.url)
    try:
        status = dist.wait(yard, jobset, timeout=30)
    finally:
        yard.close()
    # the example's defaults: dead batteries, no room on the couch
    assert status["TurnOnTV"] is False and status["SitOnCouch"] is False
    assert status["StartMovie"] is None and status["WatchMovie"] is None

    out = cluster.cli("converge", MOVIE, "--distributed", "-v")
    assert out.returncode == 2 and "--distributed" in out.stderr
