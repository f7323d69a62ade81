"""The markdown report of bench/run.py, rendered from its JSON (the one source of figures)."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import BenchConfig
from fair import BusyGuard

NOT_FAIR = "**NOT FAIR: machine busy**"


def method(text: str, cfg: BenchConfig) -> str:
    """An adapter's worker method with this run's numbers in place of the placeholders."""
    for key, value in (("<procs>", cfg.workers), ("<threads>", cfg.concurrency)):
        text = text.replace(key, str(value))
    return text.replace("<slots>", str(cfg.slots)).replace("<concurrency>", str(cfg.concurrency))


def fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value:,.{digits}f}"


def spread_text(figure: dict[str, Any] | None, digits: int) -> str:
    """``median [min-max]`` (the median alone for a single run)."""
    if not figure:
        return "—"
    median = fmt(figure["median"], digits)
    if len(figure["runs"]) == 1:
        return median
    return f"{median} [{fmt(figure['min'], digits)}-{fmt(figure['max'], digits)}]"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _drain_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in data["systems"]:
        for body in data["settings"]["bodies"]:
            d = r.get("drain", {}).get(body)
            if r["status"] == "skipped":
                rows.append([r["label"], body, "skipped", "", "", "", ""])
                break
            if d is None:
                rows.append([r["label"], body, "failed", "", "", "", ""])
                continue
            rows.append(
                [
                    r["label"],
                    body,
                    f"{d['n']:,}",
                    spread_text(d["rate"], 0),
                    spread_text(d["steady_rate"], 0),
                    spread_text(d["startup_seconds"], 2),
                    spread_text(d["enqueue_rate"], 0),
                ]
            )
    return rows


def _ratios(data: dict[str, Any]) -> list[str]:
    """jobyard's drain over the fastest peer's, per body: overall and on the same backend."""
    measured = [r for r in data["systems"] if r.get("drain")]
    ours = [r for r in measured if r.get("is_jobyard")]
    peers = [r for r in measured if not r.get("is_jobyard")]
    lines = []
    for body in data["settings"]["bodies"]:
        for mine in ours:
            for scope, pool in (
                ("any peer", peers),
                ("same backend", [p for p in peers if p.get("backend") == mine.get("backend")]),
            ):
                rated = [
                    (p["drain"][body]["rate"]["median"], p) for p in pool if body in p["drain"]
                ]
                if body not in mine["drain"] or not rated:
                    continue
                best_rate, best = max(rated, key=lambda item: item[0])
                ratio = mine["drain"][body]["rate"]["median"] / best_rate
                lines.append(
                    f"- {body}: {mine['label']} {ratio:.2f}x the fastest peer ({scope}: "
                    f"{best['label']}, {best_rate:,.0f} jobs/s)"
                )
    return lines


def _single_rows(data: dict[str, Any]) -> list[list[str]]:
    return [
        [r["label"], f"{one['n']:,}", spread_text(one["rate"], 0)]
        for r in data["systems"]
        if (one := r.get("single_enqueue"))
    ]


def _latency_rows(data: dict[str, Any]) -> list[list[str]]:
    return [
        [
            r["label"],
            str(lat["n"]),
            fmt(lat["p50_ms"], 2),
            fmt(lat["p99_ms"], 2),
            fmt(lat["max_ms"], 2),
            str(lat["missing"]),
        ]
        for r in data["systems"]
        if (lat := r.get("latency"))
    ]


def _rescue_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in data["systems"]:
        for key, m in (r.get("rescue") or {}).items():
            rows.append(
                [
                    r["label"],
                    key,
                    f"{m['lease']:g}",
                    f"{m['heartbeat']:g}",
                    spread_text(m["seconds"], 2),
                ]
            )
    return rows


def publish(
    directory: Path,
    stem: str,
    data: dict[str, Any],
    render: Callable[[dict[str, Any]], str],
    guard: BusyGuard,
    t0: float,
) -> None:
    """Finish a run's ``data`` (elapsed since ``t0``, the guard's load samples), print its
    markdown and write it as ``stem``.md and ``stem``.json in ``directory``."""
    data["elapsed_seconds"] = round(time.monotonic() - t0, 1)
    data["load"] = guard.as_json()
    data["fair"] = guard.fair
    text = render(data)
    print(text)
    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    md.write_text(text)
    js.write_text(json.dumps(data, indent=1, default=str) + "\n")
    minutes = data["elapsed_seconds"] / 60
    print(f"report: {md} and {js} ({minutes:.1f} min)", file=sys.stderr, flush=True)


def load_lines(data: dict[str, Any], before: str = "each system") -> list[str]:
    """The busy guard's rule and its samples (``data["load"]``, fair.BusyGuard.as_json)."""
    load = data["load"]
    lines = [
        f"Busy guard: CPU use over {load['sample_seconds']:g} s before {before} must be "
        f"≤ {load['threshold_cpu_percent']:g}% (waited up to {load['wait_seconds']:g} s)"
        + ("; --force given." if load["forced"] else "."),
        "",
    ]
    rows = [
        [
            s["system"],
            f"{s['cpu_percent']:.0f}%",
            " ".join(f"{x:.2f}" for x in s["load_average"]),
            "BUSY" if s["busy"] else "idle",
        ]
        for s in load["samples"]
    ]
    return lines + table(["before", "CPU", "load average", "verdict"], rows)


