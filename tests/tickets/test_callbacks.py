"""Survey reminders after 1 working day and auto-close after 3, on the working-day calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.models import OutboxMessage
from tests.conftest import at
from tickets.calendar import load_calendar
from tickets.callbacks import close_unanswered_surveys, send_survey_reminders, sent_before
from tickets.models import HolidayOverride, Survey, Ticket
from tickets.sla import WorkCalendar

pytestmark = pytest.mark.date_matrix

D = dt.date


def _messages(db: Session, ticket: Ticket, template: str) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.ticket_id == ticket.id, OutboxMessage.template == template
            )
        )
    )


def _run(db: Session, day: dt.date) -> tuple[int, int]:
    with clock.frozen(at(day.year, day.month, day.day, 9)):
        closed = close_unanswered_surveys(db, today=day)
        reminded = send_survey_reminders(db, today=day)
        db.commit()
    return closed, reminded


def test_boundaries_skip_weekends_and_holidays() -> None:
    calendar = WorkCalendar({D(2026, 11, 30): False})  # a Monday made a holiday
    # Monday 23rd sent: Tuesday is the first working day → remind from Wednesday.
    assert sent_before(D(2026, 11, 25), 1, calendar) == D(2026, 11, 24)
    # Today Wednesday 2 Dec: yesterday Tue 1st; 3 working days back: Tue 1, Fri 27, Thu 26.
    assert sent_before(D(2026, 12, 2), 3, calendar) == D(2026, 11, 26)


def test_reminder_after_one_working_day_then_close_after_three(
    db: Session, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket("callback", when=at(2026, 11, 23, 10))  # Monday
    survey = db.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    assert survey is not None and survey.sent_date == D(2026, 11, 23)

    assert _run(db, D(2026, 11, 24)) == (0, 0)  # Tuesday: the first working day is not over
    assert _run(db, D(2026, 11, 25)) == (0, 1)  # Wednesday: reminded
    assert _run(db, D(2026, 11, 25)) == (0, 0)  # once only
    (reminder,) = _messages(db, ticket, "survey_reminder")
    assert reminder.params["survey_id"] == survey.id and reminder.channel == "web"
    assert _run(db, D(2026, 11, 26)) == (0, 0)  # Thursday: the third working day is running
    assert _run(db, D(2026, 11, 27)) == (1, 0)  # Friday: closed as no response

    db.refresh(ticket)
    assert (ticket.stage, ticket.close_reason) == ("closed", "no_response")
    db.refresh(survey)
    assert survey.method == "no_response"
    assert len(_messages(db, ticket, "ticket_closed")) == 1
    assert _run(db, D(2026, 11, 30)) == (0, 0)


def test_weekend_and_holiday_push_the_close_back(
    db: Session, make_ticket: Callable[..., Ticket]
) -> None:
    db.add(HolidayOverride(day=D(2026, 11, 30), is_workday=False, created_at=clock.now()))
    db.commit()
    ticket = make_ticket("callback", when=at(2026, 11, 26, 16))  # Thursday
    assert _run(db, D(2026, 11, 27)) == (0, 0)  # Friday is the first working day
    assert _run(db, D(2026, 11, 28)) == (0, 1)  # Saturday: Friday has passed unanswered
    # Working days after Thursday: Fri 27, (Mon 30 holiday) Tue 1, Wed 2 → close on Thu 3.
    assert _run(db, D(2026, 12, 2)) == (0, 0)
    assert _run(db, D(2026, 12, 3)) == (1, 0)
    db.refresh(ticket)
    assert ticket.close_reason == "no_response"


def test_answered_surveys_are_left_alone(db: Session, make_ticket: Callable[..., Ticket]) -> None:
    ticket = make_ticket("closed", when=at(2026, 11, 23, 10))
    assert _run(db, D(2026, 12, 10)) == (0, 0)
    db.refresh(ticket)
    assert ticket.close_reason == "surveyed"


def test_a_wechat_reminder_goes_to_the_openid(
    db: Session, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(
        "callback", channel="wechat", external_id="oOPENID1", when=at(2026, 11, 23)
    )
    assert _run(db, D(2026, 11, 25)) == (0, 1)
    (reminder,) = _messages(db, ticket, "survey_reminder")
    assert (reminder.channel, reminder.recipient) == ("wechat", "oOPENID1")


def test_a_survey_sent_today_is_reminded_then_closed_on_working_days(
    db: Session, make_ticket: Callable[..., Ticket], pinned_today: dt.date
) -> None:
    """Sent today, whatever today is: reminded the day after its first working day is over,
    closed as no response the day after its third."""
    ticket = make_ticket("callback")
    calendar = load_calendar(db)
    remind_on = calendar.add_workdays(pinned_today, 1) + dt.timedelta(days=1)
    close_on = calendar.add_workdays(pinned_today, 3) + dt.timedelta(days=1)
    day = pinned_today + dt.timedelta(days=1)
    while day <= close_on + dt.timedelta(days=3):
        closed, reminded = _run(db, day)
        assert (closed, reminded) == (int(day == close_on), int(day == remind_on)), day
        day += dt.timedelta(days=1)
    db.refresh(ticket)
    assert ticket.close_reason == "no_response"
