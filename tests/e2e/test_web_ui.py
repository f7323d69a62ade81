"""The web UI in a real Chromium against real ``jobyard web`` and ``jobyard worker``
processes: forms, live progress and log, actions, types, prefill, jobset graphs, bulk
actions, escaping. Every page is screenshotted (build/screenshots, docs/ui.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from jobyard.scripts import sync_scripts
from tests.e2e.webui import Site, shot
from tests.helpers import until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def job_status(site: Site, job_id: int) -> str:
    return site.yard.get(job_id).job.status


def test_run_now_form_with_typed_params(site: Site, page: Any) -> None:
    site.start_worker()
    page.goto(f"{site.url}/new?type=greet")
    assert page.locator("#help-times").inner_text() == "how many times to greet"
    page.fill("#param-name", "ann")
    page.fill("#param-times", "two")  # not a whole number
    page.click("#submit")
    err = page.locator("#err-param-times")
    assert "whole number" in err.inner_text()
    assert site.yard.count() == 0  # nothing written
    shot(page, "new-error")
    page.fill("#param-times", "2")
    page.select_option("#param-mood", "wild")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    assert site.yard.get(job_id).job.data == {
        "name": "ann",
        "times": 2,
        "mood": "wild",
        "loud": False,
    }
    # The database first, so a failure says which side is late: the worker or the page.
    try:
        until(lambda: job_status(site, job_id) == "completed", timeout=30)
    except AssertionError:
        job = site.yard.get(job_id).job
        raise AssertionError(
            f"job {job_id} is {job.status} after 30 s (worker {job.worker!r}, attempts "
            f"{job.attempts}, workers {[w.name for w in site.yard.store.list_workers()]})"
        ) from None
    page.wait_for_selector(".job-status .s-completed", timeout=15000)
    assert "hello ann hello ann" in page.locator("#job-result").inner_text()


def test_live_progress_and_log_without_reload(site: Site, page: Any) -> None:
    h = site.yard.enqueue("slow", {"steps": 8, "pause": 0.5})
    page.goto(f"{site.url}/jobs/{h.id}")
    page.evaluate("window.__marker = 'same page'")
    site.start_worker()
    page.wait_for_selector(".job-status .s-running", timeout=15000)
    page.wait_for_function(
        "() => { const p = document.querySelector('.job-progress progress');"
        " return p && p.value > 0 && p.value < 100; }",
        timeout=15000,
    )
    shot(page, "job-running")
    page.wait_for_function(
        "() => document.querySelectorAll('#job-log ol.log li').length >= 4", timeout=15000
    )
    page.wait_for_selector(".job-status .s-completed", timeout=20000)
    assert page.evaluate("window.__marker") == "same page"  # updated in place, no reload
    assert "step 8 of 8" in page.locator("#job-log").inner_text()


def test_cancel_a_running_job(site: Site, page: Any) -> None:
    h = site.yard.enqueue("slow", {"steps": 50, "pause": 0.3})
    site.start_worker()
    until(lambda: job_status(site, h.id) == "running", timeout=15)
    page.goto(f"{site.url}/jobs/{h.id}")
    page.click("button.act-cancel")
    page.wait_for_selector(".job-status .s-cancelled", timeout=10000)
    until(lambda: job_status(site, h.id) == "cancelled", timeout=10)


def test_enable_a_pushed_script_and_edit_its_schedule(
    site: Site, page: Any, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "nightly.sh").write_text("#!/bin/sh\n# jobyard: group = ops\necho hi\n")
    (scripts / "nightly.sh").chmod(0o755)
    sync_scripts(site.yard, str(scripts))
    page.goto(f"{site.url}/types")
    row = page.locator("tr[data-type='nightly']")
    assert row.locator("td.enabled").inner_text().startswith("no")
    with page.expect_navigation():
        row.locator("button.toggle").click()
    assert page.locator("tr[data-type='nightly'] td.enabled").inner_text().startswith("yes")
    assert site.yard.stored_types(refresh=True)["nightly"].enabled
    page.locator("summary", has_text="nightly").click()
    form = page.locator("form[action='/types/nightly/set']")
    form.locator("input[name='schedule']").fill("*/5 * * * *")
    with page.expect_navigation():
        form.locator("button").click()
    assert "*/5 * * * *" in page.locator("tr[data-type='nightly']").inner_text()
    assert site.yard.stored_types(refresh=True)["nightly"].meta["schedule"] == "*/5 * * * *"
    shot(page, "types")
    form = page.locator("form[action='/types/nightly/set']")
    page.locator("summary", has_text="nightly").click()
    form.locator("input[name='schedule']").fill("not a cron")
    with page.expect_navigation():
        form.locator("button").click()
    assert page.locator("p.error").is_visible()  # refused, in one line
    assert site.yard.stored_types(refresh=True)["nightly"].meta["schedule"] == "*/5 * * * *"


def test_prefill_link_opens_the_form_filled_in(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/new?type=greet&nodes=a,b&param.name=zed&param.times=3")
    assert page.input_value("#param-name") == "zed"
    assert page.input_value("#param-times") == "3"
    assert page.input_value("#nodes") == "a,b"
    shot(page, "new-prefilled")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/jobsets/\d+$"))
    jobs = site.yard.jobs(type="greet")
    assert sorted(j.queue for j in jobs) == ["node:a", "node:b"]
    assert {j.data["name"] for j in jobs} == {"zed"}


def test_jobset_graph_changes_colour_as_jobs_finish(site: Site, page: Any) -> None:
    y = site.yard
    js = y.create_jobset("demo", "chain")
    first = y.enqueue("slow", {"steps": 3, "pause": 0.4}, jobset=js)
    second = y.enqueue("slow", {"steps": 10, "pause": 0.5}, jobset=js, depends=[first.id])
    y.enqueue("echo", {"text": "end"}, jobset=js, depends=[second.id])
    page.goto(f"{site.url}/jobsets/{js}")
    assert page.locator("svg.graph g.node").count() == 3
    assert page.locator("svg.graph line.edge").count() == 2
    node = f"svg.graph g[data-job='{second.id}']"
    assert page.get_attribute(node, "data-status") == "waiting"
    site.start_worker()
    page.wait_for_selector(f"{node}[data-status='running']", timeout=20000)
    shot(page, "jobset")
    page.wait_for_selector(f"{node}[data-status='completed']", timeout=20000)
    fill = page.eval_on_selector(f"{node} rect", "r => getComputedStyle(r).fill")
    waiting_fill = "rgb(255, 255, 255)"
    assert fill != waiting_fill  # coloured by status, via the stylesheet


def test_bulk_cancel_by_filter(site: Site, page: Any) -> None:
    ids = [site.yard.enqueue("parked").id for _ in range(7)]
    other = site.yard.enqueue("echo", {"text": "stay"})
    page.goto(f"{site.url}/jobs?type=parked")
    assert page.locator("table.jobs tbody tr").count() == 7
    shot(page, "jobs")
    page.select_option("select[name='action']", "cancel")
    page.check("input[name='scope'][value='filter']")
    page.click("#bulk button")
    page.wait_for_url(re.compile(r"done=cancel:7"))
    assert all(job_status(site, i) == "cancelled" for i in ids)
    assert job_status(site, other.id) == "ready"


def test_bulk_on_a_selection(site: Site, page: Any) -> None:
    ids = [site.yard.enqueue("parked").id for _ in range(3)]
    page.goto(f"{site.url}/jobs?type=parked")
    page.check(f"input[name='ids'][value='{ids[0]}']")
    page.check(f"input[name='ids'][value='{ids[2]}']")
    page.select_option("select[name='action']", "pause")
    page.click("#bulk button")
    page.wait_for_url(re.compile(r"done=pause:2"))
    assert [job_status(site, i) for i in ids] == ["paused", "ready", "paused"]


def test_user_text_renders_as_text(site: Site, page: Any) -> None:
    h = site.yard.enqueue("echo", {"text": XSS}, props={"note": XSS})
    site.start_worker()
    until(lambda: job_status(site, h.id) == "completed", timeout=15)
    site.yard.collection("inbox").insert({"v": XSS})
    site.yard.emit("ev." + "x", {"payload": XSS})
    for path in (f"/jobs/{h.id}", "/jobs", "/events", "/collections/inbox", "/", "/types"):
        page.goto(site.url + path)
        page.wait_for_load_state("load")
        assert page.dialogs == [], path  # type: ignore[attr-defined]
        assert page.locator("img[src='x']").count() == 0, path
    page.goto(f"{site.url}/jobs/{h.id}")
    assert XSS in page.locator("#job-log").inner_text()
    assert "<script>alert(2)</script>" in page.locator("#job-data").inner_text()
    assert "<script>alert(2)</script>" in page.locator("#job-props").inner_text()


def test_every_page_renders_and_is_screenshotted(site: Site, page: Any) -> None:
    y = site.yard
    site.start_worker()
    done = y.enqueue("greet", {"name": "ann"})
    y.enqueue("parked")
    js = y.create_jobset("demo", "pair")
    y.enqueue("echo", {"text": "a"}, jobset=js)
    until(lambda: job_status(site, done.id) == "completed", timeout=15)
    y.collection("inbox").insert({"user": "ann", "n": 1})
    y.emit("deployed", {"rev": "abc"})
    pages = {
        "dashboard": "/",
        "jobs-all": "/jobs",
        "jobs-of-jobset": f"/jobs?jobset={js}",
        "job": f"/jobs/{done.id}",
        "types-all": "/types",
        "new": "/new?type=greet",
        "workers": "/workers",
        "events": "/events",
        "collections": "/collections",
        "collection": "/collections/inbox",
        "jobset-pair": f"/jobsets/{js}",
        "login": "/login",
        "not-found": "/no/such/page",
        "job-removed": "/jobs/999999",
    }
    page.goto(site.url + "/")
    assert page.locator("#throughput rect.ok").count() >= 1  # the finished jobs, per minute
    for name, path in pages.items():
        resp = page.goto(site.url + path)
        expected = 404 if name in ("not-found", "job-removed") else 200
        assert resp.status == expected, (path, resp.status)
        assert page.js_errors == [], (path, page.js_errors)  # type: ignore[attr-defined]
        shot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site.url + "/jobs")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "jobs-phone")


def test_log_lines_appear_live_without_progress_events(site: Site, page: Any) -> None:
    h = site.yard.enqueue("chatty", {"lines": 8, "pause": 0.6})
    page.goto(f"{site.url}/jobs/{h.id}")
    page.evaluate("window.__marker = 'same page'")
    site.start_worker()
    page.wait_for_function(
        "() => document.querySelector('#job-log').innerText.includes('line 3')", timeout=20000
    )
    assert "line 8" not in page.locator("#job-log").inner_text()  # it is still running
    page.wait_for_function(
        "() => document.querySelector('#job-log').innerText.includes('line 8')", timeout=20000
    )
    assert page.evaluate("window.__marker") == "same page"
