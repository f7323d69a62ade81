"""A throw-away jobyard project for the script end-to-end tests: config, scripts, CLI, workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from jobyard import Yard
from jobyard.joblog import read_log
from jobyard.model import Job
from tests.helpers import until

ROOT = Path(__file__).resolve().parents[2]
FINISHED = ("completed", "failed", "cancelled")


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.scripts = root / "scripts"
        self.scripts.mkdir(parents=True, exist_ok=True)
        self.db = f"sqlite:///{root / 'jobyard.db'}"
        (root / "jobyard.toml").write_text(
            f'db = "{self.db}"\nscripts_dir = "scripts"\n\n[worker]\nlease = 2.0\nheartbeat = 0.5\n'
        )
        # JOBYARD_ALLOW_ROOT (tests/conftest.py) stays: these workers run as root.
        keep = ("JOBYARD_ALLOW_ROOT",)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith("JOBYARD_") or k in keep
        } | {
            "PYTHONPATH": str(ROOT),
            "COLUMNS": "200",
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.files: list[Any] = []
        self.yard = Yard(self.db)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobyard", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *args: str) -> str:
        out = self.run(*args)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        return out.stdout

    def script(self, name: str, body: str, shell: str = "/bin/bash", mode: int = 0o755) -> Path:
        path = self.scripts / name
        path.write_text(f"#!{shell}\n{body}")
        path.chmod(mode)
        return path

    def worker(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"worker-{name}.log", "ab")  # noqa: SIM115 - closed in close()
        self.files.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "worker", "-n", name, *extra],
            cwd=self.root,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        self.workers.append(proc)
        until(lambda: name in self.worker_names() or proc.poll() is not None, 15)
        assert proc.poll() is None, self.worker_log(name)
        return proc

    def worker_names(self) -> set[str]:
        return {str(r["name"]) for r in self.yard.store.execute("list_workers").fetchall()}

    def worker_log(self, name: str) -> str:
        return (self.root / f"worker-{name}.log").read_text(errors="replace")

    def job(self, job_id: int) -> Job:
        return self.yard.get(job_id).job

    def finished(self, job_id: int, timeout: float = 15) -> Job:
        until(lambda: self.job(job_id).status in FINISHED, timeout)
        return self.job(job_id)

    def log(self, job_id: int) -> list[str]:
        return [e["message"] for e in read_log(self.yard.store, job_id)]

    def submit(self, *args: str) -> int:
        return int(self.ok("submit", *args).split()[0])

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for fh in self.files:
            fh.close()
        self.yard.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
