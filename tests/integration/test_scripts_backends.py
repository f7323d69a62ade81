"""Script jobs on every backend (SQLite and PostgreSQL): how the data reaches a script,
and output PostgreSQL text cannot hold as such (NUL bytes)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import until
from tests.pgfixtures import BACKENDS

from jobyard import Yard
from jobyard.joblog import read_log
from jobyard.model import Job
from jobyard.scripts import set_enabled, set_type, sync_scripts

SECRET = "tok-3f9a-secret"

# Reports what the running script itself can see: its own argv (from the kernel, as any
# local user would read it), its stdin, and JOBYARD_DATA.
SPY = (
    "import json, os, sys\n"
    "from jobyard import script\n"
    "with open('/proc/self/cmdline', 'rb') as f:\n"
    "    cmdline = [a.decode() for a in f.read().split(b'\\0') if a]\n"
    "stdin = sys.stdin.read()\n"
    "script.result({'cmdline': cmdline, 'argv': sys.argv[1:], 'stdin': stdin,\n"
    "               'env': os.environ.get('JOBYARD_DATA'), 'data': script.data()})\n"
)


@pytest.fixture(params=BACKENDS)
def yard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Yard]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobyard.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    y = Yard(url)
    try:
        yield y
    finally:
        y.close()


@pytest.fixture
def worker(yard: Yard) -> Iterator[Any]:
    w = yard.worker(name="w-backends", concurrency=2, lease=3.0, heartbeat=0.2).start()
    yield w
    w.stop()


def make(yard: Yard, folder: Path, name: str, body: str, shell: str = "/bin/bash") -> str:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!{shell}\n{body}")
    path.chmod(0o755)
    sync_scripts(yard, folder)
    set_enabled(yard, path.stem, True)
    return path.stem


def finished(yard: Yard, job_id: int, timeout: float = 15) -> Job:
    until(lambda: yard.get(job_id).job.status in ("completed", "failed", "cancelled"), timeout)
    return yard.get(job_id).job


def test_job_data_is_on_stdin_and_in_env_never_in_argv(
    yard: Yard, worker: Any, tmp_path: Path
) -> None:
    name = make(yard, tmp_path / "scripts", "spy.py", SPY, shell=sys.executable)
    data = {"token": SECRET, "n": 1}
    job = finished(yard, yard.enqueue(name, data).id)
    assert job.status == "completed", read_log(yard.store, job.id)
    seen = job.result
    assert not any(SECRET in arg for arg in seen["cmdline"]), seen["cmdline"]
    assert seen["argv"] == []
    assert json.loads(seen["stdin"]) == data and seen["stdin"].endswith("\n")
    assert json.loads(seen["env"]) == data and seen["data"] == data


def test_data_in_argv_is_an_opt_in_of_the_header_or_the_type(
    yard: Yard, worker: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "scripts"
    name = make(yard, folder, "sooner.py", "# jobyard: data_in_argv = true\n" + SPY, sys.executable)
    data = {"token": SECRET}
    seen = finished(yard, yard.enqueue(name, data).id).result
    assert json.loads(seen["argv"][0]) == data and seen["argv"][1].endswith("rpc.sock")
    assert any(SECRET in arg for arg in seen["cmdline"])  # what opting in means
    assert json.loads(seen["stdin"]) == data  # stdin and env still carry it too
    set_type(yard, name, {"data_in_argv": False})  # a type setting overrides the header
    until(lambda: not worker.yard.types[name].meta.get("data_in_argv"), 10)
    seen = finished(yard, yard.enqueue(name, data).id).result
    assert seen["argv"] == [] and not any(SECRET in a for a in seen["cmdline"])
    other = make(yard, folder, "plain.py", SPY, shell=sys.executable)
    set_type(yard, other, {"data_in_argv": "yes"})
    until(
        lambda: bool(
            worker.yard.types.get(other) and worker.yard.types[other].meta.get("data_in_argv")
        ),
        10,
    )
    seen = finished(yard, yard.enqueue(other, data).id).result
    assert json.loads(seen["argv"][0]) == data


def test_a_nul_byte_in_output_keeps_the_whole_log(yard: Yard, worker: Any, tmp_path: Path) -> None:
    name = make(
        yard,
        tmp_path / "scripts",
        "nul.sh",
        "echo before\nprintf 'a\\0b\\n'\nprintf 'err\\0x\\n' >&2\n"
        "echo '>>> jobyard.log(\"c\\u0000d\")' >&2\necho after\n",
    )
    job = finished(yard, yard.enqueue(name).id)
    assert job.status == "completed", read_log(yard.store, job.id)
    log = [e["message"] for e in read_log(yard.store, job.id)]
    assert "before" in log and "after" in log
    assert "a\\x00b" in log and "err\\x00x" in log and "c\\x00d" in log
    assert not any("\x00" in m for m in log)
