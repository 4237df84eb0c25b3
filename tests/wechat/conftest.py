"""A WeChat server in a test: signs (and in compatible/safe mode encrypts) what it posts to
``/wechat`` the way WeChat does, on the suite's clock, and reads the passive reply back.

``wechat_mode`` picks the account's mode (``pytest.mark.parametrize("wechat_mode", [...])``
overrides it); every test's app has the account configured.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core import clock
from delivery import senders as registry
from delivery.render import RenderSettings
from delivery.worker import Worker, WorkerSettings
from wechat.protocol import Settings, read_reply, signed_request, text_message
from wechat.sender import WeChatSender

from . import fake_api

# A copy of ../shared/fixtures/wechat (see its SOURCE.md), kept with the tests so that a clean
# clone anywhere replays every sample.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOKEN = "hotline-test-token"
APP_ID = "wx0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_hotline12345"
USER = "o-citizen-openid-0001"


@pytest.fixture
def fake() -> Iterator[fake_api.FakeWeChat]:
    """The fake WeChat API server on loopback (tokens, messages, media, menus, 网页授权)."""
    yield from fake_api.running_fake()


@pytest.fixture
def sender(app: Flask) -> Iterator[WeChatSender]:
    """The sender the app registered (create_app → wechat.sender.register_senders)."""
    registered = registry.sender_for("wechat")
    assert isinstance(registered, WeChatSender)
    yield registered
    registered.api.close()
    registry.unregister_sender("wechat")


@pytest.fixture
def worker(app: Flask, sender: WeChatSender) -> Worker:
    """A real outbox worker using the registry and the app's WeChat sender, as ``flask worker``
    does."""
    return Worker(
        app.extensions["hotline_db"].session,
        RenderSettings(
            secret_key=str(app.config["SECRET_KEY"]),
            public_base_url=str(app.config["PUBLIC_BASE_URL"]),
        ),
        WorkerSettings(batch_size=20, lease_seconds=60, max_attempts=4, idle_seconds=0.01),
        rng=random.Random(7),
    )


@pytest.fixture
def wechat_mode() -> str:
    return "plain"


@pytest.fixture
def test_config(test_config: dict[str, Any], wechat_mode: str) -> dict[str, Any]:
    return {
        **test_config,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_AES_KEY": None if wechat_mode == "plain" else AES_KEY,
        "WECHAT_MODE": wechat_mode,
        "WECHAT_ACCOUNT_NAME": "12345市民服务热线",
    }


_msg_ids = itertools.count(7_000_000_000_000_000_001)


class FakeWeChat:
    """What WeChat's server does with the account's URL."""

    def __init__(self, client: FlaskClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.last: TestResponse | None = None

    def post(
        self,
        xml: str,
        *,
        encrypt: bool | None = None,
        query: dict[str, str] | None = None,
        nonce: str | None = None,
    ) -> TestResponse:
        args, body = signed_request(
            self.settings, xml, now=clock.now(), encrypt=encrypt, nonce=nonce
        )
        args.update(query or {})
        self.last = self.client.post(
            "/wechat", query_string=args, data=body.encode("utf-8"), content_type="text/xml"
        )
        return self.last

    def reply(self, response: TestResponse) -> str | None:
        assert response.status_code == 200, response.get_data(as_text=True)
        return read_reply(self.settings, response.get_data(as_text=True))

    def send(self, xml: str, **kw: Any) -> str | None:
        return self.reply(self.post(xml, **kw))

    def say(self, text: str, *, user: str = USER, msg_id: str | None = None) -> str:
        xml = text_message(
            user, text, account=ACCOUNT, now=clock.now(), msg_id=msg_id or str(next(_msg_ids))
        )
        answer = self.send(xml)
        assert answer is not None
        return answer

    def event(self, event: str, *, user: str = USER, at: int | None = None, **fields: str) -> Any:
        extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        xml = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{at or int(clock.now().timestamp())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{extra}</xml>"
        )
        return self.send(xml)

    def message(self, msg_type: str, *, user: str = USER, **fields: str) -> str | None:
        extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        xml = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(clock.now().timestamp())}</CreateTime>"
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>{extra}"
            f"<MsgId>{next(_msg_ids)}</MsgId></xml>"
        )
        return self.send(xml)


@pytest.fixture
def wx(app: Flask, client: FlaskClient) -> FakeWeChat:
    settings = Settings.from_config(app.config)
    assert settings is not None
    return FakeWeChat(client, settings)


def fixture_names() -> list[str]:
    names = sorted(p.stem for p in FIXTURES.glob("*.xml"))
    assert len(names) >= 45, f"the WeChat samples are missing from {FIXTURES}"
    return names


def read_fixture(name: str) -> str:
    return (FIXTURES / f"{name}.xml").read_text(encoding="utf-8")
