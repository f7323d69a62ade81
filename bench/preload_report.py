"""The markdown report of bench/preload_drain.py, rendered from its JSON."""

from __future__ import annotations

from typing import Any

from report import NOT_FAIR, fmt, load_lines, spread_text, table

# figure key -> what it is, in the report's words
FIGURES = {
    "drain": "drain (jobs/s)",
    "bulk": "bulk enqueue (jobs/s)",
    "single": "single enqueue (calls/s)",
}
TABLE_NAMES = ("jobs", "jobs_archive", "job_logs", "job_events")


def size(n: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"


def _figure_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for b in data["backends"]:
        for key, label in FIGURES.items():
            verdict = b["ratios"][key]
            rows.append(
                [
                    b["backend"],
                    label,
                    spread_text(b["conditions"]["empty"][key], 0),
                    spread_text(b["conditions"]["history"][key], 0),
                    fmt(verdict["ratio"], 2),
                    f"**{verdict['verdict']}**",
                ]
            )
    return rows


def _table_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for b in data["backends"]:
        for condition in ("empty", "history"):
            seen = b["conditions"][condition]["before"]
            rows.append(
                [
                    b["backend"],
                    condition,
                    *(
                        f"{seen['tables'][t]['rows']:,} ({size(seen['tables'][t]['bytes'])})"
                        for t in TABLE_NAMES
                    ),
                    size(seen["database_bytes"]),
                    "yes" if seen["analyzed"] else "no",
                ]
            )
    return rows


def _fill_lines(data: dict[str, Any]) -> list[str]:
    return [
        f"- {b['backend']}: written in {b['fill']['write_seconds']:,.0f} s, "
        f"{'VACUUM ANALYZE' if b['backend'] == 'postgres' else 'ANALYZE'} "
        f"{b['fill']['analyze_seconds']:,.0f} s"
        for b in data["backends"]
    ] + [
        f"- {b['backend']}: jobyard's retention pass (`[retention]` defaults: finished jobs "
        f"older than {data['settings'].get('archive_hours', 1)} h to the archive) "
        f"{b['retention']['history']['seconds']:,.0f} s, "
        f"{b['retention']['history']['archived']:,} jobs archived, then "
        f"{'VACUUM ANALYZE' if b['backend'] == 'postgres' else 'ANALYZE'} "
        f"{b['retention']['history']['vacuum_seconds']:,.0f} s"
        for b in data["backends"]
        if "retention" in b
    ]


def render(data: dict[str, Any]) -> str:
    m, s = data["machine"], data["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v)
    history = f"{s['history']:,}"
    parts = [f"## A big history: {history} finished jobs (bench/preload_drain.py)", ""]
    if not data["fair"]:
        parts += [f"{NOT_FAIR}: another load ran before a round started (see Load).", ""]
    parts += [
        f"Command: `{data['command']}`  ",
        f"Run {data['started']}, {data['elapsed_seconds'] / 60:.1f} min.  ",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, kernel {m['kernel']}, "
        f"Python {m['python']}.  ",
        f"Versions: {versions}.",
        "",
        "Per backend two fresh databases: one empty, one holding the history — completed, "
        "failed and cancelled jobs of 12 types on 8 queues over 30 days, with results, logs "
        f"and the job events of the last 7 days (at most {s['events']:,} rows: what the "
        "default retention keeps), written in SQL and then analysed; then jobyard's own "
        "retention pass ran over both (it moves finished jobs to the archive table). A "
        f"round: {s['single']:,} `yard.enqueue` calls (no worker running), {s['jobs']:,} jobs "
        f"by `enqueue_many` in calls of {s['bulk_size']:,}, then {s['procs']} `jobyard "
        f"worker -c {s['concurrency']}` processes drain them (**drain = N / (first start → "
        "last end)**). Rounds take turns between the two databases; each figure is the "
        f"median [min-max] of {s['rounds']} rounds. **PASS**: history / empty ≥ "
        f"{data['target']:.2f} (issue #13: flat within 20%).",
        "",
        *table(
            ["backend", "figure", "empty table", f"{history} finished jobs", "ratio", "verdict"],
            _figure_rows(data),
        ),
        "",
        "### What the tables held before the first round",
        "",
        "Rows (size on disk with indexes); the planner's statistics (ANALYZE) present or not.",
        "",
        *table(
            ["backend", "database", *TABLE_NAMES, "whole database", "analysed"],
            _table_rows(data),
        ),
        "",
        "The history took:",
        "",
        *_fill_lines(data),
        "",
        "### Load",
        "",
        *load_lines(data, before="each round"),
    ]
    return "\n".join(parts) + "\n"
