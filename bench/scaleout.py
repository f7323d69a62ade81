"""Drain rate with workers on 1, 2, 3 hosts (network namespaces) against one PostgreSQL.

    python bench/scaleout.py                  # 20,000 no-op jobs per drain, 1..3 hosts
    python bench/scaleout.py --jobs 5000 --hosts 1,3 --concurrency 8
    python bench/scaleout.py --remote         # each drain again with remote workers

The hosts are made as in tests/chaos/test_netns_scaleout.py (tests/netns.py, root needed):
a private PostgreSQL (initdb in a temp dir, fsync=off) listens on the bridge; each host runs
one ``jobyard worker -c C`` in its namespace. A drain: N jobs enqueued, workers started, rate
= N / (spawn -> the database counts N completed). With ``--remote`` each host count is
drained a second time by remote workers (``jobyard worker --server``, a worker token, no
database in their environment) talking HTTP to one ``jobyard web`` on the bridge address.

Besides the rate, each drain reports the CPU seconds per 1,000 jobs of the PostgreSQL
server (its processes, the ones that exited meanwhile included; the bench's own polling
connection, over the unix socket, excluded) and of the web server (remote drains), and from
them the rate at which each would saturate one core (1 / CPU seconds per job), and how busy
the machine's CPUs were. On one machine the "hosts" share its CPUs: the rate shows where
those CPUs stop it growing, not what N real machines would do; the saturation estimates say
how far the servers themselves are from their limit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import psutil  # noqa: E402
from tests.chaos.procs import UNREACHABLE_DB  # noqa: E402
from tests.chaos.webserver import WebServer  # noqa: E402
from tests.faultpg import PrivatePostgres, _bin_dir  # noqa: E402
from tests.netns import NetLab, unavailable  # noqa: E402

from jobyard import Yard  # noqa: E402

TIMEOUT = 600  # seconds a drain may take


@dataclass
class Drain:
    mode: str  # "local" | "remote"
    hosts: int
    jobs: int
    seconds: float
    pg_cpu: float  # CPU seconds of the PostgreSQL server during the drain
    web_cpu: float | None  # of the web server (remote drains)
    machine_busy: float  # share of the machine's CPU time not idle, 0..1

    def row(self) -> str:
        cells = [
            self.mode,
            str(self.hosts),
            f"{self.jobs:,}",
            f"{self.seconds:.2f}",
            f"{self.jobs / self.seconds:,.0f}",
            f"{100 * self.pg_cpu / self.seconds:.0f}",
            *_per_job(self.pg_cpu, self.jobs),
            *(_per_job(self.web_cpu, self.jobs) if self.web_cpu is not None else ("-", "-")),
            f"{100 * self.machine_busy:.0f}% of {os.cpu_count()}",
        ]
        return "| " + " | ".join(cells) + " |"


HEADER = (
    "| workers | hosts | jobs | seconds | jobs/s | PostgreSQL CPU (% of one core) "
    "| PostgreSQL CPU-s / 1,000 jobs | PostgreSQL saturates one core at (jobs/s) "
    "| web CPU-s / 1,000 jobs | web saturates one core at (jobs/s) | machine CPU busy |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _per_job(cpu: float, jobs: int) -> tuple[str, str]:
    """CPU seconds per 1,000 jobs, and 1 / (CPU seconds per job): jobs/s on one core."""
    return f"{1000 * cpu / jobs:.3f}", (f"{jobs / cpu:,.0f}" if cpu > 0 else "-")


def drain(lab: NetLab, pg: PrivatePostgres, hosts: int, jobs: int, c: int, remote: bool) -> Drain:
    mode = "remote" if remote else "local"
    db = f"scale{hosts}_{mode}_{int(time.time())}"
    url = pg.create_database(db)
    # The bench's own connection (enqueue, then counting) goes over the unix socket: its
    # backend is "[local]" and left out of the server's CPU (see _server_cpu).
    yard = Yard(f"postgresql://postgres@/{db}?host={pg.socket_dir}&port={pg.port}")
    yard.types.update({"noop": _noop_type()})
    yard.enqueue_many("noop", [{"i": i} for i in range(jobs)])
    env = {**os.environ, "JOBYARD_APP": "scaleout_app"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), str(ROOT / "src")])
    cmd = [sys.executable, "-m", "jobyard", "worker", "-c", str(c)]
    web: WebServer | None = None
    tmp = Path(tempfile.mkdtemp(prefix="jobyard-scaleout-"))  # the web server's log
    if remote:
        web = WebServer(url, tmp, host=lab.server)
        web.start()
        env = {k: v for k, v in env.items() if not k.startswith("JOBYARD_") or k in _KEEP}
        env.update(JOBYARD_DB=UNREACHABLE_DB, JOBYARD_TOKEN=web.token("bench"))
        cmd += ["--server", web.base]
    else:
        env["JOBYARD_DB"] = url
    workers: list[subprocess.Popen[bytes]] = []
    try:
        cpu0, web0, machine0 = _server_cpu(pg), _web_cpu(web), psutil.cpu_times()
        t0 = time.monotonic()
        workers = [
            subprocess.Popen(
                [*lab.exec_prefix(h), *cmd, "-n", f"bench/h{h}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for h in range(1, hosts + 1)
        ]
        while yard.count(status="completed") < jobs:
            if time.monotonic() - t0 > TIMEOUT:
                raise RuntimeError(f"drain took over {TIMEOUT} s")
            time.sleep(0.05)
        seconds = time.monotonic() - t0
        pg_cpu, web_cpu = _server_cpu(pg) - cpu0, _web_cpu(web)
        busy = _busy(machine0, psutil.cpu_times())
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(30)
        if web is not None:
            web.stop()
        yard.close()
        shutil.rmtree(tmp, ignore_errors=True)
    spent = None if web_cpu is None or web0 is None else web_cpu - web0
    return Drain(mode, hosts, jobs, seconds, pg_cpu, spent, busy)


_KEEP = ("JOBYARD_APP", "JOBYARD_ALLOW_ROOT")  # what a remote worker keeps of JOBYARD_*


def _noop_type() -> object:
    import scaleout_app

    return scaleout_app.yard.types["noop"]


def _server_cpu(pg: PrivatePostgres) -> float:
    """CPU seconds used so far by the server: the postmaster, its live children but the
    unix-socket ("[local]") backends, i.e. the bench's own, and the children it reaped
    (backends that closed, autovacuum workers)."""
    pid = int((pg.data / "postmaster.pid").read_text().split()[0])
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for proc in root.children(recursive=True):
        try:
            if "[local]" in " ".join(proc.cmdline()):
                continue
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return float(total)


def _web_cpu(web: WebServer | None) -> float | None:
    if web is None or web.proc is None:
        return None
    times = psutil.Process(web.proc.pid).cpu_times()
    return float(times.user + times.system)


def _busy(before: Any, after: Any) -> float:
    """The share of CPU time (all cores) that was not idle between two psutil.cpu_times()."""
    spent = {f: getattr(after, f) - getattr(before, f) for f in after._fields}
    total = sum(spent.values())
    idle = spent.get("idle", 0.0) + spent.get("iowait", 0.0)
    return 1 - idle / total if total > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--hosts", default="1,2,3")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--remote", action="store_true", help="drain each host count with remote workers too"
    )
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
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        pg.init()
        pg.trust(lab.network)
        pg.start()
        print(HEADER)
        for hosts in counts:
            for remote in (False, True) if args.remote else (False,):
                r = drain(lab, pg, hosts, args.jobs, args.concurrency, remote)
                print(r.row(), flush=True)
    finally:
        pg.destroy()
        lab.destroy()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
