"""The three tools of bench/sites.py, each run in a fresh child process of its own.

    python bench/sites_tools.py TOOL PLAN.json     # prints {"seconds": ..., "version": ...}

A plan lists the sites (port, user, identity, known_hosts), the local file to upload, and
per site the remote path and the local download path. Every tool does, per site, the same
four operations: a command (``uname -a``), an upload of the file, a command reading the
upload (``sha256sum``), a download of it. The time runs from the first connection to the
last download; imports and interpreter start-up are outside it for all three. Host keys
are verified against the plan's known_hosts by all three (unknown keys refused).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def timeline(jobs: list[Any], t0: float, took: float) -> None:
    """Where a jobyard run's time went (to stderr): created, started, finished, seconds."""
    base = min(j.created for j in jobs)
    starts = sorted((j.started or base) - base for j in jobs)
    ends = sorted((j.finished or base) - base for j in jobs)
    spans = sorted(float(j.result["seconds"]) for j in jobs if isinstance(j.result, dict))
    print(
        f"run {took:.2f} s; starts {starts[0]:.2f}..{starts[-1]:.2f}; ends {ends[0]:.2f}.."
        f"{ends[-1]:.2f}; action seconds median {spans[len(spans) // 2]:.2f} max {spans[-1]:.2f}",
        file=sys.stderr,
    )


def jobyard(plan: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    from jobyard import Yard, __version__
    from jobyard.sites import connect, loop
    from jobyard.sites.batch import run_concurrency

    yard = Yard(f"sqlite:///{plan['work']}/jobyard-{time.time_ns()}.db")
    yard.migrate()
    paths = {site["name"]: site for site in plan["sites"]}
    for site in plan["sites"]:
        yard.sites.add(
            site["name"],
            roles="bench",
            host="127.0.0.1",
            port=site["port"],
            user=site["user"],
            identity=site["identity"],
            known_hosts=site["known_hosts"],
        )

    @yard.action("bench", name="bench")
    def four(ctx: Any) -> None:
        mine = paths[ctx.site.name]
        ctx.shell.run("uname -a")
        ctx.shell.upload(plan["file"], mine["remote"])
        ctx.shell.run(ctx.shell.cmd("sha256sum", mine["remote"]))
        ctx.shell.download(mine["remote"], mine["local"])

    t0 = time.perf_counter()
    batch = yard.batch(["bench"], schedule="parallel")
    # as `jobyard batch` does: an in-process worker for the batch's action types
    jobs = batch.jobs()
    worker = yard.worker(name=f"bench-{batch.id}", concurrency=run_concurrency(len(jobs)))
    worker.types = {name: jt for name, jt in yard.types.items() if name == "action.bench"}
    worker.start()
    try:
        batch.wait(600)
        took = time.perf_counter() - t0
    finally:
        worker.stop()
        loop.call(connect.close_all())
    if os.environ.get("BENCH_SITES_TIMELINE"):
        timeline(batch.jobs(), t0, took)
    if batch.failed:
        errors = {j.site: j.error or j.result for j in batch.jobs()}
        raise SystemExit(f"jobyard: failed pairs {errors}")
    return {"seconds": took, "version": __version__}


def pyinfra(plan: dict[str, Any]) -> dict[str, Any]:
    from gevent import monkey

    monkey.patch_all()  # what pyinfra's CLI does first: its parallelism is gevent's
    import pyinfra as pkg
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.operation import add_op
    from pyinfra.api.operations import run_ops
    from pyinfra.operations import files, server

    hosts = [
        (
            site["name"],
            {
                "ssh_hostname": "127.0.0.1",
                "ssh_port": site["port"],
                "ssh_user": site["user"],
                "ssh_key": site["identity"],
                "ssh_known_hosts_file": site["known_hosts"],
                "ssh_strict_host_key_checking": "yes",
                "ssh_allow_agent": False,
                "ssh_look_for_keys": False,
            },
        )
        for site in plan["sites"]
    ]
    t0 = time.perf_counter()
    state = State(Inventory((hosts, {})), Config())
    connect_all(state)
    if len(state.activated_hosts) != len(hosts):
        raise SystemExit("pyinfra: not every host connected")
    by_name = {site["name"]: site for site in plan["sites"]}
    add_op(state, server.shell, commands=["uname -a"])
    for host in state.inventory:
        add_op(state, files.put, src=plan["file"], dest=by_name[host.name]["remote"], host=host)
    for host in state.inventory:
        add_op(
            state, server.shell, commands=[f"sha256sum {by_name[host.name]['remote']}"], host=host
        )
    for host in state.inventory:
        mine = by_name[host.name]
        add_op(state, files.get, src=mine["remote"], dest=mine["local"], host=host)
    run_ops(state)
    took = time.perf_counter() - t0
    disconnect_all(state)
    if state.failed_hosts:
        raise SystemExit(f"pyinfra: failed hosts {state.failed_hosts}")
    return {"seconds": took, "version": pkg.__version__}


def fabric(plan: dict[str, Any]) -> dict[str, Any]:
    import fabric as pkg
    from fabric import Connection, ThreadingGroup
    from paramiko import RejectPolicy

    def conn(site: dict[str, Any]) -> Connection:
        c = Connection(
            "127.0.0.1",
            user=site["user"],
            port=site["port"],
            connect_kwargs={
                "key_filename": site["identity"],
                "look_for_keys": False,
                "allow_agent": False,
            },
        )
        c.client.load_host_keys(site["known_hosts"])  # verified, unknown keys refused
        c.client.set_missing_host_key_policy(RejectPolicy())
        return c

    t0 = time.perf_counter()
    group = ThreadingGroup.from_connections([conn(site) for site in plan["sites"]])
    group.run("uname -a", hide=True)
    errors: list[BaseException] = []

    # Group.put/get take one remote path for every host; each site has its own, so the
    # rest runs as ThreadingGroup runs: a thread per connection.
    def rest(c: Connection, site: dict[str, Any]) -> None:
        try:
            c.put(plan["file"], site["remote"])
            c.run(f"sha256sum {site['remote']}", hide=True)
            c.get(site["remote"], site["local"])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=rest, args=(c, site))
        for c, site in zip(group, plan["sites"], strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    group.close()
    if errors:
        raise SystemExit(f"fabric: {errors[0]!r}")
    return {"seconds": took, "version": pkg.__version__}


TOOLS = {"jobyard": jobyard, "pyinfra": pyinfra, "fabric": fabric}


def main() -> None:
    tool, plan_file = sys.argv[1], sys.argv[2]
    plan = json.loads(Path(plan_file).read_text())
    print(json.dumps(TOOLS[tool](plan)))


if __name__ == "__main__":
    main()
