"""A real ``jobyard web`` and ``jobyard worker`` (subprocesses) and a real Chromium
(Debian's, driven by Playwright) for the web UI tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobyard import Yard
from tests.apiserver import free_port
from tests.helpers import ROOT, cli_env, until

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("JOBYARD_SCREENSHOTS", ROOT / "build" / "screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    url: str
    db: Path
    env: dict[str, str]
    yard: Yard
    procs: list[subprocess.Popen[Any]] = field(default_factory=list)

    def start_worker(self, queues: str = "default") -> subprocess.Popen[Any]:
        p = subprocess.Popen(
            [sys.executable, "-m", "jobyard", "worker", "-q", queues, "-c", "4"],
            env=self.env,
            cwd=ROOT,
        )
        self.procs.append(p)
        return p

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.yard.close()


def start_site(
    tmp_path: Path,
    extra: tuple[str, ...] = ("--no-auth",),
    app: str = "tests.e2e.web_app",
    config: Path | None = None,
) -> Site:
    db = tmp_path / "web.db"
    env = cli_env(db, app)
    if config is not None:
        env["JOBYARD_CONFIG"] = str(config)
    port = free_port()
    yard = Yard(f"sqlite:///{db}")
    yard.migrate()
    site = Site(f"http://127.0.0.1:{port}", db, env, yard)
    web = subprocess.Popen(
        [sys.executable, "-m", "jobyard", "web", "--bind", f"127.0.0.1:{port}", *extra],
        env=env,
        cwd=ROOT,
    )
    site.procs.append(web)

    def up() -> bool:
        try:
            return httpx.get(f"{site.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    until(up, timeout=20, interval=0.1)
    return site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = start_site(tmp_path)
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module: Playwright's sync API keeps an event loop running in
    this thread while it is open, and tests of other modules call asyncio.run()."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: run tools/setup.sh (it installs chromium)")
        pytest.skip("no chromium here: run tools/setup.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = ctx.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot (the docs' pictures; test artifacts)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def have_chromium() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None
