"""The account's custom menu (自定义菜单): four CLICK buttons the inbound handler answers by key,
and, when the public address is configured, VIEW buttons to the portal: the tracking page, and
我的工单 opened through 网页授权 (the citizen's own tickets, without number or code)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from core.db import Database
from core.i18n import DEFAULT_LOCALE, N_, translate
from wechat import oauth
from wechat.client import WeChatApi
from wechat.links import InWeChatLinks

# (label, key): the keys the inbound handler maps to the engine's intents.
# The menu is created once for the account, in the default locale (simplified Chinese).
CLICK_BUTTONS: tuple[tuple[str, str], ...] = (
    (N_("Common questions"), "FAQ"),
    (N_("Make a complaint"), "COMPLAIN"),
    (N_("My tickets"), "MY_TICKETS"),
    (N_("Talk to staff"), "HUMAN"),
)
TRACK_LABEL = N_("Track a ticket")
SERVICES_LABEL = N_("My services")
# WeChat allows at most 3 top-level buttons with at most 5 entries each.
MAX_TOP = 3
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


def build_menu(config: Mapping[str, Any]) -> dict[str, Any]:
    """The menu body: 常见问题 and 我要投诉 on top, the rest under 服务 (three top-level buttons at
    most), with the tracking page when ``PUBLIC_BASE_URL`` is an address WeChat can open (not the
    development default on loopback)."""
    locale = str(config.get("DEFAULT_LOCALE") or DEFAULT_LOCALE)
    clicks = [
        {"type": "click", "name": translate(name, locale), "key": key}
        for name, key in CLICK_BUTTONS
    ]
    base = str(config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    host = urlsplit(base).hostname or ""
    public = base.startswith(("https://", "http://")) and host not in LOOPBACK
    view = (
        [{"type": "view", "name": translate(TRACK_LABEL, locale), "url": base + "/track"}]
        if public
        else []
    )
    if public and oauth.configured(config):
        # 我的工单 opens the portal's page, the citizen known through 网页授权; the MY_TICKETS
        # key is still answered (a menu created before, or an account without a public site).
        clicks = [
            {
                "type": "view",
                "name": button["name"],
                "url": InWeChatLinks(base).signed_in("/my"),
            }
            if button["key"] == "MY_TICKETS"
            else button
            for button in clicks
        ]
    buttons: list[dict[str, Any]] = clicks[:2]
    rest = clicks[2:] + view
    if len(buttons) + len(rest) <= MAX_TOP:
        buttons += rest
    else:
        buttons.append({"name": translate(SERVICES_LABEL, locale), "sub_button": rest})
    return {"button": buttons}


def create_menu(
    config: Mapping[str, Any],
    session_factory: Callable[[], Session] | None = None,
    *,
    api: WeChatApi | None = None,
) -> dict[str, Any]:
    """Post the menu to WeChat (``/cgi-bin/menu/create``) with the shared access token (kept
    where ``session_factory``'s database or Redis keeps it); returns the menu sent. Raises
    :class:`wechat.client.WeChatError` when WeChat refuses it."""
    menu = build_menu(config)
    if api is not None:
        api.create_menu(menu)
        return menu
    if session_factory is not None:
        _post(config, session_factory, menu)
        return menu
    database = Database(str(config["DATABASE_URL"]))
    try:
        _post(config, database.session, menu)
    finally:
        database.dispose()
    return menu


def _post(
    config: Mapping[str, Any], session_factory: Callable[[], Session], menu: dict[str, Any]
) -> None:
    api = WeChatApi.from_config(config, session_factory)
    try:
        api.create_menu(menu)
    finally:
        api.close()
