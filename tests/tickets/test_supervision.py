"""The set-based supervision refresh agrees with the ladder and writes only changed rows."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from core import clock
from tests.conftest import at
from tickets.calendar import load_calendar, set_calendar_override
from tickets.models import Ticket
from tickets.sla import supervision_status
from tickets.supervision import refresh_supervision

pytestmark = pytest.mark.date_matrix

D = dt.date


def _statuses(db) -> dict[int, str | None]:
    db.expire_all()
    return dict(db.execute(select(Ticket.id, Ticket.supervision)).all())


def test_refresh_matches_the_ladder_for_many_due_dates(db, make_ticket) -> None:
    tickets = [make_ticket("dept_review") for _ in range(40)]
    closed = make_ticket("closed")
    start = D(2026, 9, 10)
    for offset, ticket in enumerate(tickets):
        ticket.due_date = start + dt.timedelta(days=offset)  # through the National Day holiday
        ticket.supervision = "normal"
    db.commit()
    today = D(2026, 10, 9)
    changed = refresh_supervision(db, today=today, full=True)
    db.commit()
    calendar = load_calendar(db)
    statuses = _statuses(db)
    for ticket in tickets:
        assert statuses[ticket.id] == supervision_status(ticket.due_date, today, calendar), (
            ticket.due_date
        )
    assert statuses[closed.id] is None
    assert changed == sum(1 for t in tickets if statuses[t.id] != "normal")
    # nothing changes on a second run the same day
    assert refresh_supervision(db, today=today, full=True) == 0


def test_daily_run_only_looks_at_near_due_dates_and_agrees_with_full(db, make_ticket) -> None:
    tickets = [make_ticket("handling") for _ in range(30)]
    for offset, ticket in enumerate(tickets):
        ticket.due_date = D(2026, 11, 1) + dt.timedelta(days=offset)
    db.commit()
    refresh_supervision(db, today=D(2026, 11, 10), full=True)
    db.commit()
    for day in range(11, 31):
        today = D(2026, 11, day)
        refresh_supervision(db, today=today)
        db.commit()
        incremental = _statuses(db)
        db.execute(update(Ticket).values(supervision=None).where(Ticket.due_date.is_not(None)))
        refresh_supervision(db, today=today, full=True)
        db.commit()
        assert _statuses(db) == incremental, today


def test_a_calendar_override_forces_a_full_sweep(db, make_ticket, staff) -> None:
    ticket = make_ticket("handling")
    ticket.due_date = D(2026, 11, 20)  # Friday
    db.commit()
    refresh_supervision(db, today=D(2026, 11, 23), full=True)  # Monday: yellow
    db.commit()
    assert _statuses(db)[ticket.id] == "yellow"
    # staff declare Monday a holiday: the ticket is back to "warning" after the next daily run
    set_calendar_override(db, D(2026, 11, 23), False, actor=staff["admin"], note="临时停工")
    db.commit()
    refresh_supervision(db, today=D(2026, 11, 23))
    db.commit()
    assert _statuses(db)[ticket.id] == "warning"


def test_status_is_set_at_dispatch_and_accept(db, make_ticket, departments, staff) -> None:
    ticket = make_ticket("submitted", when=at(2026, 11, 2))
    from tickets import workflow

    with clock.frozen(at(2026, 11, 2)):
        workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
    assert ticket.supervision == "normal" and ticket.due_date == D(2026, 11, 5)
    with clock.frozen(at(2026, 11, 9)):  # accepted late: the handling deadline is what counts now
        workflow.accept_ticket(db, ticket, actor=staff["dept"])
    assert ticket.due_date == ticket.handling_due and ticket.supervision == "normal"


def test_a_holiday_entered_later_moves_open_deadlines(db, make_ticket, staff) -> None:
    """2027 is not in the calendar package: staff enter a holiday after tickets were dispatched."""
    ticket = make_ticket("dept_review", kind="consultation", when=at(2026, 12, 30))
    closed = make_ticket("closed", kind="consultation", when=at(2026, 12, 30))
    assert (ticket.review_due, ticket.handling_due) == (D(2027, 1, 4), D(2027, 1, 6))
    set_calendar_override(db, D(2027, 1, 1), False, actor=staff["admin"], note="元旦")
    db.commit()
    db.refresh(ticket)
    assert (ticket.review_due, ticket.handling_due) == (D(2027, 1, 5), D(2027, 1, 7))
    assert ticket.due_date == ticket.review_due
    db.refresh(closed)
    assert closed.review_due == D(2027, 1, 4)  # closed tickets keep their history
    from tickets.calendar import remove_calendar_override

    remove_calendar_override(db, D(2027, 1, 1), actor=staff["admin"])
    db.commit()
    db.refresh(ticket)
    assert ticket.review_due == D(2027, 1, 4)


def test_a_ticket_dispatched_today_climbs_the_ladder(db, make_ticket, pinned_today) -> None:
    """From whatever today is: 正常 until the review deadline, 预警 on it (and on the rest days
    after it), 黄牌 from the first working day after it, 红牌 from the second."""
    ticket = make_ticket("dept_review", kind="consultation")
    calendar = load_calendar(db)
    due = calendar.add_workdays(pinned_today, 3)
    assert (ticket.dispatch_date, ticket.review_due) == (pinned_today, due)
    rungs: list[str] = []
    day = pinned_today
    while day <= calendar.add_workdays(due, 3):
        refresh_supervision(db, today=day)  # the daily, incremental run
        db.commit()
        db.refresh(ticket)
        assert ticket.supervision == supervision_status(due, day, calendar), day
        if not rungs or rungs[-1] != ticket.supervision:
            rungs.append(ticket.supervision)
            assert ticket.supervision == "normal" or day == due or calendar.is_workday(day), day
        day += dt.timedelta(days=1)
    assert rungs == ["normal", "warning", "yellow", "red"]
