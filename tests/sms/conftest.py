"""An app with Tencent Cloud SMS configured against the fake provider on loopback, the outbox
worker that sends through it, and the provider's reply callback as a test client posts it."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import clock
from delivery import senders as registry
from delivery.render import RenderSettings
from delivery.worker import Worker, WorkerSettings
from sms.sender import SmsSender

from .fake_provider import FakeTencentSms, running_fake

PUBLIC = "https://12345.example.test"
REPLY_TOKEN = "reply-token-4f9c2e7a"
# outbox template -> the provider's template id, and that template as registered (approved)
TEMPLATE_IDS = {
    "ticket_received": "2001",
    "ticket_dispatched": "2002",
    "ticket_answered": "2003",
    "survey_reminder": "2004",
    "ticket_closed": "2005",
}
APPROVED = {
    "2001": "您的诉求已受理，工单号{1}，查询码{2}。",
    "2002": "工单{1}已转交{2}办理。",
    "2003": "{2}已答复您的工单{1}。请回复1满意、2基本满意、3不满意，或打开 "
    + PUBLIC
    + "/s/{3} 查看答复并评价。",
    "2004": "工单{1}尚未评价，请回复1满意、2基本满意、3不满意，或打开 " + PUBLIC + "/s/{2}",
    "2005": "工单{1}已办结（{2}），感谢您的支持。",
}
LINK = re.compile(re.escape(PUBLIC) + r"(/s/[0-9a-z]+)")


@pytest.fixture
def fake() -> Iterator[FakeTencentSms]:
    yield from running_fake(templates=dict(APPROVED))


@pytest.fixture
def sms_config(fake: FakeTencentSms) -> dict[str, Any]:
    return {
        "SMS_PROVIDER": "tencent",
        "SMS_SECRET_ID": fake.secret_id,
        "SMS_SECRET_KEY": fake.secret_key,
        "SMS_APP_ID": fake.app_id,
        "SMS_SIGN_NAME": fake.sign_name,
        "SMS_TEMPLATES": dict(TEMPLATE_IDS),
        "SMS_API_BASE": fake.url,
        "SMS_TIMEOUT_SECONDS": 2.0,
        "SMS_REPLY_TOKEN": REPLY_TOKEN,
        "PUBLIC_BASE_URL": PUBLIC,
    }


@pytest.fixture
def test_config(test_config: dict[str, Any], sms_config: dict[str, Any]) -> dict[str, Any]:
    return {**test_config, **sms_config}


@pytest.fixture(autouse=True)
def _logging_sms_afterwards() -> Iterator[None]:
    """No provider's sender (and its connections to a stopped fake) outlives a test here."""
    yield
    registered = registry.sender_for("sms")
    if isinstance(registered, SmsSender):
        registered.api.close()
    registry.register_sender("sms", registry.logging_sms_sender)


@pytest.fixture
def sender(app: Flask) -> SmsSender:
    """The sender the app registered (create_app → sms.sender.register_senders)."""
    registered = registry.sender_for("sms")
    assert isinstance(registered, SmsSender)
    return registered


@pytest.fixture
def worker(app: Flask, sender: SmsSender) -> Worker:
    """A real outbox worker using the registry, as ``flask worker`` does."""
    return Worker(
        app.extensions["hotline_db"].session,
        RenderSettings(secret_key=app.config["SECRET_KEY"], public_base_url=PUBLIC),
        WorkerSettings(batch_size=20, lease_seconds=60, max_attempts=4, idle_seconds=0.01),
        rng=random.Random(7),
    )


@pytest.fixture
def later(worker: Worker) -> Callable[[float], int]:
    """Drain the outbox ``minutes`` from now (past any backoff); the clock stays there."""

    def drain(minutes: float = 60) -> int:
        import datetime as dt

        with clock.frozen(clock.now() + dt.timedelta(minutes=minutes)):
            return worker.drain()

    return drain


@pytest.fixture
def reply(client: FlaskClient) -> Callable[..., TestResponse]:
    """The provider posting one reply (回复短信) to the callback URL."""

    def post(
        text: str,
        *,
        mobile: str = "13800138000",
        at: int | None = None,
        token: str = REPLY_TOKEN,
        **extra: Any,
    ) -> TestResponse:
        body = {
            "extend": "",
            "mobile": mobile,
            "nationcode": "86",
            "sign": "珠海12345",
            "text": text,
            "time": at if at is not None else int(clock.now().timestamp()),
            **extra,
        }
        return client.post(f"/sms/replies/{token}", json=body)

    return post


def fresh(db: Session) -> Session:
    """The test's session in a new transaction, reading what requests and the worker committed."""
    db.rollback()
    db.expire_all()  # rollback without a transaction expires nothing
    return db