def render(data: dict[str, Any]) -> str:
    m, s = data["machine"], data["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v)
    servers = ", ".join(f"{k} {v}" for k, v in data["servers"].items())
    parts = ["## Fair benchmark (bench/run.py)", ""]
    if not data["fair"]:
        parts += [f"{NOT_FAIR}: another load ran before a system started (see Load).", ""]
    parts += [
        f"Command: `{data['command']}`  ",
        f"Run {data['started']}, {data['elapsed_seconds'] / 60:.1f} min "
        f"(estimated {data['estimate_seconds'] / 60:.1f}).  ",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, kernel {m['kernel']}, "
        f"Python {m['python']}.  ",
        f"Servers: {servers}.  ",
        f"Versions: {versions}.",
        "",
        f"Every system: {s['procs']} processes x {s['threads']} threads = {s['slots']} jobs in "
        f"flight. Bodies: `noop` (nothing) and `incr` (one Redis INCR round trip), then the "
        "probe's tick. Drain: N jobs enqueued with no worker running, then the workers start; "
        "**rate = N / (workers spawned → last job done)**, steady = N / (first job start → "
        f"last job done). N = {s['jobs']:,}, or fewer when a {s['pilot_jobs']}-job pilot drain "
        f"says the system needs more than {s['target_seconds']:g} s. Each figure: median "
        f"[min-max] of {s['runs']} drains. Enqueue = the prefill (bulk API, 1,000 per call).",
        "",
        *table(
            [
                "System",
                "body",
                "N",
                "rate (jobs/s)",
                "steady (jobs/s)",
                "start-up (s)",
                "enqueue (jobs/s)",
            ],
            _drain_rows(data),
        ),
    ]
    if ratios := _ratios(data):
        parts += ["", "### jobyard vs the fastest peer (rate medians)", "", *ratios]
    if rows := _single_rows(data):
        parts += [
            "",
            "### Single enqueue: one job per call",
            "",
            "The system's normal enqueue call in a loop, no worker running (median, min-max).",
            "",
            *table(["System", "calls per run", "jobs/s"], rows),
        ]
    if rows := _latency_rows(data):
        parts += [
            "",
            "### Latency: enqueue → handler start",
            "",
            f"{s['latency_samples']} jobs one at a time, ~{s['latency_spacing'] * 1000:.0f} ms "
            "apart, to idle workers (same slots).",
            "",
            *table(["System", "samples", "p50 (ms)", "p99 (ms)", "max (ms)", "missing"], rows),
        ]
    if rows := _rescue_rows(data):
        parts += [
            "",
            "### Rescue of a kill -9'd worker's job",
            "",
            "Two workers, one long job; the worker running it is SIGKILLed; time from the kill "
            "to the job running in the other worker.",
            "",
            *table(["System", "lease", "lease (s)", "heartbeat (s)", "kill → running (s)"], rows),
        ]
    parts += ["", "### How each system was driven", ""]
    parts += table(
        ["System", "workers"], [[r["label"], r.get("workers", "")] for r in data["systems"]]
    )
    parts += ["", "### Load", "", *load_lines(data)]
    problems = [
        f"- {r['label']}: skipped: {r['reason']}"
        for r in data["systems"]
        if r["status"] == "skipped"
    ]
    problems += [f"- {r['label']}: {e}" for r in data["systems"] for e in r["errors"]]
    if problems:
        parts += ["", "### Skipped systems and errors", "", *problems]
    return "\n".join(parts) + "\n"
