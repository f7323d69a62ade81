"""SSE fan-out: 100 clients on ``GET /api/v1/stream`` while jobs are enqueued and drained.

    python bench/sse.py                # SQLite (a temp file), 1 then 100 clients
    python bench/sse.py --pg           # PostgreSQL (a fresh database, dropped after)
    python bench/sse.py --quick        # a few seconds, 1 then 20 clients

The server (bench/sse_server.py: the app of ``jobyard web --no-auth`` plus a counters path)
runs in a subprocess, and so do one ``jobyard worker -c 4`` and a producer that enqueues
``--jobs`` no-op jobs at ``--rate`` jobs/s. The clients are asyncio connections in this
process with a small HTTP/1.1 reader (chunked SSE frames, no per-line library overhead, so
that the clients' own CPU weighs as little as possible on a 2-core machine). A client that
is dropped (2,000 events behind) reconnects with ``Last-Event-ID``, as a browser does.

Measured, once with 1 client and once with ``--clients``: events/s delivered per client
and in total, the delay from the event's time (the transition's, written with it) to its
arrival at a client (p50/p99, ms; the event time has millisecond resolution), the reads of
the event log by the server (its one live reader's polls, and every read), and the gaps: per
client, the event ids the log holds after the client joined that it did not receive (it
must be 0). The report goes into docs/benchmarks.md between
``<!-- compare:sse-fanout-BACKEND -->`` markers; ``--json`` writes the numbers too.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench import http_common as hc  # noqa: E402
from bench.compare import write_section  # noqa: E402
from bench.sse_client import Client  # noqa: E402
from tests.apiserver import free_port  # noqa: E402

from jobyard import Yard, views  # noqa: E402

TYPE = "bench_noop"


def produce(url: str, jobs: int, rate: float) -> None:
    """The producer subprocess: ``jobs`` enqueues, one at a time, at ``rate`` jobs/s."""
    yard = Yard(url)
    t0 = time.perf_counter()
    for i in range(jobs):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yard.enqueue(TYPE)  # no data: bench_noop takes none
    yard.close()


def truth(yard: Yard, after: int) -> list[int]:
    """Every transition id in the log after cursor ``after``: what each client must get."""
    ids: list[int] = []
    while True:
        events, after = views.transitions_after(yard, after, 500)
        if not events:
            return ids
        ids += [e.id for e in events]


def counters(base: str) -> dict[str, int]:
    data: dict[str, int] = httpx.get(f"{base}/_bench/fanout", timeout=10).json()
    return data


async def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def settle(clients: list[Client], events: int) -> None:
    """Until every client has ``events`` events, or none got one more for 5 s (a client
    that missed some never gets there: the gaps count them)."""
    total, still = -1, time.monotonic()
    while any(len(c.ids) < events for c in clients):
        now = sum(len(c.ids) for c in clients)
        if now != total:
            total, still = now, time.monotonic()
        elif time.monotonic() - still > 5:
            return
        await asyncio.sleep(0.05)


async def one_run(
    yard: Yard, base: str, port: int, server_pid: int, n: int, rate: float, jobs: int
) -> dict[str, Any]:
    """``n`` clients connected, then ``jobs`` jobs produced at ``rate`` and drained."""
    clients = [Client("127.0.0.1", port) for _ in range(n)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    try:
        await wait_for(lambda: all(c.connected for c in clients), 30, "the clients to connect")
        await wait_for(lambda: counters(base)["subscribers"] >= n, 30, "the subscriptions")
        await asyncio.sleep(0.5)  # the fan-out has read past everything before this run
        start = views.latest_transition(yard)
        done0 = yard.count(status="completed")
        before, t0 = counters(base), time.monotonic()
        cpu0, own0 = hc.cpu_seconds(server_pid), hc.own_cpu()
        producer = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--produce", yard.url, str(jobs), str(rate),
            cwd=ROOT,
        )  # fmt: skip
        await producer.wait()
        if producer.returncode != 0:
            raise RuntimeError(f"the producer failed ({producer.returncode})")
        await wait_for(lambda: yard.count(status="completed") - done0 >= jobs, 120, "the drain")
        want = 3 * jobs  # created, started, completed: the feed may show them a moment later
        await wait_for(lambda: len(truth(yard, start)) >= want, 30, "the events in the log")
        expected = truth(yard, start)
        await settle(clients, len(expected))
        elapsed = time.monotonic() - t0
        after, cpu = counters(base), hc.cpu_seconds(server_pid) - cpu0
        own = hc.own_cpu() - own0
    finally:
        for c in clients:
            c.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    run = summarize(clients, set(expected), start, elapsed, before, after)
    return {**run, "rate": rate, "server_cpu_s": cpu, "bench_cpu_s": own}


def summarize(
    clients: list[Client],
    expected: set[int],
    start: int,
    elapsed: float,
    before: dict[str, int],
    after: dict[str, int],
) -> dict[str, Any]:
    delays = [d for c in clients for d in c.delays]
    missed = [sorted(expected - {i for i in c.ids if i > start}) for c in clients]
    gaps = sum(len(m) for m in missed)
    # ids lower than one the client already had: the order of the feed is not the ids'
    backwards = sum(sum(1 for a, b in pairwise(c.ids) if b < a) for c in clients)
    dups = sum(len(c.ids) - len(set(c.ids)) for c in clients)
    rates = sorted(c.rate() for c in clients)
    first = min(c.first for c in clients)
    last = max(c.last for c in clients)
    received = sum(len(c.ids) for c in clients)
    reads = after["reads"] - before["reads"]
    return {
        "clients": len(clients),
        "events": len(expected),
        "received": received,
        "per_client_rate": hc.percentile(rates, 50),
        "total_rate": received / (last - first) if last > first else 0.0,
        "p50_ms": hc.percentile(delays, 50) * 1000,
        "p99_ms": hc.percentile(delays, 99) * 1000,
        "reads": reads,
        "reads_per_s": reads / elapsed,
        "log_reads": after["log_reads"] - before["log_reads"],
        "elapsed": elapsed,
        "gaps": gaps,
        "duplicates": dups,
        "drops": sum(c.drops for c in clients),
        "backwards": backwards,
        "missed_sample": next((m[:10] for m in missed if m), []),
    }


async def bench(url: str, args: argparse.Namespace, logs: Path) -> list[dict[str, Any]]:
    env = hc.env_for(url)
    yard = Yard(url)
    yard.migrate()
    from bench.remote_app import yard as app

    for jt in app.types.values():
        yard.registry.add(jt)
    yard.sync_types()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = [sys.executable, str(ROOT / "bench" / "sse_server.py"), str(port)]
    worker = [sys.executable, "-m", "jobyard", "worker", "-c", "4"]
    runs = []
    with (
        hc.process(server, env, logs / "server.log") as srv,
        hc.process(worker, env, logs / "worker.log"),
    ):
        hc.wait_healthy(base, srv, logs / "server.log")
        for rate in args.rates:
            for n in (1, args.clients):
                jobs = max(1, round(rate * args.seconds))
                run = await one_run(yard, base, port, srv.pid, n, rate, jobs)
                runs.append(run)
                print(
                    f"{rate:g} jobs/s, {n} clients: {run['total_rate']:,.0f} events/s in "
                    f"total, delay p50 {run['p50_ms']:.0f} ms p99 {run['p99_ms']:.0f} ms, "
                    f"{run['reads']} reads ({run['reads_per_s']:.1f}/s), gaps {run['gaps']}",
                    file=sys.stderr,
                )
    yard.close()
    return runs


def table(runs: list[dict[str, Any]]) -> list[str]:
    out = [
        "| jobs/s produced | clients | events | events/s per client (median) "
        "| events/s in total | delay p50 (ms) | delay p99 (ms) | reader polls (per s) "
        "| event log reads | server CPU (s) | bench CPU (s) | drops | out of id order | gaps |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        out.append(
            f"| {r['rate']:g} | {r['clients']} | {r['events']:,} | "
            f"{r['per_client_rate']:,.0f} | {r['total_rate']:,.0f} | {r['p50_ms']:.0f} | "
            f"{r['p99_ms']:.0f} | {r['reads']} ({r['reads_per_s']:.1f}) | {r['log_reads']} | "
            f"{r['server_cpu_s']:.2f} | {r['bench_cpu_s']:.2f} | {r['drops']} | {r['backwards']} | "
            f"{r['gaps']} |"
        )
    return out


def verdicts(runs: list[dict[str, Any]], clients: int) -> list[str]:
    """Per producer rate: the reader's polls with ``clients`` clients against one client."""
    out = []
    for one, many in zip(runs[::2], runs[1::2], strict=True):
        ratio = many["reads_per_s"] / one["reads_per_s"] if one["reads_per_s"] else 0.0
        same = "no more reads" if ratio <= 1.25 else "MORE reads"
        out.append(
            f"- {one['rate']:g} jobs/s: reader polls per second with {clients} clients "
            f"{ratio:.2f}x those with one ({same})."
        )
    gaps = sum(r["gaps"] for r in runs)
    line = f"- Gaps (event ids missed, every client of every run): {gaps}."
    if gaps:
        sample = next(r["missed_sample"] for r in runs if r["gaps"])
        line += f" **It must be 0.** Missed ids (a sample): {', '.join(map(str, sample))}."
    out.append(line)
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--produce"]:
        produce(argv[1], int(argv[2]), float(argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rates", default="50,200", help="comma list of jobs/s to produce")
    ap.add_argument("--seconds", type=float, default=10.0, help="of production per run")
    ap.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    ap.add_argument("--quick", action="store_true", help="small numbers, a few seconds")
    ap.add_argument("--force", action="store_true", help="run even when the machine is busy")
    ap.add_argument("--wait-quiet", type=float, default=0.0, help="seconds to wait for load < 1")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--json", default=None, help="also write the numbers here")
    args = ap.parse_args(argv)
    if args.quick:
        args.clients, args.rates, args.seconds = 20, "100", 1.0
    args.rates = [float(r) for r in args.rates.split(",")]
    load = hc.check_quiet(args.quick, args.force, args.wait_quiet)
    logs = Path(tempfile.mkdtemp(prefix="jobyard-bench-sse-"))
    with hc.database(args.pg) as url:
        runs = asyncio.run(bench(url, args, logs))
        prov = hc.provenance(["bench/sse.py", *argv], url, load)
    backend = "postgres" if args.pg else "sqlite"
    body = [
        f"### SSE fan-out to {args.clients} clients, {backend}",
        "",
        *prov,
        "",
        f"Each run: the clients connect, then a producer enqueues no-op jobs for "
        f"{args.seconds:g} s at the rate shown and one `jobyard worker -c 4` drains them; "
        "every client must receive every transition (created, started, completed) the log "
        "holds after it joined. Delay: the event's time to its arrival at the client (the "
        "reader polls every 0.25 s). Reader polls: the server's one live reader "
        "(`Fanout.reads`); event log reads: every read of the log by the server. Bench CPU: "
        "the process of the clients. Out of id order: events that came after one with a higher "
        "id (the feed's order on PostgreSQL is the transactions', not the ids').",
        "",
        *table(runs),
        "",
        *verdicts(runs, args.clients),
    ]
    write_section(Path(args.out), f"sse-fanout-{backend}", body)
    hc.write_json(args.json, {"backend": backend, "load": load, "runs": runs})


if __name__ == "__main__":
    main()
