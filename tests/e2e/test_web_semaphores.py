"""The job page says which semaphore a ready job waits for, in a real Chromium against a
real ``jobyard web`` (the job waits because another job holds the only slot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobyard import Yard
from jobyard.worker.local import LocalPort
from jobyard.worker.port import ClaimRequest
from tests.e2e.webui import start_site
from tests.helpers import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_the_job_page_shows_what_a_job_waits_for(tmp_path: Path, page: Any) -> None:
    config = tmp_path / "jobyard.toml"
    config.write_text("[semaphores.db]\ncount = 1\n")
    site = start_site(tmp_path, app="tests.e2e.sem_cli_app", config=config)
    try:
        ids = []
        for _ in range(2):
            out = run_cli(site.env, "submit", "noop", "--semaphore", "db")
            assert out.returncode == 0, out.stderr
            ids.append(int(out.stdout))
        holder, waiter = ids
        yard = Yard(f"sqlite:///{site.db}")
        try:  # a worker takes the first job: the second has no slot
            got = LocalPort(yard).claim(ClaimRequest("w", ["default"], ["noop"], 2, 60.0))
            assert [j.id for j in got] == [holder]
        finally:
            yard.close()
        page.goto(f"{site.url}/jobs/{waiter}")
        waiting = page.locator(".job-waiting")
        assert waiting.inner_text() == f"semaphore db (1/1 held by job {holder})"
        assert page.locator(".job-semaphores").inner_text() == "db"
        page.goto(f"{site.url}/jobs/{holder}")
        assert page.locator(".job-waiting").count() == 0  # running: it waits for nothing
    finally:
        site.close()
