"""Benchmark jobyard against other Python job queues, on this machine, in one run.

    python bench/run.py                       # every system, full size
    python bench/run.py --quick               # smoke test (small N)
    python bench/run.py --systems celery,rq --jobs 20000 --out docs/benchmarks.md

Per system (see ``--help`` for the knobs):

1. single enqueue: ``--enqueue-jobs`` calls of the normal enqueue API, one job each;
2. bulk enqueue: the same number of jobs through the system's bulk API, ``--bulk-size`` per call;
3. drain: ``--jobs`` no-op jobs are enqueued first, then ``--workers`` worker processes are
   started; the rate is jobs / (last job end - first job start), start-up is reported apart;
4. latency: with the same workers idle, ``--latency-samples`` jobs are enqueued one at a
   time, spaced out; latency = handler start time - time just before the enqueue call;
5. RSS of a job-executing worker process right after the drain (and of all worker processes).

Completion and start times are recorded by ``probe`` in a Redis database of their own, with the
same code for every system. Raw results go to bench/results/*.json (gitignored).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import fcntl
import json
import math
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

# bench/ is sys.path[0] when this file is run as a script, so its modules import directly.
import probe
from adapters import DEFAULT_SYSTEMS, load
from common import (
    BENCH_DIR,
    RESULTS_DIR,
    Adapter,
    BenchConfig,
    SkipSystem,
    WorkerSpec,
    ensure_import_paths,
    payload,
    redis_client,
)

QUICK = {"jobs": 2000, "enqueue_jobs": 500, "latency_samples": 30, "latency_spacing": 0.02}
FULL = {"jobs": 20_000, "enqueue_jobs": 5000, "latency_samples": 200, "latency_spacing": 0.05}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- timeouts --------------------------------------------------------------------------------


class PhaseTimeout(Exception):
    pass


class DrainFailed(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise ``PhaseTimeout`` in the main thread if the block runs longer than ``seconds``."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise PhaseTimeout(f"{what} took longer than {seconds:.0f}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- worker processes ------------------------------------------------------------------------


class WorkerGroup:
    """Worker commands started in their own process groups, so they can be stopped whole."""

    live: list[WorkerGroup] = []  # for the atexit / signal clean-up

    def __init__(self, log_dir: Path, system: str) -> None:
        self.log_dir = log_dir
        self.system = system
        self.procs: list[tuple[WorkerSpec, subprocess.Popen[bytes], Path]] = []

    def start(self, specs: list[WorkerSpec]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        WorkerGroup.live.append(self)
        for spec in specs:
            log_path = self.log_dir / f"{spec.label}.log"
            with open(log_path, "ab") as out:
                out.write(f"$ {shlex.join(spec.argv)}\n".encode())
                out.flush()
                proc = subprocess.Popen(
                    spec.argv,
                    env={**os.environ, **spec.env},
                    cwd=BENCH_DIR,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: pgid == pid
                )
            self.procs.append((spec, proc, log_path))

    def dead(self) -> list[str]:
        """Descriptions of worker commands that exited (they should run until stopped)."""
        out = []
        for spec, proc, log_path in self.procs:
            if proc.poll() is not None:
                out.append(f"{spec.label} exited with {proc.returncode}; log:\n{tail(log_path)}")
        return out

    def root_pids(self) -> list[int]:
        return [proc.pid for _, proc, _ in self.procs]

    def stop(self, grace: float = 10.0) -> None:
        for _, proc, _ in self.procs:
            _killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, proc, _ in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _, proc, _ in self.procs:
            _killpg(proc.pid, signal.SIGKILL)  # stragglers, orphaned children
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()
        if self in WorkerGroup.live:
            WorkerGroup.live.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for group in list(cls.live):
            group.stop(grace=3.0)


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join("    " + line for line in text[-lines:])


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Params:
    jobs: int
    enqueue_jobs: int
    bulk_size: int
    latency_samples: int
    latency_spacing: float
    latency_timeout: float
    phase_timeout: float
    startup_timeout: float
    stall_timeout: float
    idle_before_latency: float
    repeat: int


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def check_pending(adapter: Adapter, expected: int, result: dict[str, Any], phase: str) -> None:
    try:
        pending = adapter.pending_count()
    except Exception as exc:
        pending = None
        result["warnings"].append(f"{phase}: pending_count failed: {exc!r}")
    if pending is not None and pending != expected:
        result["warnings"].append(f"{phase}: {pending} jobs pending, expected {expected}")


def measure_enqueue(
    adapter: Adapter, p: Params, result: dict[str, Any], bulk: bool
) -> dict[str, Any]:
    """Best of ``p.repeat`` timed rounds (each on an emptied system) of ``p.enqueue_jobs`` jobs.

    Single: one ``enqueue_one`` call per job. Bulk: ``enqueue_bulk`` calls of ``p.bulk_size``.
    """
    phase = "bulk enqueue" if bulk else "single enqueue"
    items = [payload(i) for i in range(p.enqueue_jobs)]
    batches = chunks(items, p.bulk_size)
    adapter.reset()
    for data in items[:50]:  # warm up connections and code paths
        adapter.enqueue_one(data)
    adapter.enqueue_bulk(items[:50])
    rounds = []
    for _ in range(p.repeat):
        adapter.reset()
        t0 = time.perf_counter()
        if bulk:
            for batch in batches:
                adapter.enqueue_bulk(batch)
        else:
            for data in items:
                adapter.enqueue_one(data)
        rounds.append(time.perf_counter() - t0)
        check_pending(adapter, len(items), result, phase)
    best = min(rounds)
    out = {"n": len(items), "seconds": best, "rate": len(items) / best, "rounds_seconds": rounds}
    if bulk:
        out["batch_size"] = p.bulk_size
    return out


def measure_drain(
    adapter: Adapter, workers: WorkerGroup, probe_redis: Any, p: Params, result: dict[str, Any]
) -> tuple[dict[str, Any], list[int]]:
    adapter.reset()
    probe.reset(probe_redis)
    t0 = time.perf_counter()
    for batch in chunks([payload(i) for i in range(p.jobs)], p.bulk_size):
        adapter.enqueue_bulk(batch)
    prefill = time.perf_counter() - t0
    check_pending(adapter, p.jobs, result, "drain prefill")

    spawned = time.time()
    workers.start(adapter.worker_specs())
    last_count, last_progress = 0, time.monotonic()
    while True:
        time.sleep(0.05)  # only delays detection: rates come from the probe's timestamps
        state = probe.read_drain(probe_redis)
        if state.count >= p.jobs:
            break
        now = time.monotonic()
        if state.count != last_count:
            last_count, last_progress = state.count, now
        problem = None
        if dead := workers.dead():
            problem = "worker died during drain: " + "\n".join(dead)
        elif state.count == 0 and now - last_progress > p.startup_timeout:
            problem = f"no job ran within {p.startup_timeout:.0f}s of starting workers"
        elif state.count and now - last_progress > p.stall_timeout:
            problem = f"drain stalled at {state.count}/{p.jobs} for {p.stall_timeout:.0f}s"
        if problem:
            try:
                seen = adapter.describe_state()
            except Exception as exc:
                seen = {f"describe_state failed: {exc!r}": -1}
            result["drain_failure_state"] = {"probe_count": state.count, "system": seen}
            raise DrainFailed(f"{problem} (system's own job counts: {seen})")
    if state.count > p.jobs:
        result["warnings"].append(f"drain: {state.count} executions for {p.jobs} jobs")
    drain_s = state.last - state.first
    wall_s = state.last - spawned
    return {
        "n": p.jobs,
        "processed": state.count,
        "prefill_seconds": prefill,
        "startup_seconds": state.first - spawned,
        "drain_seconds": drain_s,
        "wall_seconds": wall_s,
        "rate": p.jobs / drain_s if drain_s > 0 else math.inf,
        "wall_rate": p.jobs / wall_s,
        "executing_processes": len(state.pids),
    }, state.pids


def measure_rss(executing_pids: list[int], workers: WorkerGroup) -> dict[str, Any]:
    import psutil

    def rss_mb(proc: psutil.Process) -> float | None:
        try:
            return float(proc.memory_info().rss) / 2**20
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    executing = {}
    for pid in executing_pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            mb = rss_mb(psutil.Process(pid))
            if mb is not None:
                executing[pid] = mb
    tree: dict[int, float] = {}
    for root in workers.root_pids():
        try:
            procs = [psutil.Process(root)]
            procs += procs[0].children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for proc in procs:
            mb = rss_mb(proc)
            if mb is not None:
                tree[proc.pid] = mb
    values = sorted(executing.values())
    return {
        "executing_pids_mb": executing,
        "one_worker_mb": values[len(values) // 2] if values else None,  # median
        "all_processes_mb": sum(tree.values()) if tree else None,
        "all_processes": len(tree),
    }


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def measure_latency(
    adapter: Adapter, workers: WorkerGroup, probe_redis: Any, p: Params
) -> dict[str, Any]:
    time.sleep(p.idle_before_latency)  # let the workers go idle
    probe_redis.delete(probe.LAT_KEY)
    samples: list[float] = []
    missing = 0
    rng = random.Random(42)
    for sid in range(p.latency_samples):
        t0 = time.time()
        adapter.enqueue_latency(sid)
        deadline = time.monotonic() + p.latency_timeout
        while (left := deadline - time.monotonic()) > 0:
            item = probe_redis.blpop(probe.LAT_KEY, timeout=max(1, math.ceil(left)))
            if item is None:
                continue
            got_sid, started = item[1].decode().split()
            if int(got_sid) == sid:  # ignore late arrivals of earlier, timed-out samples
                samples.append((float(started) - t0) * 1000)
                break
        else:
            missing += 1
            if dead := workers.dead():
                raise RuntimeError("worker died during latency test: " + "\n".join(dead))
        time.sleep(p.latency_spacing * rng.uniform(0.5, 1.5))
    if not samples:
        raise RuntimeError(f"no latency sample arrived within {p.latency_timeout}s")
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "missing": missing,
        "p50_ms": percentile(ordered, 50),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
        "mean_ms": sum(ordered) / len(ordered),
        "samples_ms": samples,
    }


BUSY_WARN_PERCENT = 25.0


def background_cpu_percent(seconds: float = 1.0) -> float:
    """System-wide CPU use over ``seconds`` while the benchmark itself is idle."""
    import psutil

    return float(psutil.cpu_percent(interval=seconds))


def run_phase(
    result: dict[str, Any], phase: str, limit: float, fn: Callable[[], Any]
) -> Any | None:
    """Run one measurement; on failure record it in ``result`` and return None."""
    try:
        with time_limit(limit, phase):
            return fn()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        result["errors"][phase] = f"{type(exc).__name__}: {exc}"
        log(f"  !! {phase} failed: {exc}")
        log(textwrap.indent(traceback.format_exc().rstrip(), "     "))
        return None


def bench_system(
    name: str, cfg: BenchConfig, p: Params, probe_redis: Any, log_dir: Path
) -> dict[str, Any]:
    result: dict[str, Any] = {"system": name, "status": "ok", "errors": {}, "warnings": []}
    log(f"\n== {name}")
    busy = background_cpu_percent()
    result["background_cpu_percent"] = busy
    if busy > BUSY_WARN_PERCENT:
        result["warnings"].append(
            f"machine was {busy:.0f}% busy before starting (other processes): numbers are noisy"
        )
    try:
        adapter = load(name, cfg)
        result.update(
            label=adapter.label,
            is_jobyard=adapter.is_jobyard,
            backend=adapter.backend,
            methods={
                "single": adapter.single_method,
                "bulk": adapter.bulk_method,
                "workers": adapter.worker_method.replace("<concurrency>", str(cfg.concurrency)),
            },
        )
        with time_limit(p.phase_timeout, f"{name} setup"):
            adapter.setup()
    except SkipSystem as exc:
        log(f"  SKIPPED {name}: {exc}")
        result.update(status="skipped", reason=str(exc), label=result.get("label", name))
        return result
    except Exception as exc:
        log(f"  SKIPPED {name}: setup failed: {exc!r}")
        result.update(status="error", reason=f"setup failed: {exc!r}")
        result.setdefault("label", name)
        return result

    workers = WorkerGroup(log_dir, name)
    try:
        for key, bulk in (("single_enqueue", False), ("bulk_enqueue", True)):
            phase = key.replace("_", " ")
            measured = run_phase(
                result,
                phase,
                p.phase_timeout,
                lambda b=bulk: measure_enqueue(adapter, p, result, b),
            )
            if measured:
                result[key] = measured
                rounds = ", ".join(f"{s:.2f}" for s in measured["rounds_seconds"])
                log(f"  {phase}: {measured['n']} jobs, best {measured['rate']:,.0f} jobs/s"
                    f" (rounds: {rounds} s)")  # fmt: skip
        drained = run_phase(
            result,
            "drain",
            p.phase_timeout,
            lambda: measure_drain(adapter, workers, probe_redis, p, result),
        )
        if drained:
            drain, pids = drained
            result["drain"] = drain
            log(
                f"  drain: {drain['n']} jobs in {drain['drain_seconds']:.2f}s"
                f" -> {drain['rate']:,.0f} jobs/s (start-up {drain['startup_seconds']:.2f}s,"
                f" wall {drain['wall_seconds']:.2f}s, prefill {drain['prefill_seconds']:.2f}s)"
            )
            rss = run_phase(result, "rss", 60, lambda: measure_rss(pids, workers))
            if rss:
                result["rss"] = rss
                log(
                    f"  RSS: {fmt(rss['one_worker_mb'], 1)} MB per executing process,"
                    f" {fmt(rss['all_processes_mb'], 1)} MB over {rss['all_processes']}"
                    " worker processes"
                )
            latency = run_phase(
                result,
                "latency",
                p.phase_timeout,
                lambda: measure_latency(adapter, workers, probe_redis, p),
            )
            if latency:
                result["latency"] = latency
                log(
                    f"  latency: p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms"
                    f" ({latency['n']} samples, {latency['missing']} missing)"
                )
    finally:
        workers.stop()
        with contextlib.suppress(Exception):
            adapter.teardown()
    if result["errors"]:
        result["status"] = "partial"
    for warning in result["warnings"]:
        log(f"  warning: {warning}")
    return result


# -- report ----------------------------------------------------------------------------------


@dataclass
class Metric:
    key: str
    title: str
    higher_is_better: bool
    digits: int
    get: Callable[[dict[str, Any]], float | None]


def _path(*keys: str) -> Callable[[dict[str, Any]], float | None]:
    def get(result: dict[str, Any]) -> float | None:
        value: Any = result
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value) if value is not None else None

    return get


METRICS = [
    Metric("single", "single enqueue (jobs/s)", True, 0, _path("single_enqueue", "rate")),
    Metric("bulk", "bulk enqueue (jobs/s)", True, 0, _path("bulk_enqueue", "rate")),
    Metric("drain", "drain, 2 procs (jobs/s)", True, 0, _path("drain", "rate")),
    Metric("startup", "worker start-up (s)", False, 2, _path("drain", "startup_seconds")),
    Metric("p50", "latency p50 (ms)", False, 2, _path("latency", "p50_ms")),
    Metric("p99", "latency p99 (ms)", False, 2, _path("latency", "p99_ms")),
    Metric("rss", "RSS / worker proc (MB)", False, 1, _path("rss", "one_worker_mb")),
    Metric("rss_all", "RSS all worker procs (MB)", False, 1, _path("rss", "all_processes_mb")),
]
RATIO_METRICS = ("single", "bulk", "drain", "p50", "p99", "rss")


def fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value:,.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def results_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        label = r["label"] if r["status"] in ("ok", "partial") else f"{r['label']} ({r['status']})"
        rows.append([label] + [fmt(m.get(r), m.digits) for m in METRICS])
    return markdown_table(["System"] + [m.title for m in METRICS], rows)


def ratio_table(ours: list[dict[str, Any]], peers: list[dict[str, Any]]) -> str:
    """Per metric: the best of ``peers`` and how each of ``ours`` compares with it."""
    header = ["Metric", "best peer", "value"]
    for r in ours:
        header += [r["label"], "x vs best"]
    rows = []
    for m in (m for m in METRICS if m.key in RATIO_METRICS):
        measured = [(value, r) for r in peers if (value := m.get(r)) is not None]
        if not measured:
            continue
        pick = max if m.higher_is_better else min
        best_value, best = pick(measured, key=lambda item: item[0])
        row = [m.title, best["label"], fmt(best_value, m.digits)]
        for r in ours:
            value = m.get(r)
            if not value or not best_value:
                row += [fmt(value, m.digits), "—"]
                continue
            factor = value / best_value if m.higher_is_better else best_value / value
            row += [fmt(value, m.digits), f"{factor:.2f}x"]
        rows.append(row)
    return markdown_table(header, rows)


BACKEND_NAMES = {"postgresql": "PostgreSQL", "redis": "Redis", "sqlite": "SQLite"}


def ratio_section(results: list[dict[str, Any]]) -> list[str]:
    """jobyard vs the best peer overall, then vs the best peer on the same database."""
    measured = [r for r in results if r["status"] not in ("skipped", "error")]
    peers = [r for r in measured if not r.get("is_jobyard")]
    ours = [r for r in measured if r.get("is_jobyard")]
    parts = ["### jobyard vs the best peer", ""]
    if not peers:
        return [*parts, "_No peer system was measured, so there is nothing to compare against._"]
    parts.append(ratio_table(ours, peers))
    for backend in sorted({r["backend"] for r in ours}):
        same = [r for r in peers if r["backend"] == backend]
        if same:
            mine = [r for r in ours if r["backend"] == backend]
            name = BACKEND_NAMES.get(backend, backend)
            parts += ["", f"### jobyard vs the best {name} peer", "", ratio_table(mine, same)]
    parts += [
        "",
        "x vs best = how many times better jobyard is than the best peer on that metric "
        "(>1: jobyard better; latency and RSS are lower-is-better, so there it is "
        "best / jobyard).",
    ]
    if not ours:
        parts += ["", "_jobyard was not measured in this run (see skipped systems)._"]
    return parts


def methods_table(results: list[dict[str, Any]]) -> str:
    rows = [
        [r["label"], r["methods"]["single"], r["methods"]["bulk"], r["methods"]["workers"]]
        for r in results
        if "methods" in r
    ]
    return markdown_table(["System", "single enqueue", "bulk enqueue", "workers"], rows).replace(
        "---:", "---"
    )


def environment(cfg: BenchConfig, probe_redis: Any) -> dict[str, Any]:
    versions = {}
    for package in (
        "jobyard",
        "celery",
        "kombu",
        "rq",
        "dramatiq",
        "huey",
        "procrastinate",
        "redis",
        "psycopg",
        "psutil",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    server: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        server["redis"] = probe_redis.info("server")["redis_version"]
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(cfg.pg_url("postgres"), connect_timeout=5) as conn:
            server["postgresql"] = conn.info.parameter_status("server_version")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "packages": versions,
        "servers": server,
    }


def render_report(report: dict[str, Any]) -> str:
    env, params, results = report["environment"], report["params"], report["results"]
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)
    servers = ", ".join(f"{k} {v}" for k, v in env["servers"].items())
    parts = [
        "## Job-queue benchmark",
        "",
        f"Run {report['started']} on {env['cpus']} x {env['cpu']}, Python {env['python']}; "
        f"{servers}; load average {env['load_average_at_start'][0]:.2f} at start, "
        f"{env.get('load_average_at_end', [math.nan])[0]:.2f} at end.  ",
        f"Packages: {packages}.  ",
        f"Command: `{report['command']}`",
        "",
        f"Drain: {params['jobs']:,} pre-enqueued no-op jobs, {params['workers']} worker "
        f"processes (concurrency {params['concurrency']} where configurable), rate = jobs / "
        "(last job end - first job start), start-up (spawn → first job) shown apart. "
        f"Enqueue: {params['enqueue_jobs']:,} jobs, bulk in calls of {params['bulk_size']:,}, "
        f"best of {params['repeat']} rounds. "
        f"Latency: {params['latency_samples']} jobs enqueued one at a time "
        f"~{params['latency_spacing'] * 1000:.0f} ms apart to idle workers, enqueue call → "
        "handler start. RSS: median over the job-executing processes after the drain.",
        "",
        results_table(results),
        "",
        *ratio_section(results),
        "",
        "### How each system was driven",
        "",
        methods_table(results),
    ]
    problems = []
    for r in results:
        if r["status"] in ("skipped", "error"):
            problems.append(f"- **{r['label']}**: {r['status']}: {r['reason']}")
        for phase, error in r["errors"].items():
            problems.append(f"- **{r['label']}** {phase}: {error.splitlines()[0]}")
        for warning in r["warnings"]:
            problems.append(f"- **{r['label']}** warning: {warning}")
    if problems:
        parts += ["", "### Skipped systems, errors and warnings", "", *problems]
    return "\n".join(parts) + "\n"


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--systems",
        default=",".join(DEFAULT_SYSTEMS),
        help=f"comma-separated systems (default: all = {','.join(DEFAULT_SYSTEMS)})",
    )
    parser.add_argument("--jobs", type=int, help="jobs drained by the workers (default 20000)")
    parser.add_argument(
        "--enqueue-jobs", type=int, help="jobs for the single/bulk enqueue tests (default 5000)"
    )
    parser.add_argument("--bulk-size", type=int, default=1000, help="jobs per bulk call")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed rounds of each enqueue test; best is kept"
    )
    parser.add_argument("--latency-samples", type=int, help="latency samples (default 200)")
    parser.add_argument(
        "--latency-spacing", type=float, help="mean pause between samples, s (default 0.05)"
    )
    parser.add_argument("--latency-timeout", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="job-executing worker processes")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="jobs in flight per worker process where the system has such a knob "
        "(dramatiq threads, procrastinate/jobyard concurrency)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes for a smoke test (2000 jobs)"
    )
    parser.add_argument("--out", type=Path, help="also write the markdown report to this file")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis base URL")
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL base URL"
    )
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=0.0,
        help="seconds to wait for another run of this harness to finish (default: don't)",
    )
    parser.add_argument("--phase-timeout", type=float, default=900.0)
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--stall-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def acquire_run_lock(cfg: BenchConfig, wait: float) -> TextIO | None:
    """Only one harness at a time: runs share the Redis databases and PostgreSQL databases.

    Returns the open lock file (keep it open for the whole run), or None if another run holds
    the lock for longer than ``wait`` seconds.
    """
    cfg.tmp_dir.mkdir(parents=True, exist_ok=True)
    lock = open(cfg.tmp_dir / "run.lock", "a+")  # noqa: SIM115  (held until exit)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                lock.seek(0)
                holder = lock.read().strip() or "unknown"
                log(f"another benchmark run holds {lock.name} ({holder}); not starting "
                    "(use --lock-wait SECONDS to wait for it)")  # fmt: skip
                lock.close()
                return None
            time.sleep(1)
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}, started {dt.datetime.now():%H:%M:%S}\n")
    lock.flush()
    return lock


def on_signal(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_import_paths()  # src/ too, in case jobyard is not pip-installed
    cfg = BenchConfig(
        redis_base=args.redis.rstrip("/"),
        pg_base=args.pg.rstrip("/"),
        workers=args.workers,
        concurrency=args.concurrency,
    )
    params = Params(
        jobs=args.jobs,
        enqueue_jobs=args.enqueue_jobs,
        bulk_size=args.bulk_size,
        latency_samples=args.latency_samples,
        latency_spacing=args.latency_spacing,
        latency_timeout=args.latency_timeout,
        phase_timeout=args.phase_timeout,
        startup_timeout=args.startup_timeout,
        stall_timeout=args.stall_timeout,
        idle_before_latency=1.0,
        repeat=args.repeat,
    )
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    run_lock = acquire_run_lock(cfg, args.lock_wait)
    if run_lock is None:
        return 3
    os.environ["BENCH_PROBE_URL"] = cfg.redis_url("probe")
    try:
        probe_redis = redis_client(cfg.redis_url("probe"))
    except SkipSystem as exc:
        log(f"cannot run: the probe needs Redis: {exc}")
        return 2

    atexit.register(WorkerGroup.stop_all)
    signal.signal(signal.SIGTERM, on_signal)

    started = dt.datetime.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    log_dir = args.results_dir / "logs" / stamp
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": shlex.join(["python", "bench/run.py", *(argv or sys.argv[1:])]),
        "params": {**vars(params), "workers": cfg.workers, "concurrency": cfg.concurrency},
        "environment": environment(cfg, probe_redis),
        "results": [],
    }
    try:
        for name in systems:
            report["results"].append(bench_system(name, cfg, params, probe_redis, log_dir))
    except KeyboardInterrupt:
        log("\ninterrupted: stopping workers, reporting what was measured")
        WorkerGroup.stop_all()
    report["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    report["environment"]["load_average_at_end"] = os.getloadavg()

    text = render_report(report)
    print("\n" + text)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    raw = args.results_dir / f"bench-{stamp}.json"
    write_json(raw, report)
    write_json(args.results_dir / "latest.json", report)
    log(f"raw results: {raw}  (worker logs: {log_dir})")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        log(f"report written to {args.out}")
    measured = [r for r in report["results"] if r["status"] in ("ok", "partial")]
    return 0 if measured else 1


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
