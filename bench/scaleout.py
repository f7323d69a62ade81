"""Drain rate with workers on 1, 2, 3 hosts (network namespaces) against one PostgreSQL.

    python bench/scaleout.py                  # 20,000 no-op jobs per drain, 1..3 hosts
    python bench/scaleout.py --jobs 5000 --hosts 1,3 --concurrency 8

The hosts are made as in tests/chaos/test_netns_scaleout.py (tests/netns.py, root needed):
a private PostgreSQL (initdb in a temp dir, fsync=off) listens on the bridge; each host runs
one ``jobyard worker -c C`` in its namespace. A drain: N jobs enqueued, workers started, rate
= N / (spawn -> the database counts N completed). On one machine the "hosts" share its CPUs:
the figure shows where the database (and those CPUs) stop the rate growing, not what N real
machines would do; the server's CPU share during the drain is reported to say which.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import psutil  # noqa: E402
from tests.faultpg import PrivatePostgres, _bin_dir  # noqa: E402
from tests.netns import NetLab, unavailable  # noqa: E402

from jobyard import Yard  # noqa: E402


def drain(lab: NetLab, pg: PrivatePostgres, hosts: int, jobs: int, c: int) -> dict[str, float]:
    url = pg.create_database(f"scale{hosts}_{int(time.time())}")
    yard = Yard(url)
    yard.types.update({"noop": _noop_type()})
    yard.enqueue_many("noop", [{"i": i} for i in range(jobs)])
    env = {**os.environ, "JOBYARD_DB": url, "JOBYARD_APP": "scaleout_app"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), str(ROOT / "src")])
    cpu0 = _server_cpu(pg)
    t0 = time.monotonic()
    workers = [
        subprocess.Popen(
            [*lab.exec_prefix(h), sys.executable, "-m", "jobyard", "worker", "-c", str(c)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for h in range(1, hosts + 1)
    ]
    try:
        while yard.count(status="completed") < jobs:
            if time.monotonic() - t0 > 600:
                raise RuntimeError("drain took over 10 minutes")
            time.sleep(0.05)
        seconds = time.monotonic() - t0
        pg_cpu = (_server_cpu(pg) - cpu0) / seconds * 100
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(30)
        yard.close()
    return {"hosts": hosts, "seconds": seconds, "rate": jobs / seconds, "pg_cpu": pg_cpu}


def _noop_type() -> object:
    import scaleout_app

    return scaleout_app.yard.types["noop"]


def _server_cpu(pg: PrivatePostgres) -> float:
    """CPU seconds used so far by the server and its live backends (workers hold theirs)."""
    pid = int((pg.data / "postmaster.pid").read_text().split()[0])
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--hosts", default="1,2,3")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    if reason := unavailable():
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    bin_dir = _bin_dir()
    if bin_dir is None:
        print("cannot run: no PostgreSQL server binaries (initdb)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "bench"))
    counts = [int(h) for h in args.hosts.split(",")]
    lab = NetLab.create(max(counts))
    pg = PrivatePostgres(bin_dir, host=lab.server)
    try:
        pg.init()
        pg.trust(lab.network)
        pg.start()
        print("| hosts | jobs | seconds | jobs/s | PostgreSQL CPU (% of one core) |")
        print("|---:|---:|---:|---:|---:|")
        for hosts in counts:
            r = drain(lab, pg, hosts, args.jobs, args.concurrency)
            print(f"| {hosts} | {args.jobs:,} | {r['seconds']:.2f} | {r['rate']:,.0f} | "
                  f"{r['pg_cpu']:.0f} |", flush=True)  # fmt: skip
    finally:
        pg.destroy()
        lab.destroy()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
