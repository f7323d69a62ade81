"""Enqueue over HTTP (single and bulk) beside the local Python API, on the same database.

    python bench/http_enqueue.py                # SQLite (a temp file)
    python bench/http_enqueue.py --pg           # PostgreSQL (a fresh database, dropped after)
    python bench/http_enqueue.py --quick        # a few seconds, small numbers

First the local rates: ``yard.enqueue`` one job per call (in one thread, then in
``--clients`` threads) and ``yard.enqueue_many`` in batches of ``--bulk-size``. Then a
``jobyard web --no-auth`` subprocess on the same database and N keep-alive httpx clients
(one thread each) posting ``POST /api/v1/jobs`` (one job per request) and
``POST /api/v1/jobs/bulk`` (``--bulk-size`` jobs per request). Each row: jobs/s over the
wall time of the phase, p50/p99 of the time of one call (a request, over HTTP), and the CPU
the server process spent per 1,000 jobs. Every phase checks that all its jobs are stored.
The report goes into docs/benchmarks.md between ``<!-- compare:http-enqueue-BACKEND -->``
markers; ``--json`` writes the numbers too. A busy machine (load >= 1) stops a full run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench import http_common as hc  # noqa: E402
from bench.compare import write_section  # noqa: E402
from tests.apiserver import free_port  # noqa: E402

from jobyard import Yard  # noqa: E402

TYPE = "bench_noop"


def timed_threads(
    clients: int, calls: int, call: Callable[[int, int], None]
) -> tuple[float, list[float]]:
    """``calls`` calls of ``call(client, i)`` spread over ``clients`` threads: the wall time
    and the duration of every call (seconds)."""
    durations: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def run(c: int) -> None:
        mine = durations[c]
        start.wait()
        try:
            for i in range(c, calls, clients):
                t0 = time.perf_counter()
                call(c, i)
                mine.append(time.perf_counter() - t0)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return wall, [d for per in durations for d in per]


class Phases:
    """Runs the phases, checks the job count after each, keeps the rows."""

    def __init__(self, yard: Yard, server_pid: int | None = None) -> None:
        self.yard = yard
        self.server_pid = server_pid
        self.rows: list[dict[str, Any]] = []

    def run(
        self, name: str, clients: int, calls: int, per_call: int, call: Callable[[int, int], None]
    ) -> None:
        before = self.yard.count()
        cpu0 = hc.cpu_seconds(self.server_pid) if self.server_pid else 0.0
        own0 = hc.own_cpu()
        wall, durations = timed_threads(clients, calls, call)
        cpu = (hc.cpu_seconds(self.server_pid) - cpu0) if self.server_pid else 0.0
        own = hc.own_cpu() - own0
        jobs = calls * per_call
        stored = self.yard.count() - before
        if stored != jobs:
            raise RuntimeError(f"{name}: {stored} jobs stored, {jobs} sent")
        row = {
            "phase": name,
            "clients": clients,
            "jobs": jobs,
            "per_call": per_call,
            "rate": jobs / wall,
            "p50_ms": hc.percentile(durations, 50) * 1000,
            "p99_ms": hc.percentile(durations, 99) * 1000,
            "server_cpu_ms_per_1000": cpu / jobs * 1e6 if self.server_pid else None,
            "bench_cpu_ms_per_1000": own / jobs * 1e6,
        }
        self.rows.append(row)
        print(
            f"{name} x{clients}: {row['rate']:,.0f} jobs/s, p50 {row['p50_ms']:.2f} ms, "
            f"p99 {row['p99_ms']:.2f} ms",
            file=sys.stderr,
        )


def local(yard: Yard, args: argparse.Namespace, clients: list[int]) -> list[dict[str, Any]]:
    ph = Phases(yard)
    for c in clients:
        ph.run("yard.enqueue", c, args.jobs, 1, lambda _c, i: _one(yard, i))
    batches = args.bulk_jobs // args.bulk_size
    items = [{"i": i} for i in range(args.bulk_size)]
    ph.run("yard.enqueue_many", 1, batches, args.bulk_size, lambda _c, _i: _many(yard, items))
    return ph.rows


def _one(yard: Yard, i: int) -> None:
    yard.enqueue(TYPE, {"i": i})


def _many(yard: Yard, items: list[dict[str, int]]) -> None:
    yard.enqueue_many(TYPE, items)


def over_http(
    yard: Yard, base: str, pid: int, args: argparse.Namespace, clients: list[int]
) -> list[dict[str, Any]]:
    ph = Phases(yard, pid)
    pool = [httpx.Client(base_url=base, timeout=60) for _ in range(max(clients))]
    try:
        for http in pool:  # connect first: keep-alive connections, as a real client has
            http.get("/healthz").raise_for_status()

        def single(c: int, i: int) -> None:
            r = pool[c].post("/api/v1/jobs", json={"type": TYPE, "data": {"i": i}})
            if r.status_code != 201:
                raise RuntimeError(f"POST /api/v1/jobs: {r.status_code} {r.text[:200]}")

        body = {"type": TYPE, "items": [{"i": i} for i in range(args.bulk_size)]}

        def bulk(c: int, _i: int) -> None:
            r = pool[c].post("/api/v1/jobs/bulk", json=body)
            if r.status_code != 201 or len(r.json()["ids"]) != args.bulk_size:
                raise RuntimeError(f"POST /api/v1/jobs/bulk: {r.status_code} {r.text[:200]}")

        for c in clients:
            ph.run("POST /api/v1/jobs", c, args.jobs, 1, single)
        batches = args.bulk_jobs // args.bulk_size
        for c in sorted({1, max(clients)}):
            ph.run("POST /api/v1/jobs/bulk", c, batches, args.bulk_size, bulk)
    finally:
        for http in pool:
            http.close()
    return ph.rows


def table(rows: list[dict[str, Any]], bulk_size: int) -> list[str]:
    out = [
        "| path | clients | jobs | jobs/s | p50 per call (ms) | p99 per call (ms) "
        "| server CPU per 1,000 jobs (ms) | bench CPU per 1,000 jobs (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cpu = r["server_cpu_ms_per_1000"]
        what = r["phase"] + (f" ({bulk_size} per call)" if r["per_call"] > 1 else "")
        out.append(
            f"| `{what}` | {r['clients']} | {r['jobs']:,} | {r['rate']:,.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {'-' if cpu is None else f'{cpu:,.0f}'} | "
            f"{r['bench_cpu_ms_per_1000']:,.0f} |"
        )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=5000, help="single enqueues per phase")
    ap.add_argument("--bulk-jobs", type=int, default=50_000, help="jobs per bulk phase")
    ap.add_argument("--bulk-size", type=int, default=1000)
    ap.add_argument("--clients", default="1,8", help="comma list of client counts")
    ap.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    ap.add_argument("--quick", action="store_true", help="small numbers, a few seconds")
    ap.add_argument("--force", action="store_true", help="run even when the machine is busy")
    ap.add_argument("--wait-quiet", type=float, default=0.0, help="seconds to wait for load < 1")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--json", default=None, help="also write the numbers here")
    args = ap.parse_args(argv)
    if args.quick:
        # enough bulk work for the server to spend measurable CPU (ticks of 10 ms): the
        # bulk path got fast enough that 2,000 jobs could take less than one tick
        args.jobs, args.bulk_jobs, args.bulk_size, args.clients = 300, 10_000, 200, "1,4"
    clients = sorted({int(c) for c in args.clients.split(",")})
    load = hc.check_quiet(args.quick, args.force, args.wait_quiet)
    with hc.database(args.pg) as url:
        env = hc.env_for(url)
        yard = Yard(url)
        yard.migrate()
        from bench.remote_app import yard as app

        for jt in app.types.values():
            yard.registry.add(jt)
        yard.sync_types()
        rows = local(yard, args, clients)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "jobyard", "web", "--no-auth", "--bind", f"127.0.0.1:{port}"]
        log = Path(tempfile.mkdtemp(prefix="jobyard-bench-logs-")) / "web.log"
        with hc.process(cmd, env, log) as web:
            hc.wait_healthy(base, web, log)
            rows += over_http(yard, base, web.pid, args, clients)
        prov = hc.provenance(["bench/http_enqueue.py", *(argv or sys.argv[1:])], url, load)
        yard.close()
    backend = "postgres" if args.pg else "sqlite"
    body = [
        f"### Enqueue over HTTP beside the local API, {backend}",
        "",
        *prov,
        "",
        f"Single: {args.jobs:,} jobs per row, one job per call; bulk: {args.bulk_jobs:,} jobs "
        f"per row in calls of {args.bulk_size:,}. HTTP rows: a `jobyard web --no-auth` "
        "subprocess, keep-alive httpx clients (one thread each) in the bench process. p50/p99 "
        "are of one call (one request). CPU: user + system time of the server process and "
        "of the bench process (the local API, or the HTTP clients) over the row.",
        "",
        *table(rows, args.bulk_size),
    ]
    write_section(Path(args.out), f"http-enqueue-{backend}", body)
    hc.write_json(args.json, {"backend": backend, "load": load, "rows": rows})


if __name__ == "__main__":
    main()
