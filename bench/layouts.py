"""Which worker layout drains fastest: processes x threads (``jobyard worker -c``), measured.

    python bench/layouts.py                                # 1x8, 2x4, 4x2, 8x1; then 1 x -c 1..16
    python bench/layouts.py --layouts 2x4,4x2 --bodies incr --runs 5

The same drains as ``bench/run.py`` (its harness: N no-op or one-INCR jobs enqueued, the
workers started, rate = N / (spawn -> last done), median of ``--runs`` with min-max, the
machine's load checked before each layout), for jobyard on SQLite and PostgreSQL only. The
first table keeps the slots equal (the fair run's 8), the second varies ``-c`` of one
process: what ``jobyard worker``'s default ``-c`` should be. The report (markdown + JSON)
goes to ``bench/reports/layouts-<time>.md``, written by this script.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import fair
import report
import run
from common import BenchConfig, SkipSystem, ensure_import_paths, redis_client

SYSTEMS = ("jobyard-sqlite", "jobyard-postgres")


def parse_layout(text: str) -> tuple[int, int]:
    procs, _, threads = text.partition("x")
    try:
        p, t = int(procs), int(threads)
    except ValueError:
        raise argparse.ArgumentTypeError(f"layout {text!r}: PROCSxTHREADS, e.g. 2x4") from None
    if p < 1 or t < 1:
        raise argparse.ArgumentTypeError(f"layout {text!r}: both numbers must be >= 1")
    return p, t


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--layouts", default="1x8,2x4,4x2,8x1", help="equal-slot layouts")
    p.add_argument("--concurrency", default="1,2,4,8,16", help="-c values of one process")
    p.add_argument("--bodies", default="noop,incr")
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--busy-percent", type=float, default=fair.DEFAULT_BUSY_PERCENT)
    p.add_argument("--busy-wait", type=float, default=30.0)
    p.add_argument("--force", action="store_true", help="measure a busy machine (NOT FAIR)")
    p.add_argument("--report-dir", type=Path, default=run.REPORT_DIR)
    p.add_argument("--redis", default="redis://127.0.0.1:6379")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--lock-wait", type=float, default=0.0, help="s to wait for another run")
    args = p.parse_args(argv)
    try:
        args.layouts = [parse_layout(x) for x in args.layouts.split(",") if x]
        args.concurrency = [parse_layout(f"1x{c}") for c in args.concurrency.split(",") if c]
    except argparse.ArgumentTypeError as exc:
        p.error(str(exc))
    return args


def measure_layout(
    procs: int, threads: int, args: argparse.Namespace, guard: fair.BusyGuard, probes: Any
) -> list[dict[str, Any]]:
    cfg = BenchConfig(
        redis_base=args.redis.rstrip("/"),
        pg_base=args.pg.rstrip("/"),
        workers=procs,
        concurrency=threads,
    )
    plan = run.Plan(
        systems=list(SYSTEMS),
        bodies=args.bodies.split(","),
        jobs=args.jobs,
        pilot_jobs=0,
        target_seconds=8.0,
        runs=args.runs,
        latency_samples=0,
        latency_spacing=0.02,
        single_jobs=0,
        rescue_runs=0,
        rescue_default=False,
        phase_timeout=600.0,
    )
    logs = run.RESULTS_DIR / "logs" / f"layouts-{procs}x{threads}"
    out = []
    for name in SYSTEMS:
        result = run.run_system(name, cfg, plan, guard, probes, logs)
        out.append({"procs": procs, "threads": threads, **result})
    return out


def render(data: dict[str, Any]) -> str:
    lines = [
        "## Worker layouts (bench/layouts.py)",
        "",
        f"Command: `{data['command']}`  ",
        f"Run {data['started']}, {data['elapsed_seconds'] / 60:.1f} min.  ",
        "Machine: {cores} cores ({cpu}), {ram_gb} GB RAM, Python {python}.  ".format(
            **data["machine"]
        ),
        "Versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v) + ".  ",
        "Rate = N / (workers spawned -> last job done), median [min-max] of "
        f"{data['runs']} drains of {data['jobs']:,} jobs.",
    ]
    if not data["fair"]:
        lines += ["", "**NOT FAIR: the machine was busy (--force).**"]
    for title, key in (("Equal slots", "layouts"), ("One process, -c N", "concurrency")):
        lines += ["", f"### {title}", "", "| layout | backend | body | rate (jobs/s) |"]
        lines.append("|---|---|---|---:|")
        for row in data[key]:
            for body, drain in row.get("drain", {}).items():
                rate = report.spread_text(drain["rate"], 0)
                layout = f"{row['procs']} x -c {row['threads']}"
                lines.append(f"| {layout} | {row['backend']} | {body} | {rate} |")
        lines += ["", "Best per backend and body:", ""]
        best: dict[tuple[str, str], tuple[float, str]] = {}
        for row in data[key]:
            for body, drain in row.get("drain", {}).items():
                k = (row["backend"], body)
                median = float(drain["rate"]["median"])
                if k not in best or median > best[k][0]:
                    best[k] = (median, f"{row['procs']} x -c {row['threads']}")
        for (backend, body), (rate, layout) in sorted(best.items()):
            lines.append(f"- {backend}, {body}: {layout} ({rate:,.0f} jobs/s)")
    lines += ["", "Load before each: " + ", ".join(data["load_text"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_import_paths()
    base = BenchConfig(redis_base=args.redis.rstrip("/"), pg_base=args.pg.rstrip("/"))
    try:
        probes = {k: redis_client(base.redis_url(k)) for k in ("probe", "body")}
    except SkipSystem as exc:
        run.log(f"cannot run: the probe and the incr body need Redis: {exc}")
        return 2
    lock = run.run_lock(base, args.lock_wait)
    if lock is None:
        run.log("another bench run holds the lock: not starting")
        return 3
    os.environ["BENCH_PROBE_URL"] = base.redis_url("probe")
    started = dt.datetime.now()
    guard = fair.BusyGuard(args.busy_percent, args.busy_wait, args.force)
    t0 = time.monotonic()
    data: dict[str, Any] = {
        "command": shlex.join(["python", "bench/layouts.py", *(argv or sys.argv[1:])]),
        "started": started.isoformat(timespec="seconds"),
        "machine": fair.machine(),
        "versions": fair.versions(),
        "runs": args.runs,
        "jobs": args.jobs,
        "layouts": [],
        "concurrency": [],
    }
    try:
        for key in ("layouts", "concurrency"):
            for procs, threads in getattr(args, key):
                data[key] += measure_layout(procs, threads, args, guard, probes)
    except fair.MachineBusy as exc:
        run.log(f"NOT REPORTING: {exc}")
        return run.EXIT_BUSY
    finally:
        run.WorkerGroup.stop_all()
    data["elapsed_seconds"] = round(time.monotonic() - t0, 1)
    data["fair"] = guard.fair
    data["load_text"] = [s.describe() for s in guard.samples]
    args.report_dir.mkdir(parents=True, exist_ok=True)
    stem = args.report_dir / f"layouts-{started:%Y%m%d-%H%M%S}"
    text = render(data)
    print(text)
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    run.log(f"report: {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
