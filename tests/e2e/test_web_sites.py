"""The sites, batches and nodes pages in a real Chromium against real ``jobyard web``,
``jobyard batch`` and ``jobyard worker`` processes: a batch on two local sites shows its
grid with the failed pair marked and is re-run from the page by an operator (CSRF on),
live; site variables stay text; /nodes shows a node's worker; the creation form of a
script type with header params has typed fields and refuses a bad value naming it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobyard.scripts import sync_scripts
from tests.e2e.test_web_auth import add_user
from tests.e2e.webui import Site, shot, start_site
from tests.helpers import ROOT, run_cli, until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

XSS = "<script>alert(1)</script>"
MAKE = """#!/bin/sh
# jobyard: param count: int = 3 -- how many to make
# jobyard: param mode: choice(fast, slow) = fast
# jobyard: param when: datetime
echo "$JOBYARD_DATA"
"""


def config(tmp_path: Path) -> Path:
    lines = ["[worker]\nlease = 5\nheartbeat = 0.5\n"]
    for name in ("a", "b"):
        root = tmp_path / name
        lines.append(f'[sites.{name}]\nroles = ["app"]\nroot = {json.dumps(str(root))}\n')
        lines.append(f'note = {json.dumps(XSS)}\ndb_password = "hunter2"\n')
    path = tmp_path / "jobyard.toml"
    path.write_text("".join(lines))
    return path


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Site]:
    s = start_site(tmp_path, extra=(), app="tests.e2e.batch_app", config=config(tmp_path))
    s.env["JOBYARD_CONFIG"] = str(tmp_path / "jobyard.toml")
    yield s
    s.close()


@pytest.fixture
def open_site(tmp_path: Path) -> Iterator[Site]:
    s = start_site(tmp_path, app="tests.e2e.batch_app", config=config(tmp_path))
    yield s
    s.close()


def login(site: Site, page: Any, name: str, password: str, target: str) -> None:
    page.goto(site.url + target)
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url(site.url + target)


def test_batch_grid_failed_pair_and_rerun_from_the_page(
    sites: Site, page: Any, tmp_path: Path
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "broken").write_text("")  # `check` fails on b while this exists
    out = run_cli(sites.env, "batch", "greet", "check", "--json")
    assert out.returncode == 1, out.stderr
    batch = json.loads(out.stdout)["batch"]
    add_user(sites, "ann", "operator", "correct horse")
    add_user(sites, "vic", "viewer", "viewer pass")

    login(sites, page, "vic", "viewer pass", f"/batches/{batch}")
    assert page.locator("#rerun-failed").count() == 0  # a viewer may look, not re-run
    page.context.clear_cookies()

    login(sites, page, "ann", "correct horse", "/batches")
    row = page.locator(f"tr[data-batch='{batch}']")
    assert "greet check" in row.inner_text() and "failed" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"{sites.url}/batches/{batch}")
    failed = page.locator("td.pair-failed")
    assert failed.count() == 1
    # without break_on_error a failed action's job completes, its result saying ok: false
    assert failed.get_attribute("data-status") == "completed"
    assert failed.locator(".status").inner_text() == "failed"  # what the pair came to
    shot(page, "batch-failed")
    cells = page.locator("tr[data-site='a'] td.cell")
    assert [cells.nth(i).get_attribute("data-status") for i in range(2)] == ["completed"] * 2
    assert page.locator("tr[data-site='b'] td.pair-failed").count() == 1
    assert "check @ b" in page.locator("#failed-pairs").inner_text()
    link = failed.locator("a").get_attribute("href")
    assert link is not None and re.fullmatch(r"/jobs/\d+", link)

    (tmp_path / "b" / "broken").unlink()
    sites.start_worker("default")
    page.evaluate("window.__marker = 'same page'")
    with page.expect_navigation():
        page.click("#rerun-failed")
    assert "1" in page.locator("p.notice").inner_text()
    page.evaluate("window.__marker = 'after rerun'")
    page.wait_for_selector("#batch-state[data-state='ok']", timeout=20000)
    assert page.evaluate("window.__marker") == "after rerun"  # updated live, no reload
    assert page.locator("td.pair-failed").count() == 0
    assert page.locator("#rerun-failed").count() == 0  # nothing left to re-run
    assert page.locator("tr[data-site='b'] td.cell .runs").inner_text() == "2 runs"
    shot(page, "batch-rerun")
    assert (tmp_path / "a" / "runs").read_text().split() == ["greet", "check"]
    assert (tmp_path / "b" / "runs").read_text().split() == ["greet", "check"]


def test_sites_nodes_and_a_script_form(open_site: Site, page: Any, tmp_path: Path) -> None:
    site = open_site
    page.goto(site.url + "/sites")
    note = page.locator("tr[data-site='a'] [data-var='note'] code")
    assert note.inner_text() == XSS  # shown as text, never run
    assert page.js_errors == []  # type: ignore[attr-defined]
    assert "hunter2" not in page.content()
    assert "(hidden)" in page.locator("tr[data-site='a'] [data-var='db_password']").inner_text()
    assert "a, b" in page.locator("#roles tr[data-role='app']").inner_text()
    shot(page, "sites")

    node = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "worker", "--node", "web1"], env=site.env, cwd=ROOT
    )
    site.procs.append(node)
    until(lambda: any(w.name for w in site.yard.store.list_workers()), timeout=20)
    page.goto(site.url + "/nodes")
    row = page.locator("tr[data-node='web1']")
    row.wait_for(timeout=10000)
    assert "alive" in row.inner_text() and "node:web1" in row.inner_text()
    shot(page, "nodes")

    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "make.sh").write_text(MAKE)
    (scripts / "make.sh").chmod(0o755)
    sync_scripts(site.yard, str(scripts))
    site.yard.store.set_type_enabled("make", True, 0.0)
    page.goto(site.url + "/new?type=make")
    assert page.input_value("#param-count") == "3"
    assert page.locator("#param-mode option").all_inner_texts() == ["fast", "slow"]
    assert page.get_attribute("#param-when", "placeholder") == "2026-12-31T23:00"
    page.fill("#param-when", "2026-12-31T23:00")
    page.fill("#param-count", "many")
    page.click("#submit")
    err = page.locator("#err-param-count")
    assert "parameter 'count'" in err.inner_text() and "whole number" in err.inner_text()
    assert site.yard.count() == 0
    page.fill("#param-count", "4")
    page.select_option("#param-mode", "slow")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job = site.yard.get(int(page.url.rsplit("/", 1)[1])).job
    assert job.data == {"count": 4, "mode": "slow", "when": "2026-12-31T23:00:00"}
