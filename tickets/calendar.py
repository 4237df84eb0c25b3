"""The working-day calendar as this hotline uses it: the package's schedule plus staff overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from core import clock
from core.db import StateEntry, session_timezone
from directory.models import StaffUser
from tickets.access import Actor, require
from tickets.models import DeadlinePolicy, HolidayOverride, Ticket
from tickets.policies import policy_deadlines
from tickets.sla import REVIEW_DAYS, WorkCalendar

# Where the supervision refresh remembers its last run; a calendar change forgets it, so that the
# next refresh sweeps every open ticket instead of only those with near due dates.
SUPERVISION_LAST_RUN_KEY = "supervision.last_refresh_date"


def _forget_supervision_run(session: Session) -> None:
    entry = session.get(StateEntry, SUPERVISION_LAST_RUN_KEY)
    if entry is not None:
        session.delete(entry)


def load_calendar(session: Session) -> WorkCalendar:
    rows = session.execute(select(HolidayOverride.day, HolidayOverride.is_workday)).all()
    return WorkCalendar({day: is_workday for day, is_workday in rows})


def local_today(session: Session) -> dt.date:
    return clock.today(session_timezone(session))


def set_calendar_override(
    session: Session, day: dt.date, is_workday: bool, *, actor: Actor, note: str | None = None
) -> HolidayOverride:
    require(actor, "manage_calendar")
    override = session.get(HolidayOverride, day)
    if override is None:
        override = HolidayOverride(day=day, created_at=clock.now())
        session.add(override)
    override.is_workday = is_workday
    override.note = note
    override.created_by_id = actor.id if isinstance(actor, StaffUser) else None
    _forget_supervision_run(session)
    session.flush()
    recompute_open_deadlines(session, day)
    return override


def remove_calendar_override(session: Session, day: dt.date, *, actor: Actor) -> None:
    require(actor, "manage_calendar")
    override = session.get(HolidayOverride, day)
    if override is not None:
        session.delete(override)
        _forget_supervision_run(session)
        session.flush()
        recompute_open_deadlines(session, day)


def recompute_open_deadlines(session: Session, changed_day: dt.date) -> int:
    """Move the deadlines of open tickets whose counting period contains ``changed_day``.

    Tickets are grouped by (dispatch date, total days): each group gets its dates from the
    calendar once and one UPDATE, so the work grows with the number of distinct dispatch days,
    not with the number of tickets. The next supervision refresh then sweeps everything.
    """
    calendar = load_calendar(session)
    in_period = (
        Ticket.stage.in_(("dept_review", "handling")),
        Ticket.dispatch_date < changed_day,
        Ticket.handling_due >= changed_day,
    )
    changed = _recompute_policy_deadlines(session, calendar, in_period, changed_day)
    groups = session.execute(
        select(Ticket.dispatch_date, Ticket.total_days)
        .where(*in_period, Ticket.deadline_policy_id.is_(None))
        .distinct()
    ).all()
    for dispatch_date, total_days in groups:
        if dispatch_date is None or total_days is None:
            continue
        review = calendar.add_workdays(dispatch_date, REVIEW_DAYS)
        handling = calendar.add_workdays(dispatch_date, total_days)
        result = session.execute(
            update(Ticket)
            .where(
                *in_period,
                Ticket.deadline_policy_id.is_(None),
                Ticket.dispatch_date == dispatch_date,
                Ticket.total_days == total_days,
            )
            .values(
                review_due=review,
                handling_due=handling,
                due_date=case((Ticket.stage == "dept_review", review), else_=handling),
            ),
            execution_options={"synchronize_session": False},
        )
        changed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.expire_all()
    return changed


def _recompute_policy_deadlines(
    session: Session, calendar: WorkCalendar, in_period: tuple[Any, ...], changed_day: dt.date
) -> int:
    """Tickets under a deadline policy (tickets.policies) get their deadlines again from their
    own policy and dispatch moment, one by one (few tickets: business requests and the like).
    A returned ticket keeps the seed's rule (its policy is cleared at the return).
    """
    tickets = session.scalars(
        select(Ticket).where(
            *in_period,
            Ticket.deadline_policy_id.is_not(None),
            Ticket.dispatched_at.is_not(None),
        )
    ).all()
    timezone = session_timezone(session)
    for ticket in tickets:
        policy = session.get(DeadlinePolicy, ticket.deadline_policy_id)
        assert policy is not None and ticket.dispatched_at is not None
        deadlines = policy_deadlines(policy, ticket.kind, ticket.dispatched_at, calendar, timezone)
        ticket.review_due, ticket.review_due_at = deadlines.review, deadlines.review_at
        ticket.handling_due, ticket.handling_due_at = deadlines.handling, deadlines.handling_at
        in_review = ticket.stage == "dept_review"
        ticket.due_date = deadlines.review if in_review else deadlines.handling
        ticket.due_at = deadlines.review_at if in_review else deadlines.handling_at
    session.flush()
    return len(tickets)
