"""An answer that takes longer than WeChat's 5 seconds allow for a passive reply goes to the
worker and reaches the citizen as a customer-service message, once, however often WeChat resends
the message meanwhile."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.models import OutboxMessage
from delivery.worker import Worker
from wechat.protocol import text_message

from .conftest import ACCOUNT, USER, FakeWeChat
from .fake_api import FakeWeChat as FakeApi
from .fake_api import account_config


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeApi) -> dict[str, Any]:
    # Every answer "took too long": the budget is zero seconds.
    return {**test_config, **account_config(fake), "WECHAT_PASSIVE_REPLY_SECONDS": 0.0}


def _late(db: Session) -> list[OutboxMessage]:
    db.rollback()  # end the read: see what the request and the worker committed
    db.expire_all()
    return list(
        db.scalars(select(OutboxMessage).where(OutboxMessage.template == "wechat_late_reply"))
    )


def test_a_slow_answer_is_sent_by_the_worker_once(
    wx: FakeWeChat, db: Session, fake: FakeApi, worker: Worker
) -> None:
    first = wx.post(_text("我要投诉", "9001"))
    assert first.get_data(as_text=True) == "success"  # nothing passive: WeChat shows nothing yet
    (queued,) = _late(db)
    assert queued.recipient == USER and queued.channel == "wechat"
    # WeChat resends (it did not get the answer in time): acted on once, answered "success"
    again = wx.post(_text("我要投诉", "9001"))
    assert again.get_data(as_text=True) == "success"
    assert len(_late(db)) == 1
    db.commit()
    worker.drain()
    (sent,) = fake.custom_messages
    assert sent["touser"] == USER
    assert sent["text"]["content"] == queued.params["text"]
    assert "投诉" in sent["text"]["content"] or "诉求" in sent["text"]["content"]
    assert [m.status for m in _late(db)] == ["sent"]


def test_an_answer_in_time_is_passive_and_queues_nothing(
    wx: FakeWeChat, db: Session, app: Any
) -> None:
    app.config["WECHAT_PASSIVE_REPLY_SECONDS"] = 4.0
    assert wx.say("我要投诉")
    assert _late(db) == []


def _text(text: str, msg_id: str) -> str:
    return text_message(USER, text, account=ACCOUNT, now=clock.now(), msg_id=msg_id)
