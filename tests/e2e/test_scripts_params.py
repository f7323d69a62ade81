"""Script parameters from the header, end to end: `scripts sync` reads them, `jobyard types`
shows them, `submit` (exit 2) and the HTTP API (422) refuse a bad value naming the
parameter, nodes bounds hold, and the script gets its data with the defaults filled in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobyard.api.app import create_app
from jobyard.api.auth import NoAuth
from tests.apiserver import serving
from tests.e2e.scripts_project import Project

MAKE = """# jobyard: description = makes things
# jobyard: param count: int = 3 -- how many to make
# jobyard: param when: datetime
# jobyard: param mode: choice(fast, slow) = fast
# jobyard: nodes = 1..2
echo "got $JOBYARD_DATA"
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path / "project")
    p.script("make.sh", MAKE)
    p.script("broken.sh", "# jobyard: param n: int = lots\necho hi\n")
    synced = p.ok("scripts", "sync")
    assert "warning: broken.sh: line 2: default of parameter 'n': must be a whole number" in (
        synced
    )
    p.ok("type", "enable", "make", "broken")
    yield p
    p.close()


def test_types_show_the_header_params(project: Project) -> None:
    table = project.ok("types")
    assert "count: int = 3" in table and "when: datetime" in table
    assert "mode: choice = 'fast'" in table
    listed = {t["name"]: t for t in json.loads(project.ok("types", "--json"))}
    assert (listed["make"]["min_nodes"], listed["make"]["max_nodes"]) == (1, 2)
    assert listed["broken"]["signature"] is None  # the bad line is left out


def test_submit_refuses_a_bad_param_naming_it_and_the_script_gets_defaults(
    project: Project,
) -> None:
    cases = [
        (("make", "count=two", "when=2026-12-31T23:00"), "parameter 'count': must be a whole"),
        (("make", "count=2"), "needs parameter 'when' (datetime)"),
        (("make", "when=soon"), "parameter 'when': must be a date and time"),
        (("make", "when=2026-12-31T23:00", "mode=slowest"), "parameter 'mode': must be one of"),
        (("make", "when=2026-12-31T23:00", "colour=red"), "has no parameter 'colour'"),
        (("make", "a,b,c", "when=2026-12-31T23:00"), "runs on at most 2 node(s), got 3"),
    ]
    for args, needle in cases:
        out = project.run("submit", *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert needle in out.stderr and "Traceback" not in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert project.yard.jobs() == []
    project.worker("main")
    job_id = project.submit("make", "when=2026-12-31T23:00", "count=5")
    job = project.finished(job_id)
    assert job.status == "completed", project.log(job_id)
    (line,) = [m for m in project.log(job_id) if m.startswith("got ")]
    assert json.loads(line[4:]) == {"when": "2026-12-31T23:00:00", "count": 5, "mode": "fast"}


def test_the_api_refuses_a_bad_param_with_422(project: Project) -> None:
    with serving(create_app(project.yard, NoAuth())) as base:
        r = httpx.post(
            f"{base}/api/v1/jobs",
            json={"type": "make", "data": {"when": "2026-12-31T23:00", "count": "two"}},
        )
        assert r.status_code == 422, r.text
        assert "parameter 'count' must be a whole number" in r.json()["error"]["message"]
        assert r.json()["error"]["field"] == "data.count"
        r = httpx.post(
            f"{base}/api/v1/jobs",
            json={"type": "make", "nodes": ["a", "b", "c"], "data": {"when": "2026-12-31"}},
        )
        assert r.status_code == 422 and "at most 2 node(s)" in r.text
        r = httpx.post(f"{base}/api/v1/jobs", json={"type": "make", "data": {"when": "2026-12-31"}})
        assert r.status_code == 201, r.text
