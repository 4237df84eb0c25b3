"""Dispatch disputes (派单异议): a department that is not responsible for a ticket says why; an
operator or a supervisor decides, and the decision is recorded.

- A dispute is raised by the department that has the ticket in department review (one open
  dispute at a time), with its reason and optionally the department it thinks is responsible.
- Upheld: the ticket goes back to operator review (``submitted``, its deadlines stopped); when
  the decider is an operator and names the responsible department, it is dispatched there at
  once through the ordinary dispatch (new deadlines, the department's notice).
- Rejected: the department keeps the ticket, and its clocks kept running during the dispute
  (choice: a dispute does not stop a deadline, so it is no way to buy time).
- The figures (:func:`dispute_figures`) count disputes raised, decided, upheld and open, and
  the time from raising to the decision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, ValidationError
from core.i18n import N_
from directory.models import Department
from tickets.access import Actor, StaffUser, can, require
from tickets.models import Stage, Ticket, TicketDispute, TicketEvent
from tickets.workflow import MAX_NOTE, StageError, dispatch_ticket


def _event(
    session: Session,
    ticket: Ticket,
    action: str,
    *,
    actor: Actor,
    from_stage: str,
    note: str | None,
    data: dict[str, object],
) -> None:
    """A non-public event at the ticket's department (a decision: at the disputing one)."""
    now = clock.now()
    ticket.updated_at = now
    staff = actor if isinstance(actor, StaffUser) else None
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            action=action,
            actor_type="staff" if staff else "system",
            actor_id=staff.id if staff else None,
            actor_name=staff.display_name if staff else None,
            from_stage=from_stage,
            to_stage=ticket.stage,
            department_id=ticket.department_id,
            note=note,
            public=False,
            data=data,
        )
    )


def _clean(text: str | None, field: str, *, required: bool) -> str | None:
    cleaned = (text or "").strip()
    if required and not cleaned:
        raise ValidationError({field: N_("This field is required.")})
    if len(cleaned) > MAX_NOTE:
        raise ValidationError({field: N_("At most 4,000 characters.")})
    return cleaned or None


def open_dispute(session: Session, ticket: Ticket) -> TicketDispute | None:
    return session.scalar(
        select(TicketDispute).where(
            TicketDispute.ticket_id == ticket.id, TicketDispute.decided_at.is_(None)
        )
    )


def raise_dispute(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    reason: str,
    suggested: Department | None = None,
) -> TicketDispute:
    """The department that has the ticket says it is not responsible, and why (flushes)."""
    require(actor, "dispute_dispatch", ticket)
    if ticket.stage != Stage.DEPT_REVIEW.value:
        raise StageError(
            N_("Ticket %(number)s is not at a stage where this can be done."),
            number=ticket.number,
        )
    if open_dispute(session, ticket) is not None:
        raise Conflict(N_("This ticket already has an open dispatch dispute."))
    cleaned = _clean(reason, "reason", required=True)
    if suggested is not None and suggested.id == ticket.department_id:
        raise ValidationError({"suggested": N_("Name another department.")})
    assert ticket.department_id is not None and isinstance(actor, StaffUser)
    dispute = TicketDispute(
        ticket_id=ticket.id,
        department_id=ticket.department_id,
        reason=cleaned or "",
        suggested_department_id=suggested.id if suggested else None,
        raised_by_id=actor.id,
        raised_at=clock.now(),
    )
    session.add(dispute)
    _event(
        session,
        ticket,
        "dispute_dispatch",
        actor=actor,
        from_stage=ticket.stage,
        note=cleaned,
        data={"suggested": suggested.code if suggested else None},
    )
    session.flush()
    return dispute


def decide_dispute(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    upheld: bool,
    note: str | None = None,
    department: Department | None = None,
) -> TicketDispute:
    """Decide the ticket's open dispute (flushes). Upheld with a department (operators only):
    dispatched there at once."""
    require(actor, "decide_dispute", ticket)
    dispute = open_dispute(session, ticket)
    if dispute is None:
        raise Conflict(N_("This ticket has no open dispatch dispute."))
    cleaned = _clean(note, "note", required=not upheld)  # a rejection says why
    if department is not None:
        if not upheld:
            raise ValidationError({"department": N_("Only an upheld dispute moves the ticket.")})
        if department.id == dispute.department_id:
            raise ValidationError({"department": N_("Name another department.")})
        if not can(actor, "dispatch", ticket):
            raise ValidationError({"department": N_("Only an operator dispatches the ticket.")})
        if not department.active:
            raise ValidationError({"department": N_("This department no longer takes tickets.")})
    dispute.decided_at = clock.now()
    dispute.decided_by_id = actor.id if isinstance(actor, StaffUser) else None
    dispute.upheld = upheld
    dispute.decision_note = cleaned
    from_stage = ticket.stage
    if upheld:
        ticket.stage = Stage.SUBMITTED.value
        ticket.due_date = None
        ticket.due_at = None
        ticket.supervision = None
        ticket.supervision_notified = None
    _event(
        session,
        ticket,
        "decide_dispute",
        actor=actor,
        from_stage=from_stage,
        note=cleaned,
        data={"upheld": upheld, "department_id": dispute.department_id},
    )
    session.flush()
    if upheld and department is not None:
        dispatch_ticket(session, ticket, department, actor=actor)
        dispute.new_department_id = department.id
        session.flush()
    return dispute


@dataclass(frozen=True)
class DisputeFigures:
    raised: int
    decided: int
    upheld: int
    still_open: int
    mean_hours_to_decision: float | None
    max_hours_to_decision: float | None


def dispute_figures(
    session: Session, start: dt.datetime, end: dt.datetime, department_id: int | None = None
) -> DisputeFigures:
    """Disputes raised in [start, end): how many, how decided, and how long deciding took."""
    query = select(TicketDispute).where(
        TicketDispute.raised_at >= start, TicketDispute.raised_at < end
    )
    if department_id is not None:
        query = query.where(TicketDispute.department_id == department_id)
    rows = list(session.scalars(query))
    decided = [r for r in rows if r.decided_at is not None]
    hours = [
        (r.decided_at - r.raised_at).total_seconds() / 3600
        for r in decided
        if r.decided_at is not None
    ]
    return DisputeFigures(
        raised=len(rows),
        decided=len(decided),
        upheld=sum(1 for r in decided if r.upheld),
        still_open=len(rows) - len(decided),
        mean_hours_to_decision=round(sum(hours) / len(hours), 2) if hours else None,
        max_hours_to_decision=round(max(hours), 2) if hours else None,
    )
