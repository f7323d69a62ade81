"""Worker processes for the chaos tests: real ``jobyard worker`` subprocesses loading
tests/chaos/app.py, each run noted in ``logs`` (see app.py); local ones open the database,
remote ones (``--server``) talk to a ``jobyard web`` (tests/chaos/webserver.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from jobyard import Yard
from tests.chaos import app

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:1/unreachable"  # a closed port


def spawn_worker(
    url: str, config: Path, logs: Path, name: str, *options: str, prefix: Sequence[str] = ()
) -> subprocess.Popen[str]:
    """``jobyard --config CONFIG worker -n NAME OPTIONS...`` on the database at ``url``;
    ``prefix`` goes before it (``ip netns exec NS``: a command that execs the rest). Its
    stderr goes to ``logs/../NAME.err`` (:func:`worker_errors`): a pipe nobody reads would
    fill during a database outage (a logged traceback per retry) and block the worker."""
    env = {**os.environ, "JOBYARD_DB": url, **_chaos_env(logs)}
    with open(_errors_file(logs, name), "a") as err:
        return subprocess.Popen(
            _worker_cmd(config, name, options, prefix),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )


def spawn_remote_worker(
    server: str,
    token: str,
    config: Path | None,
    logs: Path,
    name: str,
    *options: str,
    prefix: Sequence[str] = (),
) -> subprocess.Popen[str]:
    """``jobyard worker --server SERVER`` with ``token``, in an environment that names no
    reachable database (no JOBYARD_* of ours; JOBYARD_DB: a closed port on its own
    loopback). Without ``config`` it has the default settings. Its stdout and stderr go to
    ``logs/../NAME.err`` (``/`` in NAME as ``-``; see :func:`worker_errors`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBYARD_")}
    if "JOBYARD_ALLOW_ROOT" in os.environ:
        env["JOBYARD_ALLOW_ROOT"] = os.environ["JOBYARD_ALLOW_ROOT"]
    env.update(_chaos_env(logs), JOBYARD_DB=UNREACHABLE_DB, JOBYARD_TOKEN=token)
    with open(_errors_file(logs, name), "a") as err:
        return subprocess.Popen(
            _worker_cmd(config, name, ("--server", server, *options), prefix),
            env=env,
            cwd=ROOT,
            stdout=err,
            stderr=subprocess.STDOUT,
            text=True,
        )


def worker_errors(logs: Path, name: str, lines: int = 30) -> str:
    """The last lines a worker spawned with ``name`` wrote (remote: stdout and stderr)."""
    try:
        return "\n".join(_errors_file(logs, name).read_text().splitlines()[-lines:])
    except OSError:
        return ""


def _errors_file(logs: Path, name: str) -> Path:
    return logs.parent / f"{name.replace('/', '-')}.err"


def _chaos_env(logs: Path) -> dict[str, str]:
    return {
        "JOBYARD_APP": "tests.chaos.app",
        "CHAOS_DIR": str(logs),
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


def _worker_cmd(
    config: Path | None, name: str, options: Sequence[str], prefix: Sequence[str]
) -> list[str]:
    settings = ("--config", str(config)) if config is not None else ()
    return [*prefix, sys.executable, "-m", "jobyard", *settings, "worker", "-n", name, *options]


def stop_all(procs: Iterable[subprocess.Popen[str]], timeout: float = 30) -> None:
    """SIGTERM every process still running, then wait (SIGKILL what does not stop)."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def chaos_yard(url: str) -> Yard:
    """A Yard on ``url`` that knows the chaos job types (to enqueue them)."""
    yard = Yard(url)
    for jt in app.yard.types.values():
        yard.types[jt.name] = jt
    return yard


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
