"""The outbox's Telegram sender against the fake Bot API, through the real worker: a staff chat
reply and status pushes delivered back to the chat, the survey with rating buttons whose press
(over the webhook) answers it, a blocked bot, 429 with retry_after, and the other failures."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.handoff import pick_up_chat, send_staff_reply
from bot.engine.models import Conversation
from bot.telegram.api import BotApi
from bot.telegram.sender import TelegramSender, register_senders
from core import clock
from delivery import senders as registry
from delivery.models import OutboxMessage
from delivery.outbox import enqueue_message
from delivery.senders import Outgoing, PermanentFailure, TemporaryFailure
from delivery.worker import Worker
from directory.citizens import find_identity
from directory.models import StaffUser
from tickets.models import Stage, Ticket

from .conftest import CITIZEN, Hook
from .fake_bot_api import TOKEN, FakeBotApi

CHAT = str(CITIZEN)
BLOCKED = "Forbidden: bot was blocked by the user"
_ids = itertools.count(1)


def queue(db: Session, text: str = "您好", chat: str = CHAT) -> OutboxMessage:
    message = enqueue_message(
        db,
        idempotency_key=f"test:{next(_ids)}",
        audience="citizen",
        channel="telegram",
        recipient=chat,
        template="chat_notice",
        params={"text": text},
    )
    db.commit()
    return message


def reread(db: Session, message: OutboxMessage) -> OutboxMessage:
    db.rollback()
    db.expire_all()
    row = db.get(OutboxMessage, message.id)
    assert row is not None
    db.commit()  # end the read (SQLite: the bot and the worker write next); the row stays loaded
    return row


def outgoing(**kw: Any) -> Outgoing:
    values: dict[str, Any] = {
        "id": next(_ids),
        "idempotency_key": f"k{next(_ids)}",
        "audience": "citizen",
        "channel": "telegram",
        "recipient": CHAT,
        "template": "chat_notice",
        "params": {},
        "locale": "zh_CN",
        "ticket_id": None,
        "attempts": 1,
        "text": "热线消息：您好",
        "extra": {},
    }
    values.update(kw)
    return Outgoing(**values)


@pytest.fixture
def sender(app: Flask) -> TelegramSender:
    registered = registry.sender_for("telegram")
    assert isinstance(registered, TelegramSender)
    return registered


def test_the_sender_is_registered_only_with_a_token(
    app: Flask, sender: TelegramSender, fake: FakeBotApi
) -> None:
    assert sender.api.api_base == fake.url
    assert register_senders({"TELEGRAM_TOKEN": None}, app.extensions["hotline_db"].session) is False
    assert registry.sender_for("telegram") is None


def test_a_staff_reply_reaches_the_telegram_chat(
    hook: Hook, fake: FakeBotApi, db: Session, worker: Worker, staff: dict[str, StaffUser]
) -> None:
    assert hook.post(fake.text(CITIZEN, "/human")).status_code == 200
    assert "排队" in fake.texts(CITIZEN)[-1]
    db.rollback()
    conversation = db.scalars(select(Conversation)).one()
    assert conversation.handoff_id is not None
    handoff = pick_up_chat(db, conversation.handoff_id, actor=staff["operator"])
    send_staff_reply(db, handoff, "您好，请讲。", actor=staff["operator"])
    db.commit()
    before = len(fake.sent())
    assert worker.drain() == 2  # the pick-up notice and the reply
    pushed = fake.sent()[before:]
    assert {p["chat_id"] for p in pushed} == {CHAT}
    assert pushed[-1]["text"] == f"{staff['operator'].display_name}（人工客服）：您好，请讲。"
    assert "reply_markup" not in pushed[-1]
    db.rollback()
    assert set(db.scalars(select(OutboxMessage.status))) == {"sent"}
    # The citizen's answer goes to the staff member; the bot stays quiet.
    assert hook.post(fake.text(CITIZEN, "我家楼下的路灯不亮")).status_code == 200
    assert len(fake.sent()) == before + 2


def test_status_pushes_and_the_survey_come_back_and_a_rating_press_closes_the_ticket(
    hook: Hook,
    fake: FakeBotApi,
    db: Session,
    worker: Worker,
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = make_ticket("callback", channel="telegram", external_id=CHAT)
    worker.drain()
    received, dispatched, survey = fake.sent(CITIZEN)  # and the reviewed reply with the survey
    assert ticket.number in received["text"] and ticket.query_code in received["text"]
    assert "市城市管理和综合执法局" in dispatched["text"]
    assert "已处理完毕" in survey["text"] and "/survey/" in survey["text"]
    assert "reply_markup" not in received and "reply_markup" not in dispatched
    rows = survey["reply_markup"]["inline_keyboard"]
    assert [(b["text"], b["callback_data"]) for b in rows[0]] == [
        ("满意", "r:satisfied"),
        ("基本满意", "r:basically_satisfied"),
        ("不满意", "r:unsatisfied"),
    ]

    press = fake.callback(CITIZEN, "r:basically_satisfied")
    assert hook.post(press).status_code == 200
    assert (
        fake.calls_to("answerCallbackQuery")[0].params["callback_query_id"]
        == press["callback_query"]["id"]
    )
    thanks = fake.sent(CITIZEN)[-1]
    assert "基本满意" in thanks["text"] and ticket.number in thanks["text"]
    assert hook.post(fake.callback(CITIZEN, "c:跳过")).status_code == 200
    assert "已记录" in fake.texts(CITIZEN)[-1]
    db.rollback()
    db.expire_all()
    closed = db.get(Ticket, ticket.id)
    assert closed is not None and closed.stage == Stage.CLOSED
    assert closed.satisfaction == "basically_satisfied"
    db.commit()
    worker.drain()
    assert ticket.number in fake.texts(CITIZEN)[-1] and len(fake.sent(CITIZEN)) == 6
    assert "已完成回访" in fake.texts(CITIZEN)[-1]  # the closing notice


def test_a_blocked_bot_is_a_dead_letter_and_the_chat_unreachable_until_it_writes(
    hook: Hook, fake: FakeBotApi, db: Session, worker: Worker
) -> None:
    assert hook.post(fake.text(CITIZEN, "你好")).status_code == 200
    fake.fail("sendMessage", 403, BLOCKED)
    first = queue(db, "第一条")
    assert worker.drain() == 1
    row = reread(db, first)
    assert row.status == "dead" and row.last_error is not None and "blocked" in row.last_error
    identity = find_identity(db, "telegram", CHAT)
    assert identity is not None and identity.unreachable_at is not None
    db.commit()
    calls = len(fake.calls_to("sendMessage"))
    second = queue(db, "第二条")
    worker.drain()
    assert reread(db, second).status == "dead"
    assert len(fake.calls_to("sendMessage")) == calls  # not even tried
    # The citizen unblocks and writes: reachable again.
    with clock.frozen(clock.now() + dt.timedelta(seconds=5)):
        assert hook.post(fake.text(CITIZEN, "你好")).status_code == 200
        third = queue(db, "第三条")
        worker.drain()
    assert reread(db, third).status == "sent"
    assert fake.texts(CITIZEN)[-1].endswith("第三条")


def test_429_is_retried_after_the_retry_after_telegram_gave(
    fake: FakeBotApi, db: Session, worker: Worker
) -> None:
    start = clock.now()
    with clock.frozen(start):
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        message = queue(db)
        assert worker.drain() == 1
        row = reread(db, message)
        assert row.status == "pending" and row.attempts == 1
        assert row.next_attempt_at == start + dt.timedelta(seconds=7)  # not the 15-30 s backoff
        assert row.last_error is not None and "retry after 7" in row.last_error
        assert worker.drain() == 0  # not due yet
    with clock.frozen(start + dt.timedelta(seconds=7)):
        assert worker.drain() == 1
    row = reread(db, message)
    assert row.status == "sent" and row.attempts == 2
    assert len(fake.sent(CITIZEN)) == 2  # the refused call and the accepted one


@pytest.mark.parametrize(
    ("status", "description", "outcome"),
    [
        (500, "Internal Server Error", TemporaryFailure),
        (502, "", TemporaryFailure),  # a gateway's HTML page
        (401, "Unauthorized", TemporaryFailure),  # the token: an operator fixes it
        (400, "Bad Request: chat not found", PermanentFailure),
        (403, "Forbidden: user is deactivated", PermanentFailure),
    ],
)
def test_failures_are_temporary_or_permanent(
    sender: TelegramSender, fake: FakeBotApi, status: int, description: str, outcome: type
) -> None:
    fake.fail("sendMessage", status, description)
    with pytest.raises(outcome) as raised:
        sender(outgoing())
    assert getattr(raised.value, "retry_after", None) is None


def test_an_unreachable_api_is_temporary(app: Flask) -> None:
    sender = TelegramSender(
        BotApi(TOKEN, api_base="http://127.0.0.1:9", timeout=2),
        app.extensions["hotline_db"].session,
    )
    with pytest.raises(TemporaryFailure, match="cannot reach"):
        sender(outgoing())


def test_a_long_text_is_clipped_to_telegrams_limit(
    sender: TelegramSender, fake: FakeBotApi
) -> None:
    sender(outgoing(text="长" * 5000))
    [sent] = fake.sent(CITIZEN)
    assert len(sent["text"]) == 4096 and sent["text"].endswith("…")


def test_the_survey_buttons_are_in_the_citizens_language(
    sender: TelegramSender, fake: FakeBotApi
) -> None:
    sender(outgoing(template="survey_reminder", locale="en", extra={"survey_link": "https://x"}))
    [sent] = fake.sent(CITIZEN)
    labels = [b["text"] for b in sent["reply_markup"]["inline_keyboard"][0]]
    assert labels == ["Satisfied", "Basically satisfied", "Unsatisfied"]
