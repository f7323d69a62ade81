"""poly.shell's first README example, ported: shells on two sites, shared batch state.

    python examples/poly_hello.py        # two local sites in a temporary directory

The original adds two sites of role ``app-role`` on one host (``sites.add('test',
'app-role', {host, testpath})``), three jobs ``init``, ``hello``, ``world`` and runs them
with ``jobs.run([...], {log: true})`` in the default site-sequential schedule. Here the
sites are ``yard.sites.add``, the jobs ``@yard.action``, ``this`` is ``ctx``, and the run is
``yard.batch([...])`` — one job per (action, site) in one jobset, run by a worker. Give the
sites a ``host`` (and port, user, identity, known_hosts) to run them over SSH; the tests
do, against real sshd servers.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from jobyard import Yard


def build(url: str, sites: dict[str, dict[str, Any]]) -> Yard:
    yard = Yard(url)
    for name, config in sites.items():
        yard.sites.add(name, "app-role", config)

    @yard.action("app-role")
    def init(ctx: Any) -> None:
        ctx.shell.run(("mkdir", "-p", ctx.site.testpath))
        # Broadcast the test file's location to the other jobs on the same site:
        ctx.shared[ctx.site.name] = {"testfile": ctx.site.testpath + "/hello.test"}

    @yard.action("app-role")
    def hello(ctx: Any) -> None:
        testfile = ctx.shared[ctx.site.name]["testfile"]
        ctx.shell.run("echo hello world > " + ctx.shell.quote(testfile))

    @yard.action("app-role")
    def world(ctx: Any) -> None:
        host = ctx.site.get("host", "localhost")
        ctx.shell.run(
            [
                ("echo", f"greetings from: {ctx.site.name} running on host: {host}"),
                ("cat", ctx.shared[ctx.site.name]["testfile"]),
            ]
        )
        ctx.report("message delivered")

    return yard


def main(url: str | None = None, sites: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp())
    url = url or f"sqlite:///{work / 'poly.db'}"
    sites = sites or {
        "test": {"testpath": str(work / "jobstest" / "t1")},
        "test2": {"testpath": str(work / "jobstest" / "t2")},
    }
    yard = build(url, sites)
    worker = yard.worker(concurrency=4).start()
    try:
        batch = yard.batch(["init", "hello", "world"]).wait(timeout=60)
    finally:
        worker.stop()
    from jobyard.joblog import read_log

    logs = {}
    for job in batch.jobs():
        key = f"{job.data['action']}@{job.site}"
        logs[key] = [str(e["message"]) for e in read_log(yard.store, job.id)]
    return {"batch": batch.id, "ok": batch.ok, "failed": batch.failed, "logs": logs}


if __name__ == "__main__":
    outcome = main(sys.argv[1] if len(sys.argv) > 1 else None)
    for key, lines in outcome["logs"].items():
        print(f"-- {key}")
        for line in lines:
            print("  ", line)
    print("ok" if outcome["ok"] else f"failed: {outcome['failed']}")
    sys.exit(0 if outcome["ok"] else 1)
