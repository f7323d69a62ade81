"""What bench/http_enqueue.py and bench/sse.py share: the database (a temp SQLite file or a
fresh PostgreSQL database, dropped at the end), the server subprocess, the busy check, the
percentiles and the line that records command, versions, machine and load."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("JOBYARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
BUSY_LOAD = 1.0


def env_for(url: str) -> dict[str, str]:
    """The environment of the server and worker subprocesses: the database and the no-op
    type of bench/remote_app.py."""
    return {
        **os.environ,
        "JOBYARD_DB": url,
        "JOBYARD_APP": "bench.remote_app",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}",
    }


@contextmanager
def database(pg: bool) -> Iterator[str]:
    """A URL of an empty database: a temp SQLite file, or a PostgreSQL database of its own
    (created here, dropped at the end) on the server of ``JOBYARD_BENCH_PG``."""
    if not pg:
        with tempfile.TemporaryDirectory(prefix="jobyard-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg
    from psycopg import sql

    name = f"jobyard_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def check_quiet(quick: bool, force: bool, wait: float = 0.0) -> float:
    """The 1-minute load average, after waiting up to ``wait`` seconds for it to fall below
    1; a busy machine stops a full run (``--force`` to run anyway: the report then says the
    numbers are suspect) and only warns in quick mode."""
    deadline = time.monotonic() + wait
    load = os.getloadavg()[0]
    while load >= BUSY_LOAD and time.monotonic() < deadline:
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
        load = os.getloadavg()[0]
    if load >= BUSY_LOAD:
        msg = f"the machine is busy (load {load:.2f} >= {BUSY_LOAD}): numbers will be low"
        if not (quick or force):
            sys.exit(f"{msg}; wait for a quiet machine or pass --force")
        print(f"warning: {msg}", file=sys.stderr)
    return load


@contextmanager
def process(
    cmd: Sequence[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess (its stderr into ``log``), SIGTERM'd at the end."""
    with log.open("wb") as err:
        proc = subprocess.Popen(list(cmd), env=env, cwd=ROOT, stderr=err)
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within 30 s: {log}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "-"


def _git_rev() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def database_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(url) as con:
        row = con.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def provenance(argv: Sequence[str], url: str, load: float) -> list[str]:
    """The report's lines on how and where the numbers were made."""
    http = "httptools" if _version("httptools") != "-" else "h11"
    cmd = " ".join(["python", *argv])
    return [
        f"`{cmd}` — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, jobyard {_git_rev()}, "
        f"Python {platform.python_version()}, {database_version(url)}, uvicorn "
        f"{_version('uvicorn')} ({http}), starlette {_version('starlette')}, httpx "
        f"{_version('httpx')}; {_cpu_model()}, {os.cpu_count()} cores, load {load:.2f} at "
        f"start{' (BUSY: numbers suspect)' if load >= BUSY_LOAD else ''}.",
    ]


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2))
