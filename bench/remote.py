"""Remote-worker drain rate beside the local one, on the same machine and database.

    python bench/remote.py --jobs 20000

Enqueues ``--jobs`` no-op jobs on a temp SQLite database and drains them with one
``jobyard worker -c 4`` process: first local (it opens the database), then remote
(``--server``, over the HTTP API of a ``jobyard web --no-auth`` on loopback). The time is
from the worker's start to the last job completed. The report goes into docs/benchmarks.md
between ``<!-- compare:remote-drain -->`` markers. Target: remote >= 50% of local.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.compare import write_section  # noqa: E402
from tests.apiserver import free_port  # noqa: E402

from jobyard import Yard  # noqa: E402


def drain(yard: Yard, env: dict[str, str], extra: list[str], n: int) -> float:
    yard.enqueue_many("bench_noop", [None] * n)
    t0 = time.perf_counter()
    w = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "-c", "4", *extra],
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        while yard.count(status="completed") < n:
            time.sleep(0.05)
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("drain took over 10 minutes")
        took = time.perf_counter() - t0
    finally:
        w.send_signal(signal.SIGTERM)
        w.wait(60)
    yard.remove(yard.matching(status="completed"))
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3, help="runs of each; the median is shown")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/bench.db"
    env = {
        **os.environ,
        "JOBYARD_DB": url,
        "JOBYARD_APP": "bench.remote_app",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}",
    }
    yard = Yard(url)
    yard.migrate()
    from bench.remote_app import yard as app

    for jt in app.types.values():
        yard.registry.add(jt)
    yard.sync_types()
    load = os.getloadavg()[0]
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "web", "--no-auth", "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    locals_, remotes = [], []
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        remote_env = {**env, "JOBYARD_DB": "postgresql://nobody@127.0.0.1:1/x"}
        server = ["--server", f"http://127.0.0.1:{port}", "--token", "unused-with-no-auth"]
        for _ in range(args.rounds):  # alternated, so a change of machine load hits both
            locals_.append(args.jobs / drain(yard, env, [], args.jobs))
            remotes.append(args.jobs / drain(yard, remote_env, server, args.jobs))
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(30)
    local, remote = args.jobs / statistics.median(locals_), args.jobs / statistics.median(remotes)
    shares = sorted(100 * r / lo for r, lo in zip(remotes, locals_, strict=True))
    lr, rr = args.jobs / local, args.jobs / remote
    print(f"local {lr:.0f} jobs/s, remote {rr:.0f} jobs/s ({100 * rr / lr:.0f}%)", file=sys.stderr)
    body = [
        f"### Remote worker drain, SQLite, {args.jobs:,} no-op jobs, one worker -c 4",
        "",
        f"`python bench/remote.py --jobs {args.jobs} --rounds {args.rounds}` — "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}"
        f" UTC, Python {platform.python_version()}, {os.cpu_count()} cores, load {load:.2f}"
        " at start.",
        "",
        "| worker | jobs/s | share of local |",
        "|---|---|---|",
        f"| local (opens the database) | {lr:,.0f} | 100% |",
        f"| remote (`--server`, HTTP on loopback) | {rr:,.0f} | {100 * rr / lr:.0f}% |",
        "",
        f"Median of {args.rounds} alternated runs each; local {min(locals_):,.0f} to "
        f"{max(locals_):,.0f} jobs/s, remote {min(remotes):,.0f} to {max(remotes):,.0f} jobs/s;"
        f" remote's share run by run {shares[0]:.0f}% to {shares[-1]:.0f}%.",
    ]
    write_section(Path(args.out), "remote-drain", body)


if __name__ == "__main__":
    main()
