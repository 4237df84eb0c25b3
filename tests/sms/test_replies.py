"""The provider's reply callback (回复短信): the secret token and the source allowlist, a 1/2/3
answering the survey of the number's latest survey SMS, everything else recorded without changing
a survey, resends acted on once, and bad input refused with a 4xx that changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.models import ChatMessage, Conversation
from delivery.models import OutboxMessage
from delivery.outbox import enqueue_message
from delivery.worker import Worker
from tickets.models import Survey, Ticket, TicketEvent

from .conftest import LINK, REPLY_TOKEN, fresh
from .fake_provider import FakeTencentSms

PHONE = "13800138000"


@pytest.fixture
def surveyed(make_ticket: Callable[..., Ticket], worker: Worker) -> Ticket:
    """A caller's ticket waiting for its callback survey, the survey SMS sent."""
    ticket = make_ticket("callback", channel="phone")
    worker.drain()
    return ticket


def _counts(db: Session) -> dict[str, int]:
    fresh(db)
    return {
        model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
        for model in (ChatMessage, Conversation, Survey, TicketEvent, OutboxMessage, Ticket)
    }


def _ticket(db: Session, ticket: Ticket) -> Ticket:
    fresh(db)
    found = db.get(Ticket, ticket.id)
    assert found is not None
    return found


def _sms_replies(db: Session) -> list[dict[str, Any]]:
    fresh(db)
    rows = db.scalars(
        select(ChatMessage)
        .join(Conversation, Conversation.id == ChatMessage.conversation_id)
        .where(Conversation.channel == "sms")
        .order_by(ChatMessage.id)
    )
    return [{"text": m.text, **(m.data or {}).get("sms_reply", {})} for m in rows]


@pytest.mark.parametrize(
    ("text", "satisfaction"),
    [
        ("1", "satisfied"),
        ("2", "basically_satisfied"),
        (" 3 ", "unsatisfied"),
        ("满意", "satisfied"),
    ],
)
def test_a_rating_answers_the_survey_of_the_numbers_survey_sms(
    surveyed: Ticket,
    reply: Callable[..., Any],
    db: Session,
    worker: Worker,
    fake: FakeTencentSms,
    text: str,
    satisfaction: str,
) -> None:
    answer = reply(text)
    assert answer.status_code == 200
    assert answer.get_json() == {"result": 0, "errmsg": "OK"}
    ticket = _ticket(db, surveyed)
    assert ticket.stage == "closed" and ticket.close_reason == "surveyed"
    assert ticket.satisfaction == satisfaction
    assert ticket.needs_supervisor is (satisfaction == "unsatisfied")
    survey = db.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    assert survey is not None and survey.method == "channel" and survey.answered_at is not None
    assert _sms_replies(db) == [
        {
            "text": text,
            "outcome": "answered",
            "ticket": ticket.number,
            "time": answer_time(db),
            "sign": "珠海12345",
            "extend": "",
        }
    ]
    # the caller hears that the ticket is closed, by SMS
    worker.drain()
    assert fake.sent[-1].template_id == "2005"
    assert fake.sent[-1].params == [ticket.number, "已完成回访"]


def answer_time(db: Session) -> int:
    message = db.scalars(select(ChatMessage)).first()
    assert message is not None and message.data is not None
    return int(message.data["sms_reply"]["time"])


def test_a_resent_reply_is_acted_on_once(
    surveyed: Ticket, reply: Callable[..., Any], db: Session
) -> None:
    first = reply("3", at=1773108000)
    after_first = _counts(db)
    again = reply("3", at=1773108000)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert _counts(db) == after_first
    assert [r["outcome"] for r in _sms_replies(db)] == ["answered"]
    events = db.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == surveyed.id))
    assert list(events).count("answer_survey") == 1


def test_a_second_rating_changes_nothing(
    surveyed: Ticket, reply: Callable[..., Any], db: Session
) -> None:
    reply("1", at=1773108000)
    reply("3", at=1773108060)
    ticket = _ticket(db, surveyed)
    assert ticket.satisfaction == "satisfied"
    assert [r["outcome"] for r in _sms_replies(db)] == ["answered", "survey_closed"]


def test_other_text_is_recorded_and_changes_no_survey(
    surveyed: Ticket, reply: Callable[..., Any], db: Session
) -> None:
    assert reply("路灯还是没修好，4").status_code == 200
    assert reply("TD").status_code == 200
    ticket = _ticket(db, surveyed)
    assert ticket.stage == "callback" and ticket.satisfaction is None
    assert [(r["text"], r["outcome"]) for r in _sms_replies(db)] == [
        ("路灯还是没修好，4", "recorded"),
        ("TD", "recorded"),
    ]


def test_a_rating_from_a_number_that_got_no_survey_changes_nothing(
    surveyed: Ticket, reply: Callable[..., Any], db: Session
) -> None:
    assert reply("1", mobile="13900139000").status_code == 200
    assert reply("1", mobile="5551234", nationcode="1").status_code == 200
    assert _ticket(db, surveyed).stage == "callback"
    assert [r["outcome"] for r in _sms_replies(db)] == ["no_survey", "no_survey"]


def test_the_latest_survey_sms_of_the_number_is_the_one_answered(
    make_ticket: Callable[..., Ticket], worker: Worker, reply: Callable[..., Any], db: Session
) -> None:
    older = make_ticket("callback", channel="phone")
    worker.drain()
    newer = make_ticket("callback", channel="phone", description="路灯坏了一个星期，晚上很黑。")
    worker.drain()
    reply("2")
    assert _ticket(db, newer).satisfaction == "basically_satisfied"
    assert _ticket(db, older).stage == "callback"


