"""Which messages each ticket event causes, and supervision notices once per change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.models import OutboxMessage
from directory.models import StaffUser
from tests.conftest import at
from tickets import workflow
from tickets.models import Ticket
from tickets.notify import notify_supervision_changes
from tickets.supervision import refresh_supervision


def _messages(db: Session, ticket: Ticket) -> list[tuple[str, str, str]]:
    rows = db.scalars(
        select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id).order_by(OutboxMessage.id)
    )
    return [(m.template, m.channel, m.recipient) for m in rows]


def test_the_life_of_a_web_ticket(db: Session, make_ticket: Callable[..., Ticket]) -> None:
    ticket = make_ticket("closed")
    dept = f"department:{ticket.department_id}"
    assert _messages(db, ticket) == [
        ("ticket_received", "web", ticket.number),
        ("ticket_dispatched", "web", ticket.number),
        ("department_ticket_assigned", "staff", dept),
        ("ticket_answered", "web", ticket.number),
        ("ticket_closed", "web", ticket.number),
    ]
    answered = db.scalar(select(OutboxMessage).where(OutboxMessage.template == "ticket_answered"))
    assert answered is not None
    assert answered.params["survey_id"] and answered.params["reply"] == "已处理完毕。"


def test_phone_tickets_go_by_sms_and_wechat_by_openid(
    db: Session, make_ticket: Callable[..., Ticket]
) -> None:
    phone = make_ticket("submitted", channel="phone", phone="13912345678")
    assert _messages(db, phone) == [("ticket_received", "sms", "13912345678")]
    wechat = make_ticket("submitted", channel="wechat", external_id="oABC")
    assert _messages(db, wechat) == [("ticket_received", "wechat", "oABC")]


def test_unsatisfied_answer_tells_the_supervisors(
    db: Session, make_ticket: Callable[..., Ticket], staff: dict[str, StaffUser]
) -> None:
    ticket = make_ticket("callback")
    workflow.record_callback(db, ticket, actor=staff["operator"], satisfaction="unsatisfied")
    db.commit()
    assert ("supervisor_unsatisfied", "staff", "supervisors") in _messages(db, ticket)
    assert ticket.needs_supervisor


def _supervision(db: Session, ticket: Ticket) -> list[tuple[str, str]]:
    rows = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket.id, OutboxMessage.template.like("supervision_%"))
        .order_by(OutboxMessage.id)
    )
    return [(m.template, m.recipient) for m in rows]


def _refresh(db: Session, day: dt.date) -> int:
    with clock.frozen(at(day.year, day.month, day.day, 1)):
        refresh_supervision(db, today=day, full=True)
        count = notify_supervision_changes(db)
        db.commit()
    return count


def test_yellow_and_red_are_announced_once_per_change(
    db: Session, make_ticket: Callable[..., Ticket]
) -> None:
    # Dispatched Friday 20 Nov: the department review is due Wednesday 25 Nov.
    ticket = make_ticket("dept_review", when=at(2026, 11, 20, 14))
    other = make_ticket("dept_review", when=at(2026, 11, 24, 14), department="zhujian")
    dept = f"department:{ticket.department_id}"
    assert _refresh(db, dt.date(2026, 11, 25)) == 0  # warning: nobody is told
    assert _refresh(db, dt.date(2026, 11, 26)) == 1  # yellow
    assert _supervision(db, ticket) == [("supervision_yellow", dept)]
    assert _refresh(db, dt.date(2026, 11, 26)) == 0  # once per change
    assert _refresh(db, dt.date(2026, 11, 27)) == 1  # red: department and supervisors
    assert _supervision(db, ticket) == [
        ("supervision_yellow", dept),
        ("supervision_red", dept),
        ("supervision_red", "supervisors"),
    ]
    assert _refresh(db, dt.date(2026, 11, 30)) == 1  # the other ticket turns yellow
    assert _supervision(db, other) == [("supervision_yellow", f"department:{other.department_id}")]
    assert len(_supervision(db, ticket)) == 3
    db.refresh(ticket)
    assert ticket.supervision_notified == "red"
    red = db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket.id, OutboxMessage.recipient == "supervisors"
        )
    )
    assert red is not None
    assert red.params["number"] == ticket.number and red.params["due"] == "2026-11-25"
    assert red.params["department"] and red.status == "pending"
    assert red.created_at.tzinfo is not None
