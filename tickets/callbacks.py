"""Callback surveys (回访) nobody answers: a reminder, then closing as "no response".

Counting follows the deadlines' convention (期间开始之日不计算在内): the day the survey went out
does not count, and a period of N working days lasts to the end of the N-th working day after it.

- **Reminder** once the first working day after sending has passed without an answer
  (sent Monday → reminded on Wednesday, having had all of Tuesday).
- **Auto-close** (choice, see the spec) once the third working day has passed
  (sent Monday → closed on Friday), with :func:`tickets.workflow.close_without_response`.

Both pick their surveys with one indexed query each: "the N-th working day after the sent date
has passed" is the same as "sent before the N-th latest working day up to yesterday", a date
computed once from the calendar.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.outbox import enqueue_message
from directory.models import ChannelIdentity
from tickets import notify, workflow
from tickets.access import SYSTEM
from tickets.calendar import load_calendar, local_today
from tickets.models import Stage, Survey, Ticket
from tickets.sla import WorkCalendar

REMINDER_AFTER_WORKDAYS = 1
CLOSE_AFTER_WORKDAYS = 3


def sent_before(today: dt.date, workdays: int, calendar: WorkCalendar) -> dt.date:
    """Surveys sent before this date have had ``workdays`` full working days by ``today``."""
    day = today - dt.timedelta(days=1)
    for n in range(workdays):
        if n:
            day -= dt.timedelta(days=1)
        day = calendar.previous_workday(day, inclusive=True)
    return day


def _open_surveys(session: Session, sent_before_date: dt.date, limit: int) -> list[Survey]:
    return list(
        session.scalars(
            select(Survey)
            .join(Ticket, Ticket.id == Survey.ticket_id)
            .where(
                Survey.answered_at.is_(None),
                Survey.sent_date < sent_before_date,
                Ticket.stage == Stage.CALLBACK.value,
            )
            .order_by(Survey.sent_date, Survey.id)
            .limit(limit)
        )
    )


def close_unanswered_surveys(
    session: Session, *, today: dt.date | None = None, limit: int = 500
) -> int:
    """Close tickets whose survey has gone unanswered for 3 working days; returns how many."""
    today = today or local_today(session)
    boundary = sent_before(today, CLOSE_AFTER_WORKDAYS, load_calendar(session))
    closed = 0
    for survey in _open_surveys(session, boundary, limit):
        ticket = survey.ticket
        if ticket.stage != Stage.CALLBACK:
            continue
        workflow.close_without_response(session, ticket, actor=SYSTEM)
        closed += 1
    return closed


def send_survey_reminders(
    session: Session, *, today: dt.date | None = None, limit: int = 1000
) -> int:
    """Remind citizens who have not answered for one working day (once per survey)."""
    today = today or local_today(session)
    calendar = load_calendar(session)
    boundary = sent_before(today, REMINDER_AFTER_WORKDAYS, calendar)
    close_boundary = sent_before(today, CLOSE_AFTER_WORKDAYS, calendar)
    rows = session.execute(
        select(Survey, Ticket)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(
            Survey.answered_at.is_(None),
            Survey.reminded_at.is_(None),
            Survey.sent_date < boundary,
            Survey.sent_date >= close_boundary,  # older ones are closed instead
            Ticket.stage == Stage.CALLBACK.value,
        )
        .order_by(Survey.sent_date, Survey.id)
        .limit(limit)
    ).all()
    # One query for the channel identities of the whole batch (no N+1).
    citizen_ids = {t.citizen_id for _, t in rows if t.citizen_id is not None}
    identities: dict[tuple[int, str], str] = {}
    if citizen_ids:
        for citizen_id, channel, external_id in session.execute(
            select(ChannelIdentity.citizen_id, ChannelIdentity.channel, ChannelIdentity.external_id)
            .where(ChannelIdentity.citizen_id.in_(citizen_ids))
            .order_by(ChannelIdentity.id)
        ):
            identities.setdefault((citizen_id, channel), external_id)
    now = clock.now()
    reminded = 0
    for survey, ticket in rows:
        address = notify.citizen_address(
            session, ticket, identity=lambda citizen, channel: identities.get((citizen, channel))
        )
        survey.reminded_at = now
        if address is None:
            continue
        channel, recipient = address
        enqueue_message(
            session,
            idempotency_key=f"survey-reminder:{survey.id}",
            audience="citizen",
            channel=channel,
            recipient=recipient,
            template="survey_reminder",
            params=notify.ticket_params(ticket, survey_id=survey.id),
            ticket_id=ticket.id,
        )
        reminded += 1
    session.flush()
    return reminded