def test_a_survey_sms_not_yet_sent_is_not_answered(
    make_ticket: Callable[..., Ticket], reply: Callable[..., Any], db: Session
) -> None:
    ticket = make_ticket("callback", channel="phone")  # the worker has not sent anything
    reply("1")
    assert _ticket(db, ticket).stage == "callback"


def test_a_wrong_token_is_refused_and_changes_nothing(
    surveyed: Ticket, reply: Callable[..., Any], db: Session
) -> None:
    before = _counts(db)
    for token in ("wrong", REPLY_TOKEN + "x", REPLY_TOKEN[:-1]):
        assert reply("1", token=token).status_code == 403
    assert _counts(db) == before


def test_the_source_allowlist(
    surveyed: Ticket, app: Flask, client: FlaskClient, db: Session
) -> None:
    app.config["SMS_REPLY_ALLOWED_IPS"] = ["10.20.0.0/16", "192.0.2.7"]
    body = {"extend": "", "mobile": PHONE, "nationcode": "86", "sign": "s", "text": "1", "time": 1}
    url = f"/sms/replies/{REPLY_TOKEN}"
    before = _counts(db)
    assert client.post(url, json=body).status_code == 403  # from 127.0.0.1
    assert _counts(db) == before
    allowed = client.post(url, json=body, environ_base={"REMOTE_ADDR": "10.20.3.4"})
    assert allowed.status_code == 200
    assert _ticket(db, surveyed).satisfaction == "satisfied"
    app.config["SMS_REPLY_ALLOWED_IPS"] = "192.0.2.0/24, 10.20.0.0/16"  # as the environment gives
    again = {**body, "text": "谢谢", "time": 2}
    assert (
        client.post(url, json=again, environ_base={"REMOTE_ADDR": "10.20.9.9"}).status_code == 200
    )
    assert client.post(url, json=again).status_code == 403
    app.config["SMS_REPLY_ALLOWED_IPS"] = ""  # set but empty: no allowlist
    assert client.post(url, json={**again, "time": 3}).status_code == 200
    app.config["SMS_REPLY_ALLOWED_IPS"] = ["not a network"]
    assert client.post(url, json={**again, "time": 4}).status_code == 403


GARBAGE: list[tuple[Any, str]] = [
    (b"not json", "application/json"),
    (b"", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"1"', "application/json"),
    (b'{"mobile": "13800138000", "nationcode": "86", "time": 1}', "application/json"),
    (b'{"mobile": 13800138000, "nationcode": "86", "text": "1", "time": 1}', "application/json"),
    (b'{"mobile": "1380013800x", "nationcode": "86", "text": "1", "time": 1}', "application/json"),
    (b'{"mobile": "13800138000", "nationcode": "86", "text": "1", "time": "1"}', "text/plain"),
    (b'{"mobile": "13800138000", "nationcode": "86", "text": "1", "time": true}', "text/plain"),
    (b'{"mobile": "13800138000", "nationcode": "86", "text": "1", "time": 1e99}', "text/plain"),
    (b'{"mobile": "13800138000", "nationcode": "86", "text": "1\\u0000", "time": 1}', "text/plain"),
    (b'{"mobile": "13800138000", "nationcode": "86", "text": "\\ud800", "time": 1}', "text/plain"),
    (b'{"mobile": "13800138000", "nationcode": "86", "text": "1", "time": 1, "sign": 5}', "x/y"),
    (b"[" * 5000 + b"]" * 5000, "text/plain"),
    (b"\xff\xfe", "text/plain"),
]


@pytest.mark.parametrize(("body", "content_type"), GARBAGE)
def test_garbage_is_a_4xx_that_changes_nothing(
    surveyed: Ticket, client: FlaskClient, db: Session, body: bytes, content_type: str
) -> None:
    before = _counts(db)
    answer = client.post(f"/sms/replies/{REPLY_TOKEN}", data=body, content_type=content_type)
    assert 400 <= answer.status_code < 500
    assert _counts(db) == before
    assert _ticket(db, surveyed).stage == "callback"


def test_a_body_too_large_is_413(surveyed: Ticket, client: FlaskClient, db: Session) -> None:
    before = _counts(db)
    big = b'{"text": "' + b"1" * 20_000 + b'"}'
    answer = client.post(f"/sms/replies/{REPLY_TOKEN}", data=big, content_type="application/json")
    assert answer.status_code == 413
    assert _counts(db) == before


def test_the_reminder_sms_links_and_is_answered_like_the_first(
    surveyed: Ticket,
    worker: Worker,
    fake: FakeTencentSms,
    reply: Callable[..., Any],
    client: FlaskClient,
    db: Session,
) -> None:
    from tickets.notify import ticket_params

    ticket = _ticket(db, surveyed)
    survey = db.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    assert survey is not None
    enqueue_message(
        db,
        idempotency_key=f"survey-reminder:{survey.id}",
        audience="citizen",
        channel="sms",
        recipient=PHONE,
        template="survey_reminder",
        params=ticket_params(ticket, survey_id=survey.id),
        ticket_id=ticket.id,
    )
    db.commit()
    worker.drain()
    reminder = fake.sent[-1]
    assert reminder.template_id == "2004"
    match = LINK.search(reminder.text)
    assert match is not None
    assert client.get(match.group(1)).status_code == 302
    reply("2")
    assert _ticket(db, surveyed).satisfaction == "basically_satisfied"
