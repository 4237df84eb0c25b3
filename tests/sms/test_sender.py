"""The outbox's SMS sender against the fake Tencent Cloud SMS API, through the real worker:
template ids and parameters per outbox template, the provider's "never" codes (dead letters, a
blacklisted number marked unreachable), its "later" codes and transport failures (retries), and
one change making exactly one SMS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from delivery.models import OutboxMessage
from delivery.outbox import enqueue_message
from delivery.senders import Outgoing, PermanentFailure, TemporaryFailure
from delivery.worker import Worker
from directory.citizens import find_identity
from sms.links import make_survey_code
from sms.sender import SmsSender, national_number, parse_templates
from tickets.models import Ticket

from .conftest import APPROVED, TEMPLATE_IDS, fresh
from .fake_provider import FakeTencentSms

PHONE = "13800138000"


def _messages(db: Session, ticket: Ticket | None = None) -> list[OutboxMessage]:
    fresh(db)
    query = select(OutboxMessage).where(OutboxMessage.channel == "sms")
    if ticket is not None:
        query = query.where(OutboxMessage.ticket_id == ticket.id)
    return list(db.scalars(query.order_by(OutboxMessage.id)))


def _queue(db: Session, template: str = "ticket_received", phone: str = PHONE, **params: Any):
    db.rollback()  # no stale read transaction: SQLite would refuse to upgrade it to a write
    message = enqueue_message(
        db,
        idempotency_key=f"test:{template}:{phone}:{len(params)}",
        audience="citizen",
        channel="sms",
        recipient=phone,
        template=template,
        params={"number": "260310000001", "query_code": "K7M2QX", **params},
    )
    db.commit()
    return message


def test_a_phone_callers_ticket_reaches_them_by_sms_with_its_template(
    make_ticket: Callable[..., Ticket], worker: Worker, fake: FakeTencentSms, db: Session
) -> None:
    ticket = make_ticket("dept_review", channel="phone")
    worker.drain()  # received and dispatched to the caller, assigned to the department
    assert [m.status for m in _messages(db, ticket)] == ["sent", "sent"]
    received, dispatched = fake.sent
    assert received.phone == "+86" + PHONE
    assert received.template_id == TEMPLATE_IDS["ticket_received"]
    assert received.params == [ticket.number, ticket.query_code]
    assert received.sign_name == "珠海12345"
    assert (
        received.text
        == f"【珠海12345】您的诉求已受理，工单号{ticket.number}，查询码{ticket.query_code}。"
    )
    assert dispatched.template_id == TEMPLATE_IDS["ticket_dispatched"]
    assert dispatched.params == [ticket.number, ticket.department.name]
    # the idempotency key travels as SessionContext
    keys = [m.idempotency_key for m in _messages(db, ticket)]
    assert [s.session_context for s in fake.sent] == keys


def test_the_survey_sms_carries_a_short_signed_code_and_no_url_parameter(
    make_ticket: Callable[..., Ticket], worker: Worker, fake: FakeTencentSms, app: Flask
) -> None:
    ticket = make_ticket("callback", channel="phone")
    worker.drain()
    answered = [s for s in fake.sent if s.template_id == TEMPLATE_IDS["ticket_answered"]]
    assert len(answered) == 1
    number, department, code = answered[0].params
    survey_id = next(
        m.params["survey_id"] for m in _messages_of(app, ticket) if m.template == "ticket_answered"
    )
    assert (number, department) == (ticket.number, ticket.department.name)
    assert code == make_survey_code(app.config["SECRET_KEY"], survey_id, ticket.number)
    assert len(code) <= 17 and "/" not in code
    assert f"/s/{code}" in answered[0].text


def _messages_of(app: Flask, ticket: Ticket) -> list[OutboxMessage]:
    with app.extensions["hotline_db"].session() as session:
        return list(
            session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.ticket_id == ticket.id, OutboxMessage.channel == "sms"
                )
            )
        )


def test_a_retry_after_a_rate_limit_sends_one_sms(
    db: Session, worker: Worker, fake: FakeTencentSms, later: Callable[..., int]
) -> None:
    _queue(db)
    fake.fail("LimitExceeded.PhoneNumberThirtySecondLimit")
    worker.drain()
    (message,) = _messages(db)
    assert message.status == "pending"
    assert "LimitExceeded.PhoneNumberThirtySecondLimit" in (message.last_error or "")
    assert fake.sent == []
    assert worker.drain() == 0  # backing off: not due yet
    later()
    later()  # and nothing more once it is sent
    (message,) = _messages(db)
    assert message.status == "sent", (message.last_error, fake.codes())
    assert len(fake.sent) == 1
    assert fake.codes() == ["LimitExceeded.PhoneNumberThirtySecondLimit", "Ok"]


@pytest.mark.parametrize(
    "script",
    [
        lambda fake: fake.fail_http(502),
        lambda fake: fake.fail_http(503),
        lambda fake: fake.fail_request("InternalError.Timeout"),
        lambda fake: fake.fail_request("RequestLimitExceeded"),
        lambda fake: fake.fail("LimitExceeded.PhoneNumberDailyLimit"),
    ],
    ids=["502", "503", "internal-timeout", "request-limit", "daily-limit"],
)
def test_temporary_failures_retry_and_the_sender_never_retries_by_itself(
    db: Session,
    worker: Worker,
    fake: FakeTencentSms,
    later: Callable[..., int],
    script: Callable[[FakeTencentSms], None],
) -> None:
    _queue(db)
    script(fake)
    worker.drain()
    assert len(fake.requests) == 1  # one attempt is one request
    assert _messages(db)[0].status == "pending"
    later()
    assert _messages(db)[0].status == "sent"
    assert len(fake.requests) == 2 and len(fake.sent) == 1


def test_a_timeout_is_temporary(db: Session, worker: Worker, fake: FakeTencentSms, app: Flask):
    _queue(db)
    fake.delay = app.config["SMS_TIMEOUT_SECONDS"] + 1.0
    worker.drain()
    (message,) = _messages(db)
    assert message.status == "pending"
    assert "Timeout" in (message.last_error or "")


def test_the_provider_down_is_temporary(app: Flask, sender: SmsSender) -> None:
    sender.api.url = "http://127.0.0.1:9/"  # discard port: connection refused
    with pytest.raises(TemporaryFailure):
        sender(_outgoing())


def _outgoing(template: str = "ticket_received", recipient: str = PHONE, **params: Any):
    return Outgoing(
        id=1,
        idempotency_key="k-1",
        audience="citizen",
        channel="sms",
        recipient=recipient,
        template=template,
        params={"number": "260310000001", "query_code": "K7M2QX", **params},
        locale="zh_CN",
        ticket_id=None,
        attempts=1,
        text="(rendered)",
    )


@pytest.mark.parametrize(
    "code",
    [
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "FailedOperation.ContainSensitiveWord",
        "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
    ],
)
def test_never_codes_are_dead_letters_at_once(
    db: Session, worker: Worker, fake: FakeTencentSms, code: str
) -> None:
    _queue(db)
    fake.fail(code)
    worker.drain()
    (message,) = _messages(db)
    assert message.status == "dead"
    assert code in (message.last_error or "")
    assert message.attempts == 1


def test_an_unapproved_template_id_is_refused_by_the_provider_and_dead(
    db: Session, worker: Worker, fake: FakeTencentSms
) -> None:
    del fake.templates[TEMPLATE_IDS["ticket_received"]]
    _queue(db)
    worker.drain()
    assert _messages(db)[0].status == "dead"
    assert fake.codes() == ["FailedOperation.TemplateIncorrectOrUnapproved"]


def test_a_template_without_an_sms_template_is_dead_without_a_request(
    db: Session, worker: Worker, fake: FakeTencentSms
) -> None:
    _queue(db, "department_ticket_urgent")
    worker.drain()
    (message,) = _messages(db)
    assert message.status == "dead"
    assert "SMS_TEMPLATES" in (message.last_error or "")
    assert fake.requests == []


def test_a_blacklisted_number_is_marked_unreachable_until_it_writes_again(
    db: Session, worker: Worker, fake: FakeTencentSms, reply
) -> None:
    fake.blacklist.add(PHONE)
    _queue(db)
    worker.drain()
    assert _messages(db)[0].status == "dead"
    assert fake.codes() == ["FailedOperation.PhoneNumberInBlacklist"]
    identity = find_identity(fresh(db), "sms", PHONE)
    assert identity is not None and identity.unreachable_at is not None
    # the next message to that number is dead without asking the provider
    _queue(db, "ticket_closed", close_reason="surveyed")
    worker.drain()
    assert [m.status for m in _messages(db)] == ["dead", "dead"]
    assert len(fake.requests) == 1
    # the citizen replies (and asked the provider to lift the block): reachable again
    fake.blacklist.clear()
    assert reply("你好").status_code == 200
    _queue(db, "ticket_dispatched", department="城管局")
    worker.drain()
    assert [m.status for m in _messages(db)] == ["dead", "dead", "sent"]
    assert fake.sent[0].params == ["260310000001", "城管局"]


def test_a_wrong_secret_key_is_refused_by_the_fakes_own_signature_check(
    db: Session, worker: Worker, fake: FakeTencentSms
) -> None:
    fake.secret_key = "another-key"
    _queue(db)
    worker.drain()
    assert fake.codes() == ["AuthFailure.SignatureFailure"]
    assert _messages(db)[0].status == "pending"  # credentials are an operator's fix: retried
    assert fake.sent == []


def test_parameters_are_short_words_in_the_citizens_language(sender: SmsSender) -> None:
    message = _outgoing("ticket_closed", close_reason="surveyed")
    assert [sender.value(s, message) for s in ("number", "close_reason")] == [
        "260310000001",
        "已完成回访",
    ]
    assert sender.value("department", _outgoing()) == "12345热线"
    assert sender.value("kind", _outgoing(kind="complaint")) == "投诉"
    with pytest.raises(PermanentFailure):
        sender.value("survey_code", _outgoing())


def test_numbers_are_mainland_mobiles() -> None:
    assert national_number("13800138000") == "13800138000"
    assert national_number("+86 138-0013-8000") == "13800138000"
    assert national_number("008613800138000") == "13800138000"
    assert national_number("02512345678") is None
    assert national_number("") is None


def test_not_a_mobile_number_is_dead_without_a_request(sender: SmsSender, fake) -> None:
    with pytest.raises(PermanentFailure):
        sender(_outgoing(recipient="0756-1234567"))
    assert fake.requests == []


def test_templates_config() -> None:
    assert parse_templates('{"ticket_received": "2001"}')["ticket_received"].params == (
        "number",
        "query_code",
    )
    custom = parse_templates(
        {"ticket_closed": {"template_id": "9", "params": ["number", "stage", "close_reason"]}}
    )
    assert custom["ticket_closed"].template_id == "9"
    assert custom["ticket_closed"].params == ("number", "stage", "close_reason")
    assert parse_templates(None) == {}
    for bad in (
        "[1]",
        {"ticket_received": ""},
        {"chat_staff_reply": "7"},  # no default parameters: they must be given
        {"ticket_closed": {"template_id": "9", "params": ["text"]}},  # free text is not a source
    ):
        with pytest.raises(ValueError):
            parse_templates(bad)
    assert set(APPROVED) == set(TEMPLATE_IDS.values())
