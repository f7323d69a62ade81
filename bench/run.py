"""The fair benchmark: jobyard and its peers, equal slots, the same bodies, the same clock.

    python bench/run.py                          # every system, both bodies, 3 runs (~20 min)
    python bench/run.py --quick                  # smoke test: tiny N, 1 run, a few systems
    python bench/run.py --systems jobyard-sqlite,huey-sqlite --bodies incr

Every system gets ``--procs`` x ``--threads`` in-flight slots (see each adapter's worker
method in the report) and runs the same job body (``--bodies``: ``noop``, and ``incr``: one
Redis INCR round trip). A drain enqueues N jobs, then starts the workers; the probe
(probe.py) times every system the same way. N is the same rule for all: ``--jobs``, or fewer
when a pilot drain says the system would need more than ``--target-seconds`` for it. Each
figure is the median of ``--runs`` drains with min-max. Then, per system, the enqueue ->
start latency; for jobyard, the rescue time of a kill -9'd worker's job.

Before each system the machine is sampled (fair.py): busy -> no report, exit 4 (``--force``
measures anyway and marks the report NOT FAIR). The report (markdown + JSON) goes to
``--report-dir`` (bench/reports/) with the command, versions, machine and load.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import fcntl
import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

# bench/ is sys.path[0] when this file is run as a script, so its modules import directly.
import fair
import measure
import report
import rescue
from adapters import DEFAULT_SYSTEMS, load
from common import (
    BENCH_DIR,
    RESULTS_DIR,
    BenchConfig,
    SkipSystem,
    ensure_import_paths,
    payload,
    redis_client,
)
from measure import Limits, WorkerGroup, log, time_limit
from probe import BODIES

REPORT_DIR = BENCH_DIR / "reports"
QUICK_SYSTEMS = "jobyard-sqlite,huey-thread"
EXIT_BUSY = 4
# Rough drain rates (jobs/s, 8 slots) and start-up (s) for the time estimate printed at start.
GUESS_RATE = {"procrastinate": 300, "rq": 1500, "rq-fork": 150, "celery": 2500}
GUESS_ENQUEUE = {"celery": 1500, "dramatiq": 4000, "huey": 6000, "huey-thread": 6000}


@dataclass
class Plan:
    systems: list[str]
    bodies: list[str]
    jobs: int
    pilot_jobs: int
    target_seconds: float
    runs: int
    latency_samples: int
    latency_spacing: float
    single_jobs: int
    rescue_runs: int
    rescue_default: bool
    phase_timeout: float

    def drain_jobs(self, pilot_rate: float | None) -> int:
        """The same rule for every system: ``jobs``, or what the pilot says fits the target."""
        if pilot_rate is None:
            return self.jobs
        return max(min(self.jobs, 1000), min(self.jobs, int(pilot_rate * self.target_seconds)))

    def estimate(self) -> float:
        total = 0.0
        for name in self.systems:
            rate = GUESS_RATE.get(name, 5000)
            n = self.jobs if not self.pilot_jobs else min(self.jobs, rate * self.target_seconds)
            enqueue = GUESS_ENQUEUE.get(name, 20000)
            one = 3.0 + n / rate + n / enqueue  # start, stop, drain, prefill
            pilot = 3.0 + self.pilot_jobs / rate if self.pilot_jobs else 0.0
            total += fair.SAMPLE_SECONDS + len(self.bodies) * (pilot + self.runs * one)
            total += 4.0 + self.latency_samples * self.latency_spacing
            total += self.runs * self.single_jobs / GUESS_ENQUEUE.get(name, 20000) * 20
        if any(name.startswith("jobyard") for name in self.systems) and self.rescue_runs:
            default_lease = rescue.default_lease()[0] + 5 if self.rescue_default else 0.0
            total += self.rescue_runs * (default_lease + rescue.SHORT_LEASE + 5)
        return total


def run_system(
    name: str, cfg: BenchConfig, plan: Plan, guard: fair.BusyGuard, probes: Any, logs: Path
) -> dict[str, Any]:
    result: dict[str, Any] = {"system": name, "label": name, "errors": [], "drain": {}}
    try:
        adapter = load(name, cfg)
        result.update(label=adapter.label, backend=adapter.backend, is_jobyard=adapter.is_jobyard)
        result["workers"] = report.method(adapter.worker_method, cfg)
        result["load_before"] = guard.check(name).__dict__  # MachineBusy propagates
        adapter.setup()
    except SkipSystem as exc:
        log(f"  SKIPPED {name}: {exc}")
        return {**result, "status": "skipped", "reason": str(exc)}
    log(f"== {adapter.label}: {cfg.slots} slots; {guard.samples[-1].describe()}")
    workers = WorkerGroup(logs / name)
    limits = Limits()
    try:
        for body in plan.bodies:
            cfg.body = body
            out = _phase(
                result,
                f"drain {body}",
                plan,
                lambda: _drains(adapter, plan, probes, workers, limits),
            )
            if out:
                result["drain"][body] = out
        cfg.body = "noop"
        if plan.single_jobs:
            single = _phase(result, "single enqueue", plan, lambda: _single(adapter, plan))
            if single:
                result["single_enqueue"] = single
        if plan.latency_samples:
            lat = _phase(
                result,
                "latency",
                plan,
                lambda: measure.latency(
                    adapter, workers, probes["probe"], plan.latency_samples, plan.latency_spacing
                ),
            )
            if lat:
                result["latency"] = lat
                log(f"  latency: p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms")
        if adapter.is_jobyard and plan.rescue_runs:
            result["rescue"] = _phase(
                result, "rescue", plan, lambda: _rescue(adapter, plan, probes, workers)
            )
    finally:
        workers.stop()
        try:
            adapter.teardown()
        except Exception as exc:
            result["errors"].append(f"teardown: {exc!r}")
    result["status"] = "partial" if result["errors"] else "ok"
    return result


def _phase(result: dict[str, Any], what: str, plan: Plan, fn: Any) -> Any:
    try:
        with time_limit(plan.phase_timeout, what):
            return fn()
    except (KeyboardInterrupt, SystemExit, fair.MachineBusy):
        raise
    except Exception as exc:
        result["errors"].append(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        log(f"  !! {what} failed: {exc}")
        return None


def _drains(
    adapter: Any, plan: Plan, probes: Any, workers: WorkerGroup, limits: Limits
) -> dict[str, Any]:
    pilot_rate = None
    if plan.pilot_jobs:
        pilot = measure.drain(
            adapter, workers, probes["probe"], probes["body"], plan.pilot_jobs, limits
        )
        pilot_rate = pilot["steady_rate"]
    n = plan.drain_jobs(pilot_rate)
    runs = [
        measure.drain(adapter, workers, probes["probe"], probes["body"], n, limits)
        for _ in range(plan.runs)
    ]
    out = {
        "n": n,
        "pilot_rate": pilot_rate,
        "rate": fair.spread([r["rate"] for r in runs]),
        "steady_rate": fair.spread([r["steady_rate"] for r in runs]),
        "startup_seconds": fair.spread([r["startup_seconds"] for r in runs]),
        "enqueue_rate": fair.spread([n / r["prefill_seconds"] for r in runs]),
        "runs": runs,
    }
    body = adapter.cfg.body
    if body == "incr" and any(r["body_calls"] < n for r in runs):
        raise measure.DrainFailed(f"fewer INCRs than jobs: {[r['body_calls'] for r in runs]}")
    log(
        f"  drain {body}: {n} jobs x {plan.runs}: {report.spread_text(out['rate'], 0)} jobs/s "
        f"(steady {report.spread_text(out['steady_rate'], 0)})"
    )
    return out


def _single(adapter: Any, plan: Plan) -> dict[str, Any]:
    """Enqueue calls of one job each (the normal API a web request would use), no worker
    running: ``single_jobs`` calls per run, ``runs`` runs, the queue emptied before each."""
    rates = []
    for _ in range(plan.runs):
        adapter.reset()
        t0 = time.perf_counter()
        for i in range(plan.single_jobs):
            adapter.enqueue_one(payload(i))
        rates.append(plan.single_jobs / (time.perf_counter() - t0))
    adapter.reset()
    out = {"n": plan.single_jobs, "rate": fair.spread(rates)}
    log(f"  single enqueue: {report.spread_text(out['rate'], 0)} jobs/s")
    return out


def _rescue(adapter: Any, plan: Plan, probes: Any, workers: WorkerGroup) -> dict[str, Any]:
    out: dict[str, Any] = {}
    settings = [("short", rescue.SHORT_LEASE, rescue.SHORT_HEARTBEAT)]
    if plan.rescue_default:
        settings.insert(0, ("default", None, None))
    for key, lease, beat in settings:
        times = rescue.measure(adapter, workers, probes["probe"], lease, beat, plan.rescue_runs)
        lease_s, beat_s = (lease, beat) if lease else rescue.default_lease()
        out[key] = {"lease": lease_s, "heartbeat": beat_s, "seconds": fair.spread(times)}
        log(f"  rescue ({key}, lease {lease_s:g}s): {report.spread_text(out[key]['seconds'], 2)} s")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--systems", help=f"comma-separated (default: {','.join(DEFAULT_SYSTEMS)})")
    p.add_argument("--bodies", default=",".join(BODIES), help="job bodies: noop,incr")
    p.add_argument("--procs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=4, help="jobs in flight per process (default 4)")
    p.add_argument("--jobs", type=int, default=20_000, help="N per drain, at most (default 20000)")
    p.add_argument("--pilot-jobs", type=int, default=500, help="pilot drain size (0: none)")
    p.add_argument("--target-seconds", type=float, default=8.0, help="drain length aimed at")
    p.add_argument("--runs", type=int, default=3, help="drains per figure (median, min-max)")
    p.add_argument("--latency-samples", type=int, default=200)
    p.add_argument("--latency-spacing", type=float, default=0.02, help="mean pause, s")
    p.add_argument("--single-jobs", type=int, default=2000, help="single enqueue calls per run")
    p.add_argument("--rescue-runs", type=int, default=3)
    fair.add_options(p)
    p.add_argument("--quick", action="store_true", help="smoke test: tiny N, 1 run, 2 systems")
    p.add_argument("--report-dir", type=Path, default=REPORT_DIR)
    p.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis base URL")
    p.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL base URL"
    )
    p.add_argument("--phase-timeout", type=float, default=600.0)
    p.add_argument("--lock-wait", type=float, default=0.0, help="s to wait for another run")
    args = p.parse_args(argv)
    if args.quick:
        args.systems = args.systems or QUICK_SYSTEMS
        args.jobs, args.pilot_jobs, args.runs = min(args.jobs, 300), 0, 1
        args.latency_samples = min(args.latency_samples, 10)
        args.single_jobs = min(args.single_jobs, 100)
        args.rescue_runs = min(args.rescue_runs, 1)
    args.systems = args.systems or ",".join(DEFAULT_SYSTEMS)
    for key in ("procs", "threads", "jobs", "runs"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be at least 1")
    for key in ("pilot_jobs", "latency_samples", "single_jobs", "rescue_runs"):
        if getattr(args, key) < 0:
            p.error(f"--{key.replace('_', '-')} must be 0 or more")
    unknown = set(args.bodies.split(",")) - set(BODIES)
    if unknown:
        p.error(f"unknown body {', '.join(sorted(unknown))}; known: {', '.join(BODIES)}")
    return args


def run_lock(cfg: BenchConfig, wait: float) -> TextIO | None:
    """One harness at a time: runs share the probe's Redis database and the systems' stores.
    The open lock file (held until exit), or None if another run kept it past ``wait`` s."""
    cfg.tmp_dir.mkdir(parents=True, exist_ok=True)
    lock = open(cfg.tmp_dir / "run.lock", "a+")  # noqa: SIM115  (held until exit)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock
        except BlockingIOError:
            if time.monotonic() >= deadline:
                lock.close()
                return None
            time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_import_paths()
    cfg = BenchConfig(
        redis_base=args.redis.rstrip("/"),
        pg_base=args.pg.rstrip("/"),
        workers=args.procs,
        concurrency=args.threads,
    )
    plan = Plan(
        systems=[s.strip() for s in args.systems.split(",") if s.strip()],
        bodies=args.bodies.split(","),
        jobs=args.jobs,
        pilot_jobs=args.pilot_jobs,
        target_seconds=args.target_seconds,
        runs=args.runs,
        latency_samples=args.latency_samples,
        latency_spacing=args.latency_spacing,
        single_jobs=args.single_jobs,
        rescue_runs=args.rescue_runs,
        rescue_default=not args.quick,  # the default lease alone takes 10+ s a run
        phase_timeout=args.phase_timeout,
    )
    lock = run_lock(cfg, args.lock_wait)
    if lock is None:
        log(
            f"another bench/run.py holds {cfg.tmp_dir / 'run.lock'}: not starting "
            "(--lock-wait SECONDS to queue behind it)"
        )
        return 3
    try:
        probes = {k: redis_client(cfg.redis_url(k)) for k in ("probe", "body")}
    except SkipSystem as exc:
        log(f"cannot run: the probe and the incr body need Redis: {exc}")
        return 2
    os.environ["BENCH_PROBE_URL"] = cfg.redis_url("probe")
    atexit.register(WorkerGroup.stop_all)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    estimate = plan.estimate()
    log(
        f"bench/run.py: {len(plan.systems)} systems x {len(plan.bodies)} bodies x {plan.runs} "
        f"runs, {cfg.slots} slots each; estimated {estimate / 60:.1f} min"
    )
    started = dt.datetime.now()
    guard = fair.guard(args)
    data: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": shlex.join(
            ["python", "bench/run.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "estimate_seconds": round(estimate),
        "machine": fair.machine(),
        "versions": fair.versions(),
        "servers": fair.servers(probes["probe"], cfg.pg_url("postgres")),
        "settings": {
            **plan.__dict__,
            "procs": cfg.workers,
            "threads": cfg.concurrency,
            "slots": cfg.slots,
        },
        "systems": [],
    }
    t0 = time.monotonic()
    logs = RESULTS_DIR / "logs" / f"{started:%Y%m%d-%H%M%S}"  # gitignored, unlike the report
    try:
        for name in plan.systems:
            data["systems"].append(run_system(name, cfg, plan, guard, probes, logs))
    except fair.MachineBusy as exc:
        log(f"NOT REPORTING: {exc}")
        return EXIT_BUSY
    stem = f"fair-{started:%Y%m%d-%H%M%S}"
    report.publish(args.report_dir, stem, data, report.render, guard, t0)
    measured = [r for r in data["systems"] if r["status"] in ("ok", "partial")]
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
