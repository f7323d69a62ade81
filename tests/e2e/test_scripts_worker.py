"""Real bash, Python and Perl scripts through a real ``jobyard worker`` subprocess:
the protocol in three languages, named workers, and a worker killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobyard.joblog import read_log
from jobyard.scripts import set_enabled, sync_scripts
from tests.e2e.scripts_project import Project, alive
from tests.helpers import until

PERL = "/usr/bin/perl"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path / "project")
    yield p
    p.close()


BASH = """\
# jobyard: description = counts to ten
echo "data: $(cat)"
echo ">>> jobyard.progress(5, 10)" >&2
echo ">>> jobyard.emit(\\"counted\\", {\\"by\\": \\"bash\\"})" >&2
echo ">>> jobyard.result(10)" >&2
echo done
"""

PYTHON = """\
from jobyard import script
data = script.data()
print("python got", data["n"])
script.progress(1, 4)
script.log("a python log line", "success")
script.result({"double": data["n"] * 2})
"""

PERL_SCRIPT = r"""
use strict;
use warnings;
use IO::Socket::UNIX;
$| = 1;
my $sock = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ENV{JOBYARD_SOCKET})
    or die "no socket: $!";
sub call {
    my ($json) = @_;
    print $sock "$json\n";
    my $reply = <$sock>;
    return $reply;
}
my $data = <STDIN>;
print "perl data $data";
my $reply = call('{"call": "progress", "args": [3, 4]}');
print "reply $reply";
call('{"call": "result", "args": ["from perl"]}');
print STDERR ">>> sooner.log(\"perl via stderr\", \"warning\")\n";
"""


def test_bash_python_and_perl_scripts(project: Project) -> None:
    project.script("count.sh", BASH)
    project.script("double.py", PYTHON, shell=sys.executable)
    project.script("perly.pl", PERL_SCRIPT, shell=PERL)
    project.script("listener.sh", '# jobyard: on = counted\necho "heard $JOBYARD_DATA"\n')
    synced = project.ok("scripts", "sync")
    assert "created (disabled): count, double, listener, perly" in synced
    project.ok("type", "enable", "count", "double", "perly", "listener")
    project.worker("main")

    bash = project.submit("count", "n=1")
    job = project.finished(bash)
    assert job.status == "completed" and job.result == 10 and job.progress_total == 10
    log = project.log(bash)
    assert 'data: {"n":1}' in log and "done" in log and not any(">>>" in m for m in log)
    until(lambda: project.yard.count(type="listener", status="completed") == 1)
    (heard,) = project.yard.jobs(type="listener")
    assert heard.data == {"by": "bash"} and 'heard {"by":"bash"}' in project.log(heard.id)

    py = project.yard.enqueue("double", {"n": 21}).id
    job = project.finished(py)
    assert job.status == "completed", project.log(py)
    assert job.result == {"double": 42} and job.progress_total == 4
    assert "python got 21" in project.log(py) and "a python log line" in project.log(py)

    perl = project.yard.enqueue("perly", "p").id
    job = project.finished(perl)
    assert job.status == "completed", project.log(perl)
    assert job.result == "from perl" and job.progress_total == 4
    log = project.log(perl)
    assert 'perl data "p"' in log and 'reply {"ok":true}' in log
    entry = [e for e in read_log(project.yard.store, perl) if e["message"] == "perl via stderr"]
    assert entry[0]["level"] == "warning"

    shown = json.loads(project.ok("types", "--json"))
    count = next(t for t in shown if t["name"] == "count")
    assert count["kind"] == "script" and count["enabled"] is True
    assert count["description"] == "counts to ten" and count["last_status"] == "completed"


def test_a_run_assigned_to_another_worker_is_not_taken(project: Project) -> None:
    project.script("vip.sh", 'echo "on $JOBYARD_JOB_ID"\n')
    sync_scripts(project.yard, project.scripts)
    set_enabled(project.yard, "vip", True)
    project.ok("type", "set", "vip", "--worker", "vip-worker")
    project.worker("other-worker")
    job_id = project.submit("vip")
    assert project.job(job_id).queue == "worker:vip-worker"
    time.sleep(1.0)  # the other worker was woken by the submit and polls every second
    assert project.job(job_id).status == "ready" and project.job(job_id).worker is None
    project.worker("vip-worker")
    job = project.finished(job_id)
    assert job.status == "completed" and job.worker == "vip-worker"


def test_a_worker_killed_mid_run_loses_nothing(project: Project) -> None:
    runs = project.root / "runs.txt"
    pids = project.root / "pids.txt"
    project.script(
        "long.sh",
        f'echo "$JOBYARD_ATTEMPT" >> {runs}\necho $$ >> {pids}\n'
        'if [ "$JOBYARD_ATTEMPT" = 1 ]; then sleep 60; fi\necho finished\n',
    )
    project.ok("scripts", "sync")
    project.ok("type", "enable", "long")
    first = project.worker("doomed")
    job_id = project.yard.enqueue("long").id
    until(lambda: runs.exists() and runs.read_text().strip() == "1")
    script_pid = int(pids.read_text().split()[0])
    assert alive(script_pid)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(5)
    until(lambda: not alive(script_pid), 5)  # the script died with its worker
    project.worker("rescuer")
    job = project.finished(job_id, timeout=20)
    assert job.status == "completed" and job.worker == "rescuer"
    assert runs.read_text().split() == ["1", "2"]
    log = project.log(job_id)
    assert "Job Requeued: lease of worker doomed expired" in log and "finished" in log
