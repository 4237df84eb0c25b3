"""我的工单 inside WeChat's browser, in Chromium at phone width: /my → /wechat/oauth/start →
WeChat's authorize page (the loopback fake answers like snsapi_base: straight back with a code)
→ the callback → /my with the citizen's own tickets, then one of them without its query code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from tests.browser.fixtures import PHONE
from tests.conftest import at
from tests.wechat.fake_api import FakeWeChat, account_config, running_fake
from tickets.models import Ticket

OPENID = "o-citizen-openid-browser"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    yield from running_fake()


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeWeChat) -> dict[str, Any]:
    return {
        **test_config,
        **account_config(fake),
    }


def test_my_tickets_after_the_oauth_round_trip(
    app: Flask,
    live_server: str,
    fake: FakeWeChat,
    new_page: Any,
    screenshot: Any,
    make_ticket: Callable[..., Ticket],
) -> None:
    app.config["PUBLIC_BASE_URL"] = live_server  # the callback WeChat sends the browser to
    fake.oauth_openid = OPENID
    mine = [
        make_ticket(channel="wechat", external_id=OPENID, when=at(2026, 3, 2, 9)),
        make_ticket("handling", channel="wechat", external_id=OPENID, when=at(2026, 3, 6, 15)),
        make_ticket("closed", channel="wechat", external_id=OPENID, when=at(2026, 3, 9, 9)),
    ]
    theirs = make_ticket(channel="wechat", external_id="o-someone-else", when=at(2026, 3, 9, 10))

    page = new_page(viewport=PHONE)
    page.goto(live_server + "/my")
    page.wait_for_selector("[data-ticket]")
    assert page.url.split("#")[0] == live_server + "/my"
    assert len(fake.authorize_requests) == 1 and len(fake.oauth_requests) == 1
    assert "我的工单" in page.content()
    listed = page.locator("[data-ticket]").evaluate_all("els => els.map(e => e.dataset.ticket)")
    assert listed == [t.number for t in reversed(mine)]
    assert theirs.number not in page.content()
    screenshot(page, "wechat-my-tickets-phone")

    page.click(f"[data-ticket='{mine[1].number}']")
    page.wait_for_url(f"**/track/{mine[1].number}")
    assert mine[1].number in page.inner_text("h1")
    assert "我的全部工单" in page.content()
