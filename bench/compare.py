"""Benchmark two revisions of jobyard with the same harness, and write the comparison.

    python bench/compare.py --base pre-ports-base --section ports   # base vs. the working tree
    python bench/compare.py --base v1 --head v2 --rounds 3 --systems jobyard-sqlite

Each revision is checked out into a temporary git worktree (the working tree itself for
``--head`` left unset) and measured by *this* checkout's ``bench/run.py``, with that
revision's ``src/`` first on ``PYTHONPATH`` (workers inherit it). Rounds alternate base,
head, base, head ... so that drift on a shared machine hits both; the best value of each
metric over the rounds is kept. The table goes into ``--out`` (docs/benchmarks.md) between
``<!-- compare:SECTION -->`` markers, replacing an earlier one of the same section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
METRICS = [  # key, label, path in a system's result, higher is better
    ("noop", "drain noop (jobs/s)", ("drain", "noop", "rate", "median"), True),
    ("incr", "drain incr (jobs/s)", ("drain", "incr", "rate", "median"), True),
    ("enqueue", "bulk enqueue (jobs/s)", ("drain", "noop", "enqueue_rate", "median"), True),
    ("single", "single enqueue (jobs/s)", ("single_enqueue", "rate", "median"), True),
    ("p50", "latency p50 (ms)", ("latency", "p50_ms"), False),
    ("p99", "latency p99 (ms)", ("latency", "p99_ms"), False),
]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def _checkout(rev: str, into: Path) -> Path:
    _git("worktree", "add", "--detach", str(into), rev)
    return into


def _run(src: Path, systems: str, extra: list[str], results: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT / "bench")])}
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--systems", systems]
    # --force: alternating rounds are how a comparison copes with a shared machine.
    cmd += ["--report-dir", str(results), "--force", "--rescue-runs", "0", *extra]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    (report,) = results.glob("fair-*.json")
    data: dict[str, Any] = json.loads(report.read_text())
    return data


def _value(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = result
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def best(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """system -> metric -> the best value over the runs."""
    out: dict[str, dict[str, float]] = {}
    for run in runs:
        for result in run["systems"]:
            row = out.setdefault(result.get("label") or result["system"], {})
            for key, _, path, higher in METRICS:
                value = _value(result, path)
                if value is None:
                    continue
                old = row.get(key)
                if old is None or (value > old if higher else value < old):
                    row[key] = value
    return out


def table(base: dict[str, dict[str, float]], head: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| system | metric | base | head | change |", "|---|---|---:|---:|---:|"]
    for system in sorted(set(base) | set(head)):
        for key, label, _, higher in METRICS:
            b, h = base.get(system, {}).get(key), head.get(system, {}).get(key)
            if b is None or h is None:
                continue
            change = (h - b) / b * 100 if b else 0.0
            better = change >= 0 if higher else change <= 0
            mark = "" if abs(change) < 5 else (" (better)" if better else " (worse)")
            lines.append(f"| {system} | {label} | {b:,.2f} | {h:,.2f} | {change:+.1f}%{mark} |")
    return lines


def write_section(out: Path, section: str, body: list[str]) -> None:
    start, end = f"<!-- compare:{section} -->", f"<!-- /compare:{section} -->"
    text = out.read_text() if out.exists() else ""
    block = "\n".join([start, *body, end])
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    out.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--head", help="git revision (default: the working tree)")
    parser.add_argument("--systems", default="jobyard-sqlite,jobyard-postgres")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each revision")
    parser.add_argument("--full", action="store_true", help="full size runs (default --quick)")
    parser.add_argument("--section", default="compare", help="name of the report section")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--run-args", default="", help="more bench/run.py arguments, e.g. '--rescue-runs 0'"
    )
    args = parser.parse_args(argv)
    extra = ([] if args.full else ["--quick"]) + shlex.split(args.run_args)
    with tempfile.TemporaryDirectory(prefix="jobyard-compare-") as tmp:
        work = Path(tmp)
        trees = {"base": _checkout(args.base, work / "base")}
        trees["head"] = _checkout(args.head, work / "head") if args.head else ROOT
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
        try:
            for n in range(args.rounds):
                for side in ("base", "head"):
                    results = work / f"results-{side}-{n}"
                    runs[side].append(_run(trees[side] / "src", args.systems, extra, results))
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    _git("worktree", "remove", "--force", str(tree))
    base_rev = _git("rev-parse", "--short", args.base)
    head_rev = _git("rev-parse", "--short", args.head) if args.head else "working tree"
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = [
        f"### {args.section}: {base_rev} (base) vs. {head_rev} (head)",
        "",
        f"Written by `python bench/compare.py {' '.join(argv or sys.argv[1:])}` on {when}:",
        f"{args.rounds} alternating rounds of each, {'full' if args.full else 'quick'} size,"
        f" best of the rounds; load average at the end {load}. Changes under 5% are noise",
        "on this shared 2-core machine.",
        "",
        *table(best(runs["base"]), best(runs["head"])),
    ]
    write_section(args.out, args.section, body)
    print("\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
