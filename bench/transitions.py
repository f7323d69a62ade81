"""Enqueue + claim + complete of N jobs on each backend, in-process: the hot path the
transition events (docs/events.md) must not slow down. Prints jobs/s (best of --rounds)
with the event triggers and, on a second database whose triggers were dropped, without
them, the rounds taking turns (a busy machine slows both alike).

    python bench/transitions.py [--jobs 20000] [--rounds 3] [--pg postgresql://...]
    python bench/transitions.py --enqueue-only --drop job_created   # what job.created costs
    python bench/transitions.py --single --drop job_created --jobs 3000  # one job a call
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


def one_round(
    store: Store, jobs: int, batch: int, enqueue_only: bool = False, single: bool = False
) -> float:
    """Seconds for: bulk enqueue (``single``: one job per call, alone), then claim and
    complete in batches, all on one store.
    SQLite runs in this process: its CPU time is counted, which other processes on a busy
    machine disturb less than the wall clock. PostgreSQL: the wall clock."""
    clock = time.process_time if store.dialect == "sqlite" else time.perf_counter
    start = clock()
    spec = JobSpec(type="t")
    data = dumps({"n": 1})
    if single:
        for _ in range(jobs):
            lifecycle.enqueue(store, [spec], [data], time.time())
    for first in range(0, 0 if single else jobs, 1000):
        count = min(1000, jobs - first)
        lifecycle.enqueue(store, [spec] * count, [data] * count, time.time())
    if enqueue_only or single:
        elapsed = clock() - start
        with store.transaction():
            store._execute("DELETE FROM jobs", {})  # bench only: the next round starts empty
        return elapsed
    done = 0
    while done < jobs:
        now = time.time()
        claimed = store.claim("w", uuid.uuid4().hex, ["default"], ["t"], batch, now, now + 60)
        lifecycle.complete(store, [(j, None) for j in claimed], time.time())
        done += len(claimed)
    return clock() - start


TRIGGERS = ("job_events_status", "job_events_progress")


def drop_triggers(store: Store, names: tuple[str, ...] = TRIGGERS) -> None:
    """The schema as it was before the transition events (0008), or without the triggers
    named, for the comparison."""
    with store.transaction():
        for name in names:
            suffix = " ON jobs" if store.dialect == "postgres" else ""
            store._execute(f"DROP TRIGGER IF EXISTS {name}{suffix}", {})  # bench only


def measure(with_events: str, without: str, args: argparse.Namespace) -> str:
    jobs, batch, rounds = args.jobs, args.batch, args.rounds
    stores = [open_store(with_events), open_store(without)]
    try:
        for store in stores:
            store.migrate()
        drop_triggers(stores[1], tuple(args.drop.split(",")))
        best = [float("inf"), float("inf")]
        for _ in range(rounds):
            for index, store in enumerate(stores):
                best[index] = min(
                    best[index], one_round(store, jobs, batch, args.enqueue_only, args.single)
                )
    finally:
        for store in stores:
            store.close()
    rate, base = jobs / best[0], jobs / best[1]
    return f"{rate:,.0f} jobs/s with them, {base:,.0f} without ({rate / base - 1:+.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50, help="jobs per claim")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    parser.add_argument("--drop", default=",".join(TRIGGERS), help="triggers left out")
    parser.add_argument("--enqueue-only", action="store_true", help="bulk enqueue alone")
    parser.add_argument("--single", action="store_true", help="one-job enqueue calls alone")
    args = parser.parse_args()
    what = "bulk enqueue" if args.enqueue_only else "enqueue+claim+complete"
    what = "single enqueue" if args.single else what
    print(f"{what} of {args.jobs} jobs, best of {args.rounds}, without {args.drop}:")
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            urls = [f"sqlite:///{Path(tmp) / name}" for name in ("a.db", "b.db")]
            print("sqlite:  ", measure(*urls, args))
    if args.only != "sqlite":
        postgres(args)


def postgres(args: argparse.Namespace) -> None:
    names = [f"bench_transitions_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(args.pg, autocommit=True) as admin:
        for name in names:
            admin.execute(f"CREATE DATABASE {name}")
    try:
        urls = [args.pg.rsplit("/", 1)[0] + "/" + name for name in names]
        print("postgres:", measure(*urls, args))
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            for name in names:
                admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
