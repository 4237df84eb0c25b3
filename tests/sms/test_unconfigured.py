"""Without SMS configuration the logging sender stays: messages to callers are logged (the number
masked) and marked sent, nothing reaches a provider, and the reply callback is off (404)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from delivery import senders as registry
from delivery.models import OutboxMessage
from delivery.render import RenderSettings
from delivery.worker import Worker, WorkerSettings
from sms.sender import SmsSender, register_senders
from tickets.models import Ticket

from .conftest import PUBLIC, REPLY_TOKEN, fresh
from .fake_provider import FakeTencentSms


@pytest.fixture
def sms_config() -> dict[str, Any]:
    return {}


def test_sms_only_logs_when_unconfigured(
    app: Flask,
    make_ticket: Callable[..., Ticket],
    db: Session,
    fake: FakeTencentSms,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert registry.sender_for("sms") is registry.logging_sms_sender
    ticket = make_ticket("submitted", channel="phone")
    worker = Worker(
        app.extensions["hotline_db"].session,
        RenderSettings(secret_key=app.config["SECRET_KEY"], public_base_url=PUBLIC),
        WorkerSettings(batch_size=20, idle_seconds=0.01),
        rng=random.Random(1),
    )
    with caplog.at_level(logging.INFO, logger="delivery.senders"):
        worker.drain()
    (message,) = fresh(db).scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert message.status == "sent"
    logged = [r.getMessage() for r in caplog.records if r.name == "delivery.senders"]
    assert any("138****8000" in line and ticket.number in line for line in logged)
    assert not any("13800138000" in line for line in logged)
    assert fake.requests == []


def test_the_reply_callback_is_off(client: FlaskClient) -> None:
    body = {"mobile": "13800138000", "nationcode": "86", "text": "1", "time": 1}
    assert client.post(f"/sms/replies/{REPLY_TOKEN}", json=body).status_code == 404
    assert client.post("/sms/replies/x", json=body).status_code == 404


def test_a_provider_named_must_be_configured_in_full(fake: FakeTencentSms) -> None:
    factory: Any = lambda: None  # noqa: E731 - never called: nothing is registered
    for config in (
        {"SMS_PROVIDER": "tencent"},
        {"SMS_PROVIDER": "tencent", "SMS_SECRET_ID": "x", "SMS_SECRET_KEY": "y"},
        {"SMS_PROVIDER": "carrier-pigeon", "SECRET_KEY": "k"},
    ):
        with pytest.raises(ValueError):
            register_senders(config, factory)
    assert registry.sender_for("sms") is registry.logging_sms_sender
    full = {
        "SMS_PROVIDER": "Tencent",
        "SMS_SECRET_ID": fake.secret_id,
        "SMS_SECRET_KEY": fake.secret_key,
        "SMS_APP_ID": fake.app_id,
        "SMS_SIGN_NAME": fake.sign_name,
        "SMS_TEMPLATES": '{"ticket_received": "2001"}',
        "SECRET_KEY": "k",
    }
    try:
        assert register_senders(full, factory) is True
        assert isinstance(registry.sender_for("sms"), SmsSender)
        assert register_senders({}, factory) is False  # an app without SMS puts logging back
        assert registry.sender_for("sms") is registry.logging_sms_sender
    finally:
        registry.register_sender("sms", registry.logging_sms_sender)
