"""Dispatch disputes (派单异议): tickets.disputes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, PermissionDenied, ValidationError
from directory.models import Department, StaffUser
from tickets import disputes
from tickets.models import Ticket, TicketEvent
from tickets.workflow import StageError, accept_ticket

pytestmark = pytest.mark.date_matrix


def _actions(db: Session, ticket: Ticket) -> list[str]:
    return list(
        db.scalars(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        )
    )


def test_an_upheld_dispute_is_dispatched_again_by_the_operator(
    db: Session,
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = make_ticket("dept_review")
    start = clock.now()
    dispute = disputes.raise_dispute(
        db,
        ticket,
        actor=staff["dept"],
        reason="小区内部垃圾属物业管理，应由住建局处理。",
        suggested=departments["zhujian"],
    )
    assert dispute.department_id == departments["chengguan"].id
    with pytest.raises(Conflict):  # one open dispute at a time
        disputes.raise_dispute(db, ticket, actor=staff["dept"], reason="again")
    with clock.frozen(start + dt.timedelta(hours=3)):
        decided = disputes.decide_dispute(
            db,
            ticket,
            actor=staff["operator"],
            upheld=True,
            department=departments["zhujian"],
        )
    db.commit()
    assert decided.upheld is True and decided.new_department_id == departments["zhujian"].id
    assert ticket.stage == "dept_review" and ticket.department_id == departments["zhujian"].id
    assert ticket.review_due is not None
    assert _actions(db, ticket)[-3:] == ["dispute_dispatch", "decide_dispute", "dispatch"]
    figures = disputes.dispute_figures(db, start - dt.timedelta(days=1), start + dt.timedelta(1))
    assert (figures.raised, figures.decided, figures.upheld, figures.still_open) == (1, 1, 1, 0)
    assert figures.mean_hours_to_decision == pytest.approx(3.0, abs=0.01)


def test_a_rejected_dispute_leaves_the_ticket_and_its_clock(
    db: Session,
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = make_ticket("dept_review")
    due_before = ticket.review_due
    disputes.raise_dispute(db, ticket, actor=staff["dept"], reason="不属于本部门职责")
    with pytest.raises(ValidationError):  # a rejection says why
        disputes.decide_dispute(db, ticket, actor=staff["supervisor"], upheld=False)
    with pytest.raises(ValidationError):  # only an upheld dispute moves the ticket
        disputes.decide_dispute(
            db,
            ticket,
            actor=staff["supervisor"],
            upheld=False,
            note="x",
            department=departments["zhujian"],
        )
    decided = disputes.decide_dispute(
        db, ticket, actor=staff["supervisor"], upheld=False, note="门前三包属城管职责。"
    )
    assert decided.upheld is False and decided.decision_note == "门前三包属城管职责。"
    assert ticket.stage == "dept_review" and ticket.department_id == departments["chengguan"].id
    assert ticket.review_due == due_before
    with pytest.raises(Conflict):  # decided once
        disputes.decide_dispute(db, ticket, actor=staff["operator"], upheld=True)
    accept_ticket(db, ticket, actor=staff["dept"])  # the department goes on


def test_who_may_dispute_and_decide_and_when(
    db: Session,
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
    make_ticket: Callable[..., Ticket],
) -> None:
    ticket = make_ticket("dept_review")
    for role in ("operator", "reviewer", "supervisor", "admin", "other_dept"):
        with pytest.raises(PermissionDenied):
            disputes.raise_dispute(db, ticket, actor=staff[role], reason="x")
    with pytest.raises(ValidationError):
        disputes.raise_dispute(db, ticket, actor=staff["dept"], reason=" ")
    with pytest.raises(ValidationError):  # the suggestion must be another department
        disputes.raise_dispute(
            db, ticket, actor=staff["dept"], reason="x", suggested=departments["chengguan"]
        )
    with pytest.raises(Conflict):  # nothing to decide yet
        disputes.decide_dispute(db, ticket, actor=staff["operator"], upheld=True)
    disputes.raise_dispute(db, ticket, actor=staff["dept"], reason="不属于本部门")
    for role in ("reviewer", "admin", "dept", "other_dept"):
        with pytest.raises(PermissionDenied):
            disputes.decide_dispute(db, ticket, actor=staff[role], upheld=True)
    with pytest.raises(ValidationError):  # a supervisor decides but does not dispatch
        disputes.decide_dispute(
            db, ticket, actor=staff["supervisor"], upheld=True, department=departments["zhujian"]
        )
    # Upheld by a supervisor: back to operator review, clocks stopped.
    disputes.decide_dispute(db, ticket, actor=staff["supervisor"], upheld=True)
    assert ticket.stage == "submitted" and ticket.due_date is None and ticket.supervision is None
    handling = make_ticket("handling")
    with pytest.raises(StageError):  # accepted: too late to dispute
        disputes.raise_dispute(db, handling, actor=staff["dept"], reason="x")
    figures = disputes.dispute_figures(
        db,
        clock.now() - dt.timedelta(days=1),
        clock.now() + dt.timedelta(days=1),
        department_id=departments["chengguan"].id,
    )
    assert (figures.raised, figures.upheld) == (1, 1)
    assert (
        disputes.dispute_figures(
            db,
            clock.now() - dt.timedelta(days=1),
            clock.now() + dt.timedelta(days=1),
            department_id=departments["zhujian"].id,
        ).raised
        == 0
    )
