from __future__ import annotations

from tests.browser.fixtures import PHONE


def test_home_page_renders_chinese(live_server, new_page, screenshot) -> None:
    page = new_page(viewport=PHONE)
    page.goto(live_server + "/")
    assert "12345" in page.title() or "12345" in page.content()
    screenshot(page, "smoke-home-phone")
