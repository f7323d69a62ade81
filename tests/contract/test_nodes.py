"""Jobs on nodes (jobyard.nodes): one job per node in a jobset, atomically; node bounds per
type; abstract types; redirecting a job to another node; on both backends."""

from __future__ import annotations

import time

import pytest

from jobyard import Yard, i18n
from jobyard.errors import InvalidInput, InvalidTransition
from jobyard.feed import Feed
from jobyard.slack.modal import NODES_BLOCK, error_field


@pytest.fixture(autouse=True)
def _types(yard: Yard) -> None:
    @yard.job(min_nodes=2, max_nodes=3)
    def restart(job, service: str, force: bool = False) -> str:  # type: ignore[no-untyped-def]
        return service

    @yard.job
    def ping(job) -> None:  # type: ignore[no-untyped-def]
        return None

    yard.abstract("restart_all", "restart")


def test_one_job_per_node_in_one_jobset(yard: Yard) -> None:
    jobset, ids = yard.submit("restart", ["web1", "web2"], {"service": "nginx"})
    js = yard.jobset(jobset)
    assert [j.id for j in js.jobs] == ids
    assert [j.queue for j in js.jobs] == ["node:web1", "node:web2"]
    assert all(j.data == {"service": "nginx"} for j in js.jobs)
    assert (js.kind, js.meta["nodes"]) == ("nodes", ["web1", "web2"])


@pytest.mark.parametrize(
    ("nodes", "data", "message"),
    [
        (["web1"], {"service": "x"}, "at least 2 node"),
        (["a", "b", "c", "d"], {"service": "x"}, "at most 3 node"),
        (["web1", "web1"], {"service": "x"}, "more than once"),
        (["web1", "bad\x00"], {"service": "x"}, "node name"),
        ([], {"service": "x"}, "one or more node"),
        (["web1", "web2"], {}, "needs parameter 'service'"),
        (["web1", "web2"], {"service": "x", "forse": True}, "no parameter 'forse'"),
        (["web1", "web2"], {"service": "x", "force": "yes"}, "'force' must be true or false"),
    ],
)
def test_refused_with_nothing_written(
    yard: Yard, nodes: list[str], data: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        yard.submit("restart", nodes, data)
    assert yard.count() == 0
    assert yard.store.latest_jobset("nodes", "restart") is None


def test_an_abstract_type_runs_on_every_served_node(yard: Yard) -> None:
    with pytest.raises(InvalidInput, match="no worker serves a node"):
        yard.submit("restart_all", None, {"service": "ssh"})
    now = time.time()
    for name, queues in (("w1", ["node:db1"]), ("w2", ["node:db2", "default"]), ("w3", ["x"])):
        yard.store.upsert_worker(name, "h", 1, queues, 1, now, 30.0)
    jobset, _ = yard.submit("restart_all", None, {"service": "ssh"})
    js = yard.jobset(jobset)
    assert sorted(j.queue for j in js.jobs) == ["node:db1", "node:db2"]
    assert {j.type for j in js.jobs} == {"restart"} and js.name == "restart_all"
    # with nodes named, those
    _, named = yard.submit("restart_all", ["a", "b"], {"service": "ssh"})
    assert [yard.get(i).job.queue for i in named] == ["node:a", "node:b"]


def test_redirect_moves_a_waiting_job_and_restarts_a_failed_one(yard: Yard) -> None:
    _, (one, two) = yard.submit("restart", ["web1", "web2"], {"service": "x"})
    moved = yard.redirect(one, "web3")
    assert (moved.queue, moved.status) == ("node:web3", "ready")
    now = time.time()
    (job,) = yard.store.claim("w", "r1", ["node:web2"], ["restart"], 1, now, now + 30)
    with pytest.raises(InvalidTransition, match="cannot redirect"):
        yard.redirect(two, "web9")  # running: cancel it first
    yard.cancel([two])
    again = yard.redirect(two, "web4")
    assert (again.queue, again.status) == ("node:web4", "ready")
    names = [e.name for e in Feed(yard.store).read(limit=100)[0]]
    deadline = time.time() + 10
    while names.count("job.redirected") < 2 and time.time() < deadline:
        time.sleep(0.05)
        names = [e.name for e in Feed(yard.store).read(limit=100)[0]]
    assert names.count("job.redirected") == 2
    with pytest.raises(InvalidInput):
        yard.redirect(one, "")
    assert job.id == two


def test_a_node_count_refusal_names_the_nodes_field_in_every_language(yard: Yard) -> None:
    """The web and Slack forms put it under their nodes field by ``field``, not by the
    words of the message (which are Russian for a Russian reader)."""
    with i18n.use("ru"), pytest.raises(InvalidInput) as info:
        yard.submit("restart", ["web1"], {"service": "x"})
    assert "node" not in str(info.value) and getattr(info.value, "field", None) == "nodes"
    assert error_field(info.value) == NODES_BLOCK
