"""The account's custom menu (``wechat.menu``) posted to the fake WeChat API with the shared
token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from wechat.client import WeChatError
from wechat.menu import build_menu, create_menu

from .fake_api import FakeWeChat


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeWeChat) -> dict[str, Any]:
    return {**test_config, **_config(fake)}


def _config(fake: FakeWeChat, **extra: object) -> dict[str, object]:
    return {
        "WECHAT_APP_ID": fake.appid,
        "WECHAT_APP_SECRET": fake.secret,
        "WECHAT_API_BASE": fake.url,
        "PUBLIC_BASE_URL": "https://12345.example.test/",
        **extra,
    }


def _clicks(menu: dict[str, object]) -> dict[str, str]:
    found: dict[str, str] = {}
    buttons = menu["button"]
    assert isinstance(buttons, list)
    for button in buttons:
        for item in button.get("sub_button", [button]):
            if item["type"] == "click":
                found[item["key"]] = item["name"]
    return found


def _views(menu: dict[str, Any]) -> list[dict[str, str]]:
    return [
        b for top in menu["button"] for b in top.get("sub_button", [top]) if b["type"] == "view"
    ]


def test_the_menu_is_created_with_the_keys_my_tickets_page_and_the_tracking_page(
    fake: FakeWeChat, app: Flask
) -> None:
    sent = create_menu(_config(fake), app.extensions["hotline_db"].session)
    assert fake.menus == [sent]
    assert len(fake.token_requests) == 1
    (menu,) = fake.menus
    assert _clicks(menu) == {"FAQ": "常见问题", "COMPLAIN": "我要投诉", "HUMAN": "人工客服"}
    assert len(menu["button"]) <= 3  # WeChat's limit of top-level buttons
    assert _views(menu) == [
        {
            "type": "view",
            "name": "我的工单",
            "url": "https://12345.example.test/wechat/oauth/start?next=%2Fmy",
        },
        {"type": "view", "name": "工单查询", "url": "https://12345.example.test/track"},
    ]


def test_without_网页授权_my_tickets_is_the_key_the_chat_answers() -> None:
    menu = build_menu({"PUBLIC_BASE_URL": "https://12345.example.test/"})  # no AppID/AppSecret
    assert _clicks(menu) == {
        "FAQ": "常见问题",
        "COMPLAIN": "我要投诉",
        "MY_TICKETS": "我的工单",
        "HUMAN": "人工客服",
    }
    assert _views(menu) == [
        {"type": "view", "name": "工单查询", "url": "https://12345.example.test/track"}
    ]


def test_without_a_public_address_there_is_no_view_button() -> None:
    for base in ("", "http://127.0.0.1:5000"):  # the development default is not reachable
        menu = build_menu({"PUBLIC_BASE_URL": base})
        assert len(menu["button"]) == 3
        items = [b for top in menu["button"] for b in top.get("sub_button", [top])]
        assert all(b["type"] == "click" for b in items)


def test_a_refused_menu_raises_with_the_code(fake: FakeWeChat, app: Flask) -> None:
    fake.fail("menu", 40018)  # invalid button name size
    with pytest.raises(WeChatError) as raised:
        create_menu(_config(fake), app.extensions["hotline_db"].session)
    assert raised.value.errcode == 40018


def test_the_menu_command_creates_it(fake: FakeWeChat, app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["wechat", "menu"])
    assert result.exit_code == 0, result.output
    assert len(fake.menus) == 1
    assert json.loads(result.output) == fake.menus[0]


def test_the_menu_command_needs_the_account(
    fake: FakeWeChat, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WECHAT_APP_SECRET", None)
    result = app.test_cli_runner().invoke(args=["wechat", "menu"])
    assert result.exit_code != 0
    assert "HOTLINE_WECHAT_APP_SECRET" in result.output
    fake.fail("menu", 40018)
    monkeypatch.setitem(app.config, "WECHAT_APP_SECRET", fake.secret)
    result = app.test_cli_runner().invoke(args=["wechat", "menu"])
    assert result.exit_code != 0 and "40018" in result.output
    assert fake.menus == []
