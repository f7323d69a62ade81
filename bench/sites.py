"""Four operations on N loopback sshd sites: jobyard vs pyinfra vs Fabric (issue #11).

    pip install -e '.[bench]'
    python bench/sites.py                  # N = 10, 50, 100; median of 3 runs each
    python bench/sites.py --quick          # N = 3, one run (smoke test)

The pyinfra-performance shape: per site a command, an upload of a 64 KiB file, a command
reading the upload, a download of it. One real sshd per site (generated host and client
keys, one known_hosts; tests/sshd.py; sessions skip ~/.bashrc), the same for every tool;
each tool runs in a child process of its own (bench/sites_tools.py), in turn tool by tool
within a run, so drift on a shared machine hits all three. Every download is checked
against the file. The report goes into docs/benchmarks.md between ``<!-- compare:sites
-->`` markers.

It refuses to start when the 1-minute load is above 1.5 (other work on the machine skews
SSH timings badly) unless ``--allow-load``, and then the report says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.compare import write_section  # noqa: E402
from tests.sshd import SSHFactory, SSHServer  # noqa: E402

TOOLS = ("jobyard", "pyinfra", "fabric")
MAX_LOAD = 1.5
SIZE = 64 * 1024


def make_plan(
    work: Path, file: Path, servers: list[SSHServer], tool: str, run: int
) -> dict[str, Any]:
    sites = []
    for i, server in enumerate(servers):
        name = f"site{i}"
        remote = work / "remote" / f"{tool}-{run}" / name
        local = work / "local" / f"{tool}-{run}" / name
        remote.mkdir(parents=True)  # the sites share this machine's file system
        local.mkdir(parents=True)
        sites.append(
            {
                "name": name,
                "port": server.port,
                "user": server.user,
                "identity": server.identity,
                "known_hosts": server.known_hosts,
                "remote": str(remote / "payload.bin"),
                "local": str(local / "payload.bin"),
            }
        )
    return {"work": str(work), "file": str(file), "sites": sites}


def run_tool(tool: str, plan: dict[str, Any], work: Path) -> dict[str, Any]:
    plan_file = work / f"plan-{tool}.json"
    plan_file.write_text(json.dumps(plan))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sites_tools.py"), tool, str(plan_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed: {proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    want = Path(plan["file"]).read_bytes()
    for site in plan["sites"]:
        if Path(site["local"]).read_bytes() != want:
            raise RuntimeError(f"{tool}: the download of {site['name']} differs from the file")
    return result


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def measure(ns: list[int], runs: int, work: Path) -> dict[int, dict[str, list[float]]]:
    # SHLVL=1: bash then skips ~/.bashrc for ssh commands (it reads it for a top-level
    # shell run by sshd); root's here runs `pyenv init`, 0.1 s of CPU and a lock per command,
    # which would drown every tool's own cost in the login shell's.
    factory = SSHFactory(work / "ssh", {"SHLVL": "1"})
    out: dict[int, dict[str, list[float]]] = {}
    try:
        for n in ns:
            while len(factory.servers) < n:
                factory()
            servers = factory.servers[:n]
            times: dict[str, list[float]] = {tool: [] for tool in TOOLS}
            for run in range(runs):
                for tool in TOOLS:
                    result = run_tool(
                        tool,
                        make_plan(work / f"n{n}", work / "payload.bin", servers, tool, run),
                        work,
                    )
                    times[tool].append(float(result["seconds"]))
                    print(f"N={n} run {run + 1} {tool}: {result['seconds']:.2f} s", file=sys.stderr)
            out[n] = times
    finally:
        factory.stop()
    return out


def report(
    results: dict[int, dict[str, list[float]]], argv: list[str], load: float, runs: int
) -> list[str]:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("jobyard", "asyncssh", "pyinfra", "fabric", "paramiko")
    )
    lines = [
        "### Sites: 4 operations on N loopback sshd sites (issue #11)",
        "",
        f"`python bench/sites.py {' '.join(argv)}` — {when} UTC, Python"
        f" {platform.python_version()}, {os.cpu_count()} cores ({platform.machine()}),"
        f" load {load:.2f} at start; {versions}.",
        "",
        "Per site: `uname -a`, upload of a 64 KiB file, `sha256sum` of it, download of it;"
        " one sshd per site, host keys verified by all three tools. jobyard: one action doing"
        ' the four, `yard.batch([...], schedule="parallel")` run by an in-process worker as'
        " `jobyard batch` does; pyinfra: API (`server.shell`, `files.put`, `files.get`),"
        " gevent, default parallelism; Fabric: `ThreadingGroup` (a thread per connection)."
        f" Seconds from the first connection to the last download, median of {runs}"
        " run(s); per site = that / N.",
    ]
    if load > MAX_LOAD:
        lines += [
            "",
            f"**Load {load:.2f} > {MAX_LOAD} at start (`--allow-load`): the machine was busy;"
            " the numbers are skewed.**",
        ]
    lines += ["", "| N | jobyard (s) | pyinfra (s) | Fabric (s) | jobyard per site (ms) |"]
    lines += ["|---:|---:|---:|---:|---:|"]
    for n, times in results.items():
        med = {tool: statistics.median(times[tool]) for tool in TOOLS}
        fastest_peer = min(med["pyinfra"], med["fabric"])
        mark = "" if med["jobyard"] < fastest_peer else " (not faster)"
        lines.append(
            f"| {n} | {med['jobyard']:.2f}{mark} | {med['pyinfra']:.2f} | {med['fabric']:.2f} |"
            f" {1000 * med['jobyard'] / n:.0f} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="10,50,100", help="site counts (comma-separated)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N=3, one run")
    parser.add_argument("--allow-load", action="store_true", help="run (marked) on a busy box")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    try:
        ns = [3] if args.quick else [int(x) for x in args.n.split(",")]
    except ValueError:
        parser.error(f"--n takes whole numbers separated by commas, got {args.n!r}")
    runs = 1 if args.quick else args.runs
    if runs < 1 or any(n < 1 for n in ns):
        parser.error("--runs and every --n must be >= 1")
    load = os.getloadavg()[0]
    if load > MAX_LOAD and not args.allow_load:
        print(
            f"load average {load:.2f} > {MAX_LOAD}: wait for an idle machine, or pass"
            " --allow-load to run anyway (the report is then marked)",
            file=sys.stderr,
        )
        return 2
    for tool in ("pyinfra", "fabric"):
        if version(tool) == "?":
            print(f"{tool} is not installed: pip install -e '.[bench]'", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="jobyard-sites-bench-"))
    try:
        (work / "payload.bin").write_bytes(os.urandom(SIZE))
        results = measure(ns, runs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = report(results, given, load, runs)
    write_section(args.out, "sites", body)
    print("\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
