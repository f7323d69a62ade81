"""Does a big history slow the queue down? (issue #13: "drain and enqueue flat within 20%
with 10,000,000 finished jobs"). Per backend, two fresh databases: one empty, one holding
``--history`` finished jobs (default 10,000,000) with their logs and events
(preload_fill.py: written straight in SQL, then analysed as a long-lived database is).

    python bench/preload_drain.py                         # both backends, 10,000,000 jobs
    python bench/preload_drain.py --backends sqlite --history 200000 --rounds 1

A round, on one database: ``--single`` calls of ``yard.enqueue`` (no worker running; those
jobs are then cancelled), ``--jobs`` no-op jobs by ``enqueue_many`` in calls of
``--bulk-size``, then 2 ``jobyard worker`` processes (``-c 4``) drain them: N / (first
start -> last end), worker start-up excluded. Rounds take turns (empty, history, empty,
...); each figure is the median of ``--rounds`` with min-max, and history / empty is PASS
at 0.80 or more. Before every round the machine is sampled (fair.py): busy -> no report,
exit 4 (``--force`` measures anyway and marks the report NOT FAIR). The report (markdown +
JSON) goes to ``--report-dir`` (bench/reports/bigtables-YYYYMMDD-HHMMSS.md and .json).

PostgreSQL: databases of their own (bench_bigtables_<random>_empty / _history) created on
the server of ``--pg`` (a database there to connect to) and dropped after the run.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import shlex
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import fair
import preload_fill
import preload_report
import preload_round
import psycopg
import report
from common import BENCH_DIR, RESULTS_DIR, ensure_import_paths
from measure import WorkerGroup, log

REPORT_DIR = BENCH_DIR / "reports"
EXIT_BUSY = 4
CONDITIONS = preload_fill.CONDITIONS
BACKENDS = ("sqlite", "postgres")
TARGET = 0.80  # history / empty at least this: "flat within 20%"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from jobyard.config import Config

    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgres")
    p.add_argument("--history", type=int, default=10_000_000, help="finished jobs")
    p.add_argument(
        "--events",
        type=int,
        default=Config().events_keep_rows,
        help="job_events rows of the history, the newest jobs' (default: [events] keep_rows)",
    )
    p.add_argument("--jobs", type=int, default=20_000, help="jobs per bulk enqueue and drain")
    p.add_argument("--bulk-size", type=int, default=1000, help="jobs per enqueue_many call")
    p.add_argument("--single", type=int, default=2000, help="yard.enqueue calls per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds per figure (median, min-max)")
    p.add_argument("--procs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--concurrency", type=int, default=4, help="-c of each worker (default 4)")
    fair.add_options(p)
    p.add_argument(
        "--settle",
        type=float,
        default=300.0,
        help="s to wait after the fill for the machine to go idle (not measured)",
    )
    p.add_argument("--report-dir", type=Path, default=REPORT_DIR)
    p.add_argument(
        "--pg",
        default=os.environ.get("JOBYARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL database to connect to for creating and dropping the run's own "
        "(default $JOBYARD_BENCH_PG or the local test database)",
    )
    args = p.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(args.backends) - set(BACKENDS))
    if unknown or not args.backends:
        p.error(f"unknown backend {', '.join(unknown)}; known: {', '.join(BACKENDS)}")
    for key in ("history", "jobs", "bulk_size", "single", "rounds", "procs", "concurrency"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be at least 1")
    if args.events < 0:
        p.error("--events must be 0 or more")
    args.events = min(args.events, 3 * args.history)
    return args


def run_backend(
    backend: str, args: argparse.Namespace, guard: fair.BusyGuard, workdir: Path, logs: Path
) -> dict[str, Any]:
    dbs = preload_fill.Databases(backend, workdir, args.pg)
    out: dict[str, Any] = {"backend": backend, "conditions": {}}
    try:
        urls = dbs.create()
        out["databases"] = dbs.names()
        for url in urls.values():
            yard = preload_round.bench_yard(url)
            yard.migrate()
            yard.close()
        log(f"== {backend}: writing {args.history:,} finished jobs")
        out["fill"] = preload_fill.fill(urls["history"], args.history, args.events, log)
        log(
            f"  history written in {out['fill']['write_seconds']:.0f} s, analysed in "
            f"{out['fill']['analyze_seconds']:.0f} s"
        )
        out["retention"] = {}
        for condition, url in urls.items():
            out["retention"][condition] = pass_ = preload_fill.retention_pass(url)
            log(
                f"  {condition}: retention pass {pass_['seconds']:.0f} s ({pass_['archived']:,} "
                f"jobs archived), then vacuum/analyse {pass_['vacuum_seconds']:.0f} s"
            )
        for condition, url in urls.items():
            out["conditions"][condition] = {"before": preload_fill.inspect(url), "rounds": []}
        for url in urls.values():
            preload_round.warm_up(url)
        preload_round.settle(guard.threshold, args.settle)
        for n in range(args.rounds):
            # ABBA: neither database is always the first after a pause
            for condition in CONDITIONS if n % 2 == 0 else CONDITIONS[::-1]:
                url = urls[condition]
                guard.check(f"{backend} {condition} {n + 1}")
                workers = WorkerGroup(logs / f"{backend}-{condition}-{n + 1}")
                one = preload_round.measure_round(url, args, workers, workdir)
                out["conditions"][condition]["rounds"].append(one)
                log(
                    f"  {condition} round {n + 1}: drain {one['drain']:,.0f} jobs/s, bulk "
                    f"{one['bulk']:,.0f} jobs/s, single {one['single']:,.0f} calls/s"
                )
        for condition, url in urls.items():
            c = out["conditions"][condition]
            c["after"] = preload_fill.inspect(url)
            for figure in preload_report.FIGURES:
                c[figure] = fair.spread([r[figure] for r in c["rounds"]])
        out["ratios"] = ratios(out["conditions"])
    finally:
        dbs.drop()
    return out


def ratios(conditions: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for figure in preload_report.FIGURES:
        ratio = conditions["history"][figure]["median"] / conditions["empty"][figure]["median"]
        found[figure] = {"ratio": ratio, "verdict": "PASS" if ratio >= TARGET else "MISS"}
    return found


def main(argv: list[str] | None = None) -> int:
    ensure_import_paths()
    from jobyard.config import Config

    args = parse_args(argv)
    atexit.register(WorkerGroup.stop_all)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = dt.datetime.now()
    guard = fair.guard(args)
    versions = fair.versions(("jobyard", "psycopg", "psutil"))
    versions["sqlite"] = sqlite3.sqlite_version
    if "postgres" in args.backends:
        try:
            versions["postgresql"] = preload_fill.server_version(args.pg)
        except psycopg.Error as exc:
            from jobyard.store.pg_util import mask_url

            log(f"cannot run on PostgreSQL: {mask_url(args.pg)}: {' '.join(str(exc).split())}")
            return 2
    data: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": shlex.join(
            ["python", "bench/preload_drain.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": fair.machine(),
        "versions": versions,
        "settings": {
            **{k: v for k, v in vars(args).items() if k not in ("report_dir", "pg")},
            "archive_hours": Config().retention.archive_hours,
        },
        "target": TARGET,
        "backends": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="jobyard-bigtables-"))
    (workdir / f"{preload_round.APP}.py").write_text(preload_round.APP_SOURCE)
    logs = RESULTS_DIR / "logs" / f"bigtables-{started:%Y%m%d-%H%M%S}"  # gitignored
    t0 = time.monotonic()
    try:
        for backend in args.backends:
            data["backends"].append(run_backend(backend, args, guard, workdir, logs))
    except fair.MachineBusy as exc:
        log(f"NOT REPORTING: {exc}")
        return EXIT_BUSY
    except (RuntimeError, psycopg.Error, sqlite3.Error) as exc:
        log(f"FAILED (worker logs: {logs}): {exc}")
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    stem = f"bigtables-{started:%Y%m%d-%H%M%S}"
    report.publish(args.report_dir, stem, data, preload_report.render, guard, t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
