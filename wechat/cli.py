"""``flask --app app wechat ...``: tools for people working on the official account.

``wechat simulate "我要投诉"`` plays WeChat's server: it signs (and in compatible or safe mode
encrypts) a text message with the configured token and AES key, posts it to the running app,
and prints the decrypted reply, so the channel can be tried without a WeChat account.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click
from flask import Flask

from core import clock

DEFAULT_URL = "http://127.0.0.1:5000/wechat"
DEFAULT_USER = "test-openid"
DEFAULT_ACCOUNT = "gh_hotline12345"


def simulate_text(
    config: Any, text: str, *, url: str, user: str, account: str, timeout: float = 10.0
) -> str | None:
    """Post ``text`` as ``user`` and return the reply's text (None: "success", no reply)."""
    from wechat.protocol import ConfigError, Settings, read_reply, signed_request, text_message

    settings = Settings.from_config(config)
    if settings is None:
        raise ConfigError("HOTLINE_WECHAT_TOKEN is not set: the channel is off")
    now = clock.now()
    xml = text_message(user, text, account=account, now=now)
    query, body = signed_request(settings, xml, now=now, openid=user)
    request = urllib.request.Request(
        f"{url}?{urllib.parse.urlencode(query)}",
        data=body.encode("utf-8"),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (our URL)
        answer = response.read().decode("utf-8")
    return read_reply(settings, answer)


def register_cli(app: Flask) -> None:
    @app.cli.group("wechat")
    def wechat_group() -> None:
        """The WeChat official account: try the channel, set up the account."""

    @wechat_group.command("menu")
    def menu() -> None:
        """Create the account's custom menu (常见问题, 我要投诉, 我的工单, 人工客服 and the
        tracking page) with the shared access token, and print it."""
        import json

        from wechat.client import WeChatError
        from wechat.menu import create_menu

        if not (app.config.get("WECHAT_APP_ID") and app.config.get("WECHAT_APP_SECRET")):
            raise click.ClickException(
                "set HOTLINE_WECHAT_APP_ID and HOTLINE_WECHAT_APP_SECRET to create the menu"
            )
        try:
            sent = create_menu(app.config, app.extensions["hotline_db"].session)
        except WeChatError as error:
            raise click.ClickException(f"WeChat refused the menu: {error}") from None
        click.echo(json.dumps(sent, ensure_ascii=False, indent=2))

    @wechat_group.command("simulate")
    @click.argument("text")
    @click.option("--url", default=DEFAULT_URL, show_default=True, help="The app's /wechat URL.")
    @click.option("--user", default=DEFAULT_USER, show_default=True, help="The citizen's openid.")
    @click.option("--account", default=DEFAULT_ACCOUNT, show_default=True, help="ToUserName.")
    def simulate(text: str, url: str, user: str, account: str) -> None:
        """Sign (and encrypt, per the configured mode) TEXT as WeChat would, post it to the
        running app and print the reply."""
        from wechat.protocol import ConfigError

        try:
            answer = simulate_text(app.config, text, url=url, user=user, account=account)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", errors="replace")[:200]
            raise click.ClickException(f"{url} answered {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise click.ClickException(f"cannot reach {url}: {error}") from None
        click.echo(answer if answer is not None else "(no reply: success)")
