"""Time to first byte of the web UI's pages with a big jobs table.

    python bench/web_ttfb.py --jobs 1000000                      # SQLite (a temp file)
    python bench/web_ttfb.py --jobs 1000000 --db postgresql://127.0.0.1/jobyard_bench

Fills the database through the public API (``enqueue_many`` in batches), then marks most
jobs finished in bulk with one SQL statement per status (the setup only: fast and not
what is measured), starts the web app in this process (uvicorn, no auth), and times 30
GETs of each page: the time until the response headers arrive. The report goes into
docs/benchmarks.md between ``<!-- compare:web-ttfb-BACKEND -->`` markers. Target: p50 and
p95 <= 100 ms on SQLite and PostgreSQL with 1,000,000 jobs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.compare import write_section  # noqa: E402
from tests.apiserver import serving  # noqa: E402

from jobyard import Yard  # noqa: E402
from jobyard.api.auth import NoAuth  # noqa: E402
from jobyard.web.app import create_web_app  # noqa: E402

PAGES = (
    "/",
    "/jobs",
    "/jobs?status=failed",
    "/jobs?status=running",
    "/jobs?type=bench_b",
    "/jobs/{mid}",
    "/types",
)
SHARES = (("completed", 90), ("failed", 4), ("cancelled", 2), ("ready", 3), ("waiting", 1))


def fill(yard: Yard, n: int) -> None:
    @yard.job
    def bench_a(job) -> None:  # type: ignore[no-untyped-def]
        return None

    @yard.job
    def bench_b(job) -> None:  # type: ignore[no-untyped-def]
        return None

    yard.migrate()
    yard.sync_types()
    have = yard.count()
    batch = 20_000
    t0 = time.perf_counter()
    while have < n:
        k = min(batch, n - have)
        yard.enqueue_many("bench_a" if have % 3 else "bench_b", [{"i": i} for i in range(k)])
        have += k
    print(f"filled {n} jobs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    mark_statuses(yard)


def mark_statuses(yard: Yard) -> None:
    """Bulk status change for the setup (a direct statement: 1M jobs through the lifecycle
    would take an hour and measure nothing of the web UI)."""
    now = time.time()
    lo = 0
    url = yard.url
    for status, share in SHARES:
        hi = lo + share
        sql = (
            "UPDATE jobs SET status = %s, finished = %s, updated = %s "
            "WHERE id %% 100 >= %s AND id %% 100 < %s"
        )
        if url.startswith("sqlite"):
            import sqlite3

            con = sqlite3.connect(url.split("sqlite:///", 1)[1])
            con.execute(sql.replace("%s", "?").replace("%%", "%"), (status, now, now, lo, hi))
            con.commit()
            con.close()
        else:
            import psycopg

            with psycopg.connect(url, autocommit=True) as con:
                con.execute(sql, (status, now, now, lo, hi))
        lo = hi


def ttfb(client: httpx.Client, url: str) -> float:
    t0 = time.perf_counter()
    with client.stream("GET", url) as r:
        took = time.perf_counter() - t0
        assert r.status_code == 200, (url, r.status_code)
        r.read()
    return took * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--db", default=None, help="database URL (default: a temp SQLite file)")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.db or f"sqlite:///{tmp}/bench.db"
    yard = Yard(url)
    fill(yard, args.jobs)
    mid = yard.jobs(limit=1)[0].id // 2
    load = os.getloadavg()[0]
    rows = []
    with serving(create_web_app(yard, NoAuth())) as base, httpx.Client(timeout=60) as client:
        for page in PAGES:
            path = page.format(mid=mid)
            ttfb(client, base + path)  # warm
            times = sorted(ttfb(client, base + path) for _ in range(args.rounds))
            p50 = statistics.median(times)
            p95 = times[int(len(times) * 0.95) - 1]
            rows.append(f"| `{page}` | {p50:.1f} | {p95:.1f} | {'yes' if p95 <= 100 else 'NO'} |")
            print(f"{path}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", file=sys.stderr)
    backend = "sqlite" if url.startswith("sqlite") else "postgres"
    cmd = "python bench/web_ttfb.py --jobs {}{}".format(
        args.jobs, "" if backend == "sqlite" else " --db postgresql://..."
    )
    body = [
        f"### Web UI time to first byte, {backend}, {args.jobs:,} jobs",
        "",
        f"`{cmd}` — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load {load:.2f} at start; "
        f"{args.rounds} GETs per page after one warm-up.",
        "",
        "| page | p50 (ms) | p95 (ms) | ≤ 100 ms |",
        "|---|---|---|---|",
        *rows,
    ]
    write_section(Path(args.out), f"web-ttfb-{backend}", body)


if __name__ == "__main__":
    main()
