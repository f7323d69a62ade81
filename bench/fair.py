"""The fairness rules of bench/run.py: an idle machine, recorded conditions, robust figures.

Busy guard: before each system the machine is sampled for ``SAMPLE_SECONDS`` (CPU use of
every core from /proc/stat, via psutil, while the harness itself sleeps; the load average is
recorded beside it). The machine is *busy* when CPU use is above the threshold
(``DEFAULT_BUSY_PERCENT`` of all cores by default, ``--busy-percent``). The 1-minute load
average is not the criterion because it lags: right after the previous system's workers stop
it is still high although the machine is idle. A busy sample is retried for up to
``--busy-wait`` seconds; still busy, the run stops without a report (exit 4) unless
``--force``, which carries on and marks the report "NOT FAIR: machine busy".
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 2.0
DEFAULT_BUSY_PERCENT = 15.0
PACKAGES = (
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
)


class MachineBusy(Exception):
    """Another load ran on the machine just before a system was measured."""


@dataclass
class LoadSample:
    system: str
    cpu_percent: float  # all cores, over ``seconds``
    load_average: tuple[float, float, float]
    seconds: float
    tries: int
    busy: bool

    def describe(self) -> str:
        one, five, fifteen = self.load_average
        return (
            f"CPU {self.cpu_percent:.0f}% over {self.seconds:.0f}s, "
            f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
        )


class BusyGuard:
    """Samples the machine before each system; refuses (or, forced, records) a busy one."""

    def __init__(self, threshold: float, wait: float, force: bool) -> None:
        self.threshold = threshold
        self.wait = wait
        self.force = force
        self.samples: list[LoadSample] = []

    def check(self, system: str) -> LoadSample:
        import psutil

        deadline = time.monotonic() + self.wait
        tries = 0
        while True:
            tries += 1
            cpu = float(psutil.cpu_percent(interval=SAMPLE_SECONDS))
            busy = cpu > self.threshold
            if not busy or time.monotonic() >= deadline:
                break
        sample = LoadSample(system, cpu, os.getloadavg(), SAMPLE_SECONDS, tries, busy)
        self.samples.append(sample)
        if busy and not self.force:
            raise MachineBusy(
                f"machine busy before {system}: {sample.describe()}, above the "
                f"{self.threshold:.0f}% threshold for {self.wait:.0f}s; stop the other load, "
                "or pass --force to measure anyway (the report is then marked NOT FAIR)"
            )
        return sample

    @property
    def fair(self) -> bool:
        return not any(s.busy for s in self.samples)

    def as_json(self) -> dict[str, Any]:
        return {
            "threshold_cpu_percent": self.threshold,
            "sample_seconds": SAMPLE_SECONDS,
            "wait_seconds": self.wait,
            "forced": self.force,
            "fair": self.fair,
            "samples": [asdict(s) for s in self.samples],
        }


def add_options(parser: argparse.ArgumentParser) -> None:
    """The busy guard's options: ``--busy-percent``, ``--busy-wait``, ``--force``."""
    parser.add_argument(
        "--busy-percent",
        type=float,
        default=DEFAULT_BUSY_PERCENT,
        help="CPU use (all cores) above which the machine is busy; < 0: always",
    )
    parser.add_argument(
        "--busy-wait", type=float, default=30.0, help="s to wait for a busy machine"
    )
    parser.add_argument("--force", action="store_true", help="measure a busy machine (NOT FAIR)")


def guard(args: argparse.Namespace) -> BusyGuard:
    """The busy guard of ``add_options``'s parsed options."""
    return BusyGuard(args.busy_percent, args.busy_wait, args.force)


def spread(values: list[float]) -> dict[str, Any]:
    """Median with min and max: the figure of a few runs and how far they strayed."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": values,
    }


def machine() -> dict[str, Any]:
    import psutil

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def servers(redis_client: Any, pg_url: str) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        found["redis"] = str(redis_client.info("server")["redis_version"])
    except Exception as exc:
        found["redis"] = f"unknown ({exc})"
    try:
        import psycopg

        with psycopg.connect(pg_url, connect_timeout=5) as conn:
            found["postgresql"] = conn.info.parameter_status("server_version") or "unknown"
    except Exception as exc:
        found["postgresql"] = f"unreachable ({type(exc).__name__})"
    return found
