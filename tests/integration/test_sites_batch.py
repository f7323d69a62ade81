"""Batches on the spine: the spec's test cases, break on error, re-runs, real sshd sites."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.sshd import SSHServer, free_port

from jobyard import Yard
from jobyard.errors import InvalidInput
from jobyard.sites.batch import SCHEDULES, rerun_failed


@pytest.fixture
def running(yard: Yard) -> Iterator[Yard]:
    worker = yard.worker(concurrency=8, poll=0.05).start()
    yield yard
    worker.stop()


def test_two_actions_of_one_name_without_roles_run_once_each(running: Yard) -> None:
    yard = running
    yard.sites.add("site1", "hello")
    seen: list[str] = []
    lock = threading.Lock()

    @yard.action()
    def hello(ctx: Any) -> None:
        with lock:
            seen.append("first " + ctx.site.name)

    yard.action(name="hello")(lambda ctx: seen.append("second " + ctx.site.name))
    batch = yard.batch(["hello"]).wait(20)
    assert batch.ok and sorted(seen) == ["first site1", "second site1"]


def test_sequential_shared_carries_hello_world(running: Yard) -> None:
    yard = running
    yard.sites.add(["a", "b"], "app")
    ids: list[str] = []

    @yard.action("app")
    def hello(ctx: Any) -> None:
        ctx.shared[ctx.site.name] = "hello, "
        ids.append(ctx.id)

    @yard.action("app")
    def world(ctx: Any) -> None:
        ctx.shared[ctx.site.name] = ctx.shared[ctx.site.name] + "world!"
        ids.append(ctx.id)

    batch = yard.batch(["hello", "world"], schedule="sequential").wait(20)
    assert batch.ok and batch.failed == []
    storage = yard.jobset(batch.id).storage
    assert storage["a"] == storage["b"] == "hello, world!"
    assert all(i.startswith(f"{batch.id}-sequential-") for i in ids) and len(set(ids)) == 4


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_site_in_two_roles_runs_each_action_once(running: Yard, schedule: str) -> None:
    yard = running
    yard.sites.add("both", ["test", "live"])
    yard.sites.add("t", "test")
    yard.sites.add("other", "prod")
    runs: list[tuple[str, str]] = []

    @yard.action(["test", "live", "prod"])
    def one(ctx: Any) -> None:
        runs.append(("one", ctx.site.name))

    @yard.action(["live", "test"])
    def two(ctx: Any) -> None:
        runs.append(("two", ctx.site.name))

    batch = yard.batch(["one", "two"], schedule=schedule, roles=["test", "live"])
    batch.then(["two"], roles=["test", "live"]).wait(20)
    assert batch.ok
    assert sorted(runs) == sorted(
        [("one", "both"), ("one", "t"), ("two", "both"), ("two", "t")] * 1
        + [("two", "both"), ("two", "t")]
    )


def test_site_sequential_order_per_site_and_chained_runs_share(running: Yard) -> None:
    yard = running
    yard.sites.add(["a", "b"], "app")
    yard.sites.add("local")
    order: list[tuple[str, str]] = []

    @yard.action("local")
    def prepare(ctx: Any) -> None:
        ctx.shared["prepared"] = True
        order.append(("prepare", ctx.site.name))

    for name in ("update", "deploy"):

        def act(ctx: Any) -> None:
            assert ctx.shared["prepared"] is True
            order.append((ctx.action, ctx.site.name))

        yard.action("app", name=name)(act)

    batch = yard.batch("prepare").then(["update", "deploy"]).wait(20)
    assert batch.ok
    assert order[0] == ("prepare", "local")
    for site in "ab":
        mine = [a for a, s in order if s == site]
        assert mine == ["update", "deploy"]


def _failing(yard: Yard) -> None:
    yard.sites.add(["a", "b"], "app")

    @yard.action("app")
    def first(ctx: Any) -> None:
        if ctx.site.name == "a":
            raise RuntimeError("disk full")

    @yard.action("app")
    def second(ctx: Any) -> None:
        ctx.report("second ran")


def test_without_break_on_error_the_site_goes_on(running: Yard) -> None:
    _failing(running)
    batch = running.batch(["first", "second"]).wait(20)
    assert batch.failed == [("first", "a")]
    second = [j for j in batch.jobs() if j.data["action"] == "second"]
    assert [j.result["reports"] for j in second] == [["second ran"], ["second ran"]]


def test_break_on_error_stops_the_site_only_in_site_sequential(running: Yard) -> None:
    _failing(running)
    batch = running.batch(["first", "second"], break_on_error=True).wait(20)
    assert sorted(batch.failed) == [("first", "a"), ("second", "a")]
    status = {(j.data["action"], j.site): j.status for j in batch.jobs()}
    assert status[("second", "a")] == "cancelled" and status[("second", "b")] == "completed"
    assert "disk full" in str(next(j.error for j in batch.jobs() if j.status == "failed"))


def test_break_on_error_stops_the_whole_sequential_schedule(running: Yard) -> None:
    _failing(running)
    batch = running.batch(["first", "second"], schedule="sequential", break_on_error=True)
    batch.wait(20)
    assert sorted(batch.failed) == [("first", "a"), ("second", "a"), ("second", "b")]


def test_rerun_retries_only_what_failed(running: Yard) -> None:
    yard = running
    yard.sites.add(["a", "b"], "app")
    calls: list[str] = []
    broken = {"a"}

    @yard.action("app")
    def step(ctx: Any) -> None:
        calls.append(ctx.site.name)
        ctx.fail("still broken" if ctx.site.name in broken else None)

    batch = yard.batch(["step"]).wait(20)
    assert batch.failed == [("step", "a")]
    broken.clear()
    assert len(rerun_failed(yard, batch.id)) == 1
    batch.wait(20)
    assert batch.ok and sorted(calls) == ["a", "a", "b"]


def test_unreachable_site_fails_alone_naming_it(
    running: Yard, sshd: Callable[..., SSHServer]
) -> None:
    yard = running
    good = sshd()
    yard.sites.add("good", "app", **good.site())
    yard.sites.add(
        "down",
        "app",
        host="127.0.0.1",
        port=free_port(),
        connect_timeout=2,
        known_hosts=good.known_hosts,
        identity=good.identity,
    )

    @yard.action("app")
    def probe(ctx: Any) -> None:
        ctx.report(ctx.shell.run("echo up").stdout.strip())

    batch = yard.batch(["probe"], schedule="parallel").wait(30)
    assert batch.failed == [("probe", "down")]
    down = next(j for j in batch.jobs() if j.site == "down")
    assert "site 'down'" in down.result["error"]
    up = next(j for j in batch.jobs() if j.site == "good")
    assert up.result["reports"] == ["up"]
    assert "good: up" in _log(yard, up.id)  # output streamed to the job log, by site


def _log(yard: Yard, job_id: int) -> list[str]:
    from jobyard.joblog import read_log

    return [str(e["message"]) for e in read_log(yard.store, job_id)]


def test_site_variables_stay_data_over_ssh(
    running: Yard, sshd: Callable[..., SSHServer], tmp_path: Any
) -> None:
    yard = running
    server = sshd()
    pwned = tmp_path / "pwned"
    evil = f"$(touch {pwned}); touch {pwned}"
    yard.sites.add("web", "app", path=evil, **server.site())

    @yard.action("app")
    def show(ctx: Any) -> None:
        ctx.report(ctx.shell.run(("printf", "%s", ctx.site.path)).stdout)

    batch = yard.batch(["show"]).wait(20)
    assert batch.ok and batch.jobs()[0].result["reports"] == [evil]
    assert not pwned.exists()


def test_bad_input_creates_nothing(yard: Yard) -> None:
    yard.sites.add("a", "app")
    yard.action("app", name="known")(lambda ctx: None)
    yard.action("empty-role", name="lonely")(lambda ctx: None)
    cases = [
        (["nope"], {}, "action 'nope' not found; known actions: known, lonely"),
        (["known"], {"roles": ["ghost"]}, "unknown role 'ghost'"),
        (["known", "lonely"], {}, "'lonely': its role\\(s\\) empty-role have no sites"),
        (["known"], {"schedule": "fast"}, "unknown schedule 'fast'"),
        ([], {}, "at least one action"),
        (["known"], {"schedul": "atomic"}, "unknown batch option\\(s\\) schedul; known: sched"),
        (["nope"], {"allow_missing": True}, "none of the actions nope is known"),
    ]
    for actions, options, needle in cases:
        with pytest.raises(InvalidInput, match=needle):
            yard.batch(actions, **options)
    assert yard.jobs() == []
    batch = yard.batch(["nope", "known"], allow_missing=True)  # poly's "unless allowed"
    assert [j.data["action"] for j in batch.jobs()] == ["known"]


def test_chained_rerun_keeps_each_stages_own_schedule(running: Yard) -> None:
    """A re-run of a chained batch lowers each stage's failed pairs with that stage's own
    schedule (not the first stage's), and a later stage's still waits for an earlier's."""
    yard = running
    yard.sites.add(["a", "b"], "app")
    broken = {"a", "b"}

    for name in ("prep", "one", "two"):

        def act(ctx: Any) -> None:
            ctx.fail("broken" if ctx.site.name in broken else None)

        yard.action("app", name=name)(act)

    batch = yard.batch(["prep"], schedule="parallel").then(["one", "two"], schedule="sequential")
    batch.wait(20)
    assert len(batch.failed) == 6
    broken.clear()
    new = rerun_failed(yard, batch.id)
    assert len(new) == 6
    jobs = {j.id: j for j in yard.jobs(jobset=batch.id, limit=None) if j.id in new}
    by_pair = {(j.data["action"], j.site): j for j in jobs.values()}
    preps = {by_pair[("prep", s)].id for s in "ab"}
    ones = {by_pair[("one", s)].id for s in "ab"}
    for site in "ab":
        assert by_pair[("prep", site)].depends == []  # parallel: nothing to wait for
        assert by_pair[("prep", site)].data["schedule"] == "parallel"
        assert set(by_pair[("one", site)].depends) == preps  # the chain: after stage one
        assert set(by_pair[("two", site)].depends) == ones  # sequential: a barrier
        assert by_pair[("two", site)].data["schedule"] == "sequential"
    assert batch.wait(20).ok
