"""Enqueue + claim + complete of N jobs on each backend, in-process: the hot path the
transition events (docs/events.md) must not slow down. Prints jobs/s (best of --rounds).

    python bench/transitions.py [--jobs 20000] [--rounds 3] [--pg postgresql://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from jobyard import lifecycle
from jobyard.lifecycle import JobSpec
from jobyard.store import open_store
from jobyard.store.base import Store, dumps


def one_round(store: Store, jobs: int, batch: int) -> float:
    """Seconds for: bulk enqueue, then claim and complete in batches, all on one store."""
    start = time.perf_counter()
    spec = JobSpec(type="t")
    data = dumps({"n": 1})
    for first in range(0, jobs, 1000):
        count = min(1000, jobs - first)
        lifecycle.enqueue(store, [spec] * count, [data] * count, time.time())
    done = 0
    while done < jobs:
        now = time.time()
        claimed = store.claim("w", uuid.uuid4().hex, ["default"], ["t"], batch, now, now + 60)
        lifecycle.complete(store, [(j, None) for j in claimed], time.time())
        done += len(claimed)
    return time.perf_counter() - start


def measure(url: str, jobs: int, batch: int, rounds: int) -> float:
    store = open_store(url)
    try:
        store.migrate()
        best = min(one_round(store, jobs, batch) for _ in range(rounds))
    finally:
        store.close()
    return jobs / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50, help="jobs per claim")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rate = measure(f"sqlite:///{Path(tmp) / 'b.db'}", args.jobs, args.batch, args.rounds)
        print(f"sqlite: {rate:,.0f} jobs/s (enqueue+claim+complete, best of {args.rounds})")
    name = f"bench_transitions_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        url = args.pg.rsplit("/", 1)[0] + "/" + name
        rate = measure(url, args.jobs, args.batch, args.rounds)
        print(f"postgres: {rate:,.0f} jobs/s (enqueue+claim+complete, best of {args.rounds})")
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
