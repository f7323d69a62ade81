"""Script jobs run by an in-process worker: output, calls, exit codes, timeout, cancel, mutex.

Every script here is a real executable (bash or Python) run as a subprocess.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import until

from jobyard import Yard
from jobyard.joblog import read_log
from jobyard.model import Job
from jobyard.scripts import set_enabled, set_type, sync_scripts

Make = Callable[..., str]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "scripts"
    path.mkdir()
    return path


@pytest.fixture
def make(yard: Yard, folder: Path) -> Make:
    """Write an executable script, sync, enable it (unless told not to); returns its type."""

    def write(name: str, body: str, shell: str = "/bin/bash", enable: bool = True) -> str:
        path = folder / name
        path.write_text(f"#!{shell}\n{body}")
        path.chmod(0o755)
        sync_scripts(yard, folder)
        type_name = path.stem
        if enable:
            set_enabled(yard, type_name, True)
        return type_name

    return write


@pytest.fixture
def worker(yard: Yard) -> Iterator[Any]:
    w = yard.worker(name="w-test", concurrency=4, lease=3.0, heartbeat=0.2).start()
    yield w
    w.stop()


def finished(yard: Yard, job_id: int, timeout: float = 10) -> Job:
    until(lambda: yard.get(job_id).job.status in ("completed", "failed", "cancelled"), timeout)
    return yard.get(job_id).job


def messages(yard: Yard, job_id: int) -> list[str]:
    return [e["message"] for e in read_log(yard.store, job_id)]


def test_stderr_progress_is_a_call_not_output(yard: Yard, make: Make, worker: Any) -> None:
    name = make(
        "half.sh",
        "echo 'starting'\n"
        "echo '>>> sooner.progress(5,10)' >&2\n"
        "echo 'a warning' >&2\n"
        "sleep 0.6\n"
        "echo 'done!'\n",
    )
    h = yard.enqueue(name, {"n": 1})
    until(lambda: yard.get(h.id).job.progress_completed == 5)
    until(lambda: "a warning" in messages(yard, h.id))  # output arrives live
    job = yard.get(h.id).job
    assert (job.status, job.progress_total, job.percent) == ("running", 10, 50)
    assert "done!" not in messages(yard, h.id)
    job = finished(yard, h.id)
    assert job.status == "completed" and job.percent == 100 and job.result is None
    log = messages(yard, h.id)
    assert "starting" in log and "done!" in log and "a warning" in log
    assert not any(">>>" in m for m in log), log
    stderr = [e for e in read_log(yard.store, h.id) if e["message"] == "a warning"]
    assert stderr[0]["data"] == {"stream": "stderr"}


def test_emit_starts_the_types_hooked_on_the_event(
    yard: Yard, make: Make, worker: Any, tmp_path: Path
) -> None:
    seen = tmp_path / "seen.txt"
    make("listener.sh", f"# jobyard: on = foo, bar\nprintf '%s' \"$JOBYARD_DATA\" > {seen}\n")
    name = make("emitter.sh", '>&2 echo \'>>> sooner.emit("foo","x")\'\n')
    h = yard.enqueue(name)
    assert finished(yard, h.id).status == "completed"
    until(lambda: yard.count(type="listener", status="completed") == 1)
    (run,) = yard.jobs(type="listener")
    assert run.data == "x" and run.props["event"] == "foo"
    assert seen.read_text() == '"x"'


def test_non_zero_exit_fails_and_sets_last_status(yard: Yard, make: Make, worker: Any) -> None:
    name = make("three.sh", "echo trying\nexit 3\n")
    h = yard.enqueue(name)
    job = finished(yard, h.id)
    assert job.status == "failed" and job.error == "script exited with status 3"
    exits = [e for e in read_log(yard.store, h.id) if e["message"] == "script exited with status 3"]
    assert exits[0]["data"]["exit_code"] == 3 and exits[0]["level"] == "danger"
    until(lambda: yard.stored_types(refresh=True)[name].meta["last_status"] == "failed")
    meta = yard.stored_types()[name].meta
    assert meta["last_ran"] == pytest.approx(job.started, abs=1)


def test_timeout_kills_the_process_group(
    yard: Yard, make: Make, worker: Any, tmp_path: Path
) -> None:
    child = tmp_path / "child.pid"
    name = make("slow.sh", f"sleep 5 &\necho $! > {child}\nsleep 5\n")
    set_type(yard, name, {"timeout": 1})
    started = time.monotonic()
    h = yard.enqueue(name)
    job = finished(yard, h.id)
    assert job.status == "failed" and job.error == "killed by timeout (1 s)"
    assert time.monotonic() - started < 4.5
    assert "killed by timeout (1 s)" in messages(yard, h.id)
    pid = int(child.read_text())
    until(lambda: not _alive(pid), 3)  # the background child went with its group


def test_a_job_timeout_option_is_enforced_by_the_runner(
    yard: Yard, make: Make, worker: Any
) -> None:
    name = make("slow2.sh", "sleep 5\n")
    h = yard.enqueue(name, timeout=1)
    job = finished(yard, h.id)
    assert job.error == "killed by timeout (1 s)"


def test_cancel_kills_the_script(yard: Yard, make: Make, worker: Any, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    name = make("long.sh", f"echo $$ > {pidfile}\necho working\nsleep 30\n")
    h = yard.enqueue(name)
    until(lambda: pidfile.exists() and pidfile.read_text().strip())
    pid = int(pidfile.read_text())
    assert _alive(pid)
    yard.cancel(h.id)
    until(lambda: not _alive(pid), 5)
    until(lambda: "killed by user" in messages(yard, h.id), 5)
    assert yard.get(h.id).job.status == "cancelled"
    until(lambda: yard.stored_types(refresh=True)[name].meta["last_status"] == "cancelled")


def test_mutex_type_triggered_twice_runs_once(
    yard: Yard, make: Make, worker: Any, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    name = make("only.sh", f"echo $JOBYARD_JOB_ID >> {runs}\nsleep 1\n")
    a, b = yard.enqueue(name), yard.enqueue(name)
    first, second = finished(yard, a.id), finished(yard, b.id)
    assert sorted([first.status, second.status]) == ["cancelled", "completed"]
    assert len(runs.read_text().split()) == 1
    skipped = b.id if second.status == "cancelled" else a.id
    assert any(m.startswith(f"skipped: {name} is a mutex type") for m in messages(yard, skipped))
    # free again: the next trigger runs
    c = yard.enqueue(name)
    assert finished(yard, c.id).status == "completed"
    assert len(runs.read_text().split()) == 2


def test_no_mutex_runs_overlap(yard: Yard, make: Make, worker: Any, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    name = make("many.sh", f"# jobyard: mutex = false\necho x >> {runs}\nsleep 0.5\n")
    ids = [yard.enqueue(name).id for _ in range(3)]
    assert [finished(yard, i).status for i in ids] == ["completed"] * 3
    assert len(runs.read_text().split()) == 3


def test_environment_argv_and_result(yard: Yard, make: Make, worker: Any) -> None:
    body = (
        "import json, os, stat, sys\n"
        "from jobyard import script\n"
        "info = {'argv': sys.argv[1:], 'id': os.environ['JOBYARD_JOB_ID'],\n"
        "        'stdin': json.loads(sys.stdin.read()),\n"
        "        'data': json.loads(os.environ['JOBYARD_DATA']),\n"
        "        'socket': stat.S_ISSOCK(os.stat(os.environ['JOBYARD_SOCKET']).st_mode),\n"
        "        'site': os.environ.get('JOBYARD_SITE'), 'cwd': os.getcwd()}\n"
        "script.progress(3, 4)\n"
        "script.log('from the socket', 'success')\n"
        "answer = script.emit('nobody.listens', {'k': 1})\n"
        "info['emit'] = answer\n"
        "script.result(info)\n"
    )
    name = make("env.py", body, shell=sys.executable)
    h = yard.enqueue(name, {"a": [1, "é"]}, site="web1")
    job = finished(yard, h.id)
    assert job.status == "completed", messages(yard, h.id)
    info = job.result
    assert info["argv"] == [] and info["stdin"] == {"a": [1, "é"]}
    assert info["id"] == str(h.id) and info["data"] == {"a": [1, "é"]}
    assert info["socket"] is True and info["site"] == "web1"
    assert info["cwd"] == str(Path(yard.stored_types()[name].meta["path"]).parent)
    assert info["emit"]["jobs"] == [] and info["emit"]["event"] > 0
    entry = next(e for e in read_log(yard.store, h.id) if e["message"] == "from the socket")
    assert entry["level"] == "success"


def test_socket_garbage_gets_an_error_reply(yard: Yard, make: Make, worker: Any) -> None:
    body = (
        "import os, socket, json\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(os.environ['JOBYARD_SOCKET'])\n"
        "f = s.makefile('rb')\n"
        "out = []\n"
        "for line in [b'garbage\\n', b'{\"call\": \"nope\"}\\n', b'[1]\\n',\n"
        '             b\'{"call": "progress", "args": [5, 10]}\\n\']:\n'
        "    s.sendall(line); out.append(json.loads(f.readline()))\n"
        "print(json.dumps(out))\n"
    )
    name = make("garbage.py", body, shell=sys.executable)
    h = yard.enqueue(name)
    job = finished(yard, h.id)
    assert job.status == "completed" and job.progress_total == 10
    line = next(m for m in messages(yard, h.id) if m.startswith("[{"))
    replies = json.loads(line)
    assert [r["ok"] for r in replies] == [False, False, False, True]
    assert "not JSON" in replies[0]["error"] and "unknown call 'nope'" in replies[1]["error"]


def test_malformed_calls_and_bad_bytes_are_output(yard: Yard, make: Make, worker: Any) -> None:
    name = make(
        "messy.sh",
        "echo '>>> jobyard.progress(five)' >&2\n"
        "echo '>>> jobyard.launch(1)' >&2\n"
        "printf 'caf\\xe9 \\xff\\n'\n"
        "echo '>>> jobyard.result(7)' >&2\n",
    )
    h = yard.enqueue(name)
    job = finished(yard, h.id)
    assert job.status == "completed" and job.result == 7
    log = read_log(yard.store, h.id)
    text = [e["message"] for e in log]
    assert ">>> jobyard.progress(five)" in text and ">>> jobyard.launch(1)" in text
    warnings = [e["message"] for e in log if e["level"] == "warning"]
    assert len(warnings) == 2 and "unknown call 'launch'" in warnings[1]
    assert "caf\ufffd \ufffd" in text


def test_flooding_output_is_bounded(yard: Yard, make: Make, tmp_path: Path) -> None:
    yard.config.raw = {"limits": {"script_log_lines": 500}}
    w = yard.worker(name="w-flood", lease=3.0, heartbeat=0.2).start()
    try:
        name = make(
            "flood.sh",
            "yes 'a line of output' | head -n 200000\necho '>>> jobyard.result(1)' >&2\n",
        )
        h = yard.enqueue(name)
        job = finished(yard, h.id, timeout=20)
    finally:
        w.stop()
    assert job.status == "completed" and job.result == 1
    log = messages(yard, h.id)
    assert log.count("a line of output") == 500
    assert len([m for m in log if m.startswith("output truncated")]) == 1
    assert "199500 more line(s) of output were not kept" in log
    assert not any("Broken pipe" in m for m in log)  # SIGPIPE is not ignored in scripts


def test_missing_or_not_executable_script_fails_clearly(
    yard: Yard, make: Make, worker: Any, folder: Path
) -> None:
    gone = make("gone.sh", "echo hi\n")
    (folder / "gone.sh").unlink()
    job = finished(yard, yard.enqueue(gone).id)
    assert job.status == "failed"
    assert str(job.error).startswith(f"script {folder / 'gone.sh'} does not exist")
    plain = make("plain.sh", "echo hi\n")
    (folder / "plain.sh").chmod(0o644)
    job = finished(yard, yard.enqueue(plain).id)
    assert job.status == "failed" and "is not an executable file (chmod +x it)" in str(job.error)
    bad = make("badshebang.sh", "echo hi\n", shell="/no/such/interpreter")
    h = yard.enqueue(bad)
    job = finished(yard, h.id)
    assert job.status == "failed" and str(job.error).startswith("script exited with status")
    assert any(m.startswith("cannot run script") for m in messages(yard, h.id))


def test_data_too_large_for_the_environment_fails_clearly(
    yard: Yard, make: Make, worker: Any
) -> None:
    name = make("big.sh", "echo never\n")
    job = finished(yard, yard.enqueue(name, {"blob": "x" * 200_000}).id)
    assert job.status == "failed" and "too large to pass to a script" in str(job.error)


def test_worker_picks_up_a_newly_enabled_type(yard: Yard, make: Make, worker: Any) -> None:
    name = make("late.sh", "echo late\n", enable=False)
    set_enabled(yard, name, True)
    started = time.monotonic()
    job = finished(yard, yard.enqueue(name).id)
    assert job.status == "completed" and time.monotonic() - started < 5
    set_enabled(yard, name, False)
    set_enabled(yard, name, True)  # round trip: still runs
    assert finished(yard, yard.enqueue(name).id).status == "completed"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_scripts_use_item_collections(yard: Yard, make: Make, worker: Any) -> None:
    repo = str(Path(__file__).resolve().parents[2] / "src")
    python = make(
        "profiles.py",
        f"import sys; sys.path.insert(0, {repo!r})\n"
        "from jobyard import script\n"
        "people = script.collection('profiles')\n"
        "first = people.insert({'name': 'ada', 'age': 36})\n"
        "people.insert({'name': 'bob', 'age': 20}, 'done')\n"
        "people.update(first['id'], status='checked')\n"
        "found = people.find(where={'name': 'ada'})\n"
        "script.result({'found': [i['data']['name'] for i in found],\n"
        "               'status': found[0]['status'], 'count': people.count()})\n",
        shell=sys.executable,
    )
    bash = make(
        "more_profiles.sh",
        """echo '>>> jobyard.collection("profiles", "insert", {"name": "cy"}, "new")' >&2\n""",
    )
    h = yard.enqueue(python)
    job = finished(yard, h.id)
    assert job.status == "completed", messages(yard, h.id)
    assert job.result == {"found": ["ada"], "status": "checked", "count": 2}
    b = yard.enqueue(bash)
    assert finished(yard, b.id).status == "completed"
    names = sorted(i.data["name"] for i in yard.collection("profiles").find())
    assert names == ["ada", "bob", "cy"]
