"""More of batches: async actions, one name's functions running at once, both backends,
a jump host, and ctx.shared seen across workers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from tests.sshd import SSHServer

from jobyard import Yard


@pytest.fixture(params=["sqlite", "postgres"])
def any_yard(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'b.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    yard = Yard(url)
    yield yard
    yard.close()


def test_batch_and_rerun_on_both_backends(any_yard: Yard) -> None:
    from jobyard.sites.batch import rerun_failed

    yard = any_yard
    yard.sites.add(["a", "b", "c"], "app")
    broken = {"b"}

    @yard.action("app")
    def first(ctx: Any) -> None:
        ctx.shared[f"first/{ctx.site.name}"] = ctx.id
        if ctx.site.name in broken:
            ctx.fail("b is broken")

    @yard.action("app")
    def second(ctx: Any) -> None:
        ctx.report(ctx.shared[f"first/{ctx.site.name}"])

    workers = [yard.worker(name=f"w{i}", concurrency=2, poll=0.05).start() for i in range(2)]
    try:
        batch = yard.batch(["first", "second"], schedule="atomic").wait(30)
        assert batch.failed == [("first", "b")]
        second = [j for j in batch.jobs() if j.data["action"] == "second"]
        assert [j.result["reports"] for j in second] == [
            [f"{batch.id}-atomic-0"],
            [f"{batch.id}-atomic-1"],
            [f"{batch.id}-atomic-2"],
        ]  # ctx.shared written by one job, read by another, on any of the workers
        broken.clear()
        rerun_failed(yard, batch.id)
        assert batch.wait(30).ok
        # how `jobyard batch` finds the batch to continue, on this backend
        assert yard.store.latest_jobset("batch", "first second") == batch.id
        assert yard.store.latest_jobset("batch", "other") is None
    finally:
        for w in workers:
            w.stop()


def test_async_action_and_same_name_functions_run_concurrently(yard: Yard) -> None:
    yard.sites.add("local", "app")
    inside = threading.Barrier(3, timeout=10)  # three functions must be running at once

    @yard.action("app", name="together")
    async def one(ctx: Any) -> None:
        results = await asyncio.gather(ctx.shell.arun("echo a"), ctx.shell.arun("echo b"))
        ctx.report("".join(r.stdout.strip() for r in results))
        await asyncio.to_thread(inside.wait)

    yard.action("app", name="together")(lambda ctx: inside.wait())
    yard.action("app", name="together")(lambda ctx: inside.wait())
    worker = yard.worker(concurrency=2, poll=0.05).start()
    try:
        started = time.monotonic()
        batch = yard.batch("together").wait(20)
    finally:
        worker.stop()
    assert batch.ok, batch.jobs()[0].result
    assert batch.jobs()[0].result["reports"] == ["ab"]
    assert time.monotonic() - started < 10


def test_jump_host(sshd: Callable[..., SSHServer]) -> None:
    from jobyard.sites import connect, loop
    from jobyard.sites.connect import SiteUnreachable
    from jobyard.sites.inventory import Site
    from jobyard.sites.shell import Shell

    bastion, inner = sshd(), sshd()
    site = Site("inner", [], inner.site(jump=f"root@127.0.0.1:{bastion.port}"))
    out = Shell(site, None).run("echo $SSH_CONNECTION").stdout.split()
    assert out[2:4] == ["127.0.0.1", str(inner.port)]
    loop.call(connect.close_all())
    bastion.stop()  # without the bastion the inner site cannot be reached: the jump is used
    with pytest.raises(SiteUnreachable, match=r"site 'inner \(jump root@127\.0\.0\.1"):
        Shell(site, None).run("true")


def test_action_errors_name_the_site_and_cause(yard: Yard) -> None:
    yard.sites.add(["slow", "raiser"], "app")

    @yard.action("app")
    async def trouble(ctx: Any) -> None:
        if ctx.site.name == "raiser":
            raise ValueError("bad parameter 'x'")
        await ctx.shell.arun("sleep 10", timeout=0.3)

    worker = yard.worker(concurrency=2, poll=0.05).start()
    try:
        batch = yard.batch("trouble", schedule="parallel").wait(20)
    finally:
        worker.stop()
    errors = {j.site: j.result["error"] for j in batch.jobs()}
    assert errors == {
        "slow": "site 'slow': command killed after 0.3 s",
        "raiser": "ValueError: bad parameter 'x'",
    }
    assert sorted(batch.failed) == [("trouble", "raiser"), ("trouble", "slow")]
