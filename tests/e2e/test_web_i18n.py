"""The web UI in Russian in a real Chromium against a real ``jobyard web``: by the browser's
Accept-Language, and by the language switch in the header (a cookie that sticks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.webui import Site, shot, start_site

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.fixture
def auth_site(tmp_path: Path) -> Iterator[Site]:
    s = start_site(tmp_path, extra=())
    yield s
    s.close()


def test_login_page_in_russian_by_accept_language(auth_site: Site, browser: Any) -> None:
    ctx = browser.new_context(
        locale="ru-RU", extra_http_headers={"Accept-Language": "ru-RU,ru;q=0.9"}
    )
    page = ctx.new_page()
    try:
        page.goto(f"{auth_site.url}/jobs")
        page.wait_for_url("**/login?next=*")
        assert page.locator("html").get_attribute("lang") == "ru"
        assert page.locator("h1").inner_text() == "Вход"
        assert page.locator("label[for=username]").inner_text() == "Имя пользователя"
        assert page.locator("button.primary").inner_text() == "Вход"
        page.fill("#username", "nobody")
        page.fill("#password", "wrong password")
        page.click("button.primary")
        alert = page.locator("[role=alert]")
        assert alert.inner_text() == "неверное имя пользователя или пароль"
        shot(page, "login-ru")
    finally:
        ctx.close()


def test_job_list_switches_language_and_remembers_it(site: Site, page: Any) -> None:
    site.yard.enqueue("slow", {"steps": 1, "pause": 0})
    page.goto(f"{site.url}/jobs")  # the page fixture's browser asks for English
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Jobs"
    page.click("nav.lang a[lang=ru]")
    page.wait_for_url("**/jobs?lang=ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("h1").inner_text() == "Задания"
    headers = page.locator("table thead th").all_inner_texts()
    assert "Тип" in headers and "Статус" in headers, headers
    assert page.locator("nav[aria-label='Главное меню'] a[href='/types']").inner_text() == "Типы"
    # the cookie keeps the choice on the next page, without ?lang=
    page.goto(f"{site.url}/types")
    assert page.locator("h1").inner_text() == "Типы заданий"
    shot(page, "types-ru")
    page.click("nav.lang a[lang=en]")
    page.wait_for_url("**/types?lang=en")
    assert page.locator("h1").inner_text() == "Job types"
