"""Does a big history slow the queue down? Drain rate with an empty table vs. a table that
already holds N finished jobs (default 1,000,000), on SQLite and PostgreSQL.

    python bench/preload_drain.py                       # both backends, 1,000,000 rows
    python bench/preload_drain.py --backends sqlite --history 200000

Each run: fill the history straight in SQL (completed jobs with a log-free, realistic row),
enqueue ``--jobs`` no-op jobs with ``enqueue_many``, start 2 ``jobyard worker`` processes,
and time from the first completion to the last (worker start-up excluded). Target: the
drain with history within 20% of the drain without.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
APP = "bench_preload_app"
PG_ADMIN = os.environ.get("JOBYARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

APP_SOURCE = """
from jobyard import Yard
yard = Yard()

@yard.job
def noop(job, **data):
    return None
"""

FILL_SQLITE = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO jobs (id, type, queue, status, data, created, updated, started, finished,
                  attempts, progress_completed, run_id)
SELECT i, 'history', 'default', 'completed', '{"i":' || i || '}', :t, :t, :t, :t, 1, 100,
       'old.' || i
FROM n
"""
FILL_PG = """
INSERT INTO jobs (type, queue, status, data, created, updated, started, finished, attempts,
                  progress_completed, run_id)
SELECT 'history', 'default', 'completed', json_build_object('i', i), %(t)s, %(t)s, %(t)s,
       %(t)s, 1, 100, 'old.' || i
FROM generate_series(1, %(count)s) AS i
"""


def fill(url: str, count: int) -> None:
    from jobyard import Yard

    yard = Yard(url)
    store = yard.store
    store.migrate()
    t = time.time() - 86400
    if url.startswith("sqlite"):
        with store.transaction():
            store._execute(FILL_SQLITE, {"count": count, "t": t})
    else:
        with store.transaction():
            store._execute(FILL_PG, {"count": count, "t": t})
        store._execute("ANALYZE jobs", {})
    yard.close()


def drain(url: str, jobs: int, workdir: Path) -> float:
    sys.path.insert(0, str(workdir))
    from jobyard import Yard

    yard = Yard(url)
    yard.types.clear()

    @yard.job
    def noop(job: object, **data: object) -> None:
        return None

    yard.enqueue_many("noop", [{"n": i} for i in range(jobs)])
    env = {
        **os.environ,
        "JOBYARD_DB": url,
        "JOBYARD_APP": APP,
        "PYTHONPATH": f"{workdir}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobyard", "worker", "-n", f"pre-{i}", "-c", "4"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    try:
        deadline = time.monotonic() + 600
        # Poll what is left (small partial indexes), not what is done (a million rows).
        while yard.count(status="ready") + yard.count(status="running") > 0:
            if time.monotonic() > deadline:
                raise SystemExit("drain did not finish in 10 minutes")
            time.sleep(0.05)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
    done = yard.jobs(status="completed", type="noop", limit=None)
    first = min(j.started or 0 for j in done)
    last = max(j.finished or 0 for j in done)
    yard.close()
    return jobs / (last - first)


def fresh_url(backend: str, workdir: Path, tag: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{tag}.db'}"
    name = f"bench_preload_{tag}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=20_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="jobyard-preload-"))
    (workdir / f"{APP}.py").write_text(APP_SOURCE)
    print(
        f"| backend | drain, empty table (jobs/s) | drain, {args.history:,} finished jobs "
        "(jobs/s) | ratio |"
    )
    print("|---|---:|---:|---:|")
    for backend in args.backends.split(","):
        empty = drain(fresh_url(backend, workdir, "empty"), args.jobs, workdir)
        url = fresh_url(backend, workdir, "history")
        started = time.monotonic()
        fill(url, args.history)
        filled = time.monotonic() - started
        full = drain(url, args.jobs, workdir)
        print(
            f"| {backend} | {empty:,.0f} | {full:,.0f} | {full / empty:.2f} |"
            f"  <!-- history written in {filled:.0f} s -->"
        )


if __name__ == "__main__":
    main()
