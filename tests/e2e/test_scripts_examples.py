"""The Sooner.io README examples (examples/sooner/scripts) through a real worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.scripts_project import ROOT, Project
from tests.helpers import until

EXAMPLES = ROOT / "examples" / "sooner" / "scripts"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path / "project")
    yield p
    p.close()


def test_sooner_examples(project: Project) -> None:
    out = project.ok("scripts", "sync", str(EXAMPLES))
    assert "created (disabled): halfway, on-foo-event, report, simplest" in out
    project.ok("type", "enable", "halfway", "on-foo-event", "report", "simplest")
    project.worker("sooner")

    half = project.yard.enqueue("halfway").id
    until(lambda: project.job(half).percent == 50)  # during its `sleep 2`
    assert project.job(half).status == "running"
    job = project.finished(half)
    assert job.status == "completed" and job.percent == 100
    log = project.log(half)
    assert log.index("half way") < log.index("done!")
    assert not any("sooner." in m for m in log)
    until(lambda: project.yard.count(type="on-foo-event", status="completed") == 1)
    (heard,) = project.yard.jobs(type="on-foo-event")
    assert heard.props["event"] == "foo-event"
    assert "foo-event happened with data null" in project.log(heard.id)

    simplest = project.finished(project.yard.enqueue("simplest").id)
    assert simplest.status == "completed" and "done!" in project.log(simplest.id)

    done = project.run("submit", "report", "--data", '["a", "b", "c"]', "--wait")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.split(maxsplit=1)[1]) == {"count": 3}
