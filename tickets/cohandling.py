"""Lead and co-handling departments (主办 / 协办).

A matter that spans departments is dispatched to one lead department (the ticket's department,
which accepts, handles and replies, and which supervision follows) and shared with co-handling
departments. Each co-handler adds its part (协办意见) while the lead has the ticket (department
review or handling), within the lead's handling deadline; a co-handler whose part is missing
after that deadline sees it as overdue in its own list. The lead may reply without every part
(choice: the lead answers for the ticket; a missing part is the co-handler's overdue item, not a
block on the citizen's answer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, ValidationError
from core.i18n import N_
from directory.models import Department
from tickets import catalogue
from tickets.access import Actor, StaffUser, require
from tickets.calendar import local_today
from tickets.models import Stage, Ticket, TicketCoHandler, TicketEvent
from tickets.workflow import MAX_NOTE, StageError

SHARED_STAGES = (Stage.DEPT_REVIEW.value, Stage.HANDLING.value)
MAX_CO_HANDLERS = 10


def _event(
    session: Session, ticket: Ticket, action: str, *, actor: Actor, data: dict[str, object]
) -> None:
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
            from_stage=ticket.stage,
            to_stage=ticket.stage,
            department_id=ticket.department_id,
            public=False,
            data=data,
        )
    )


def _expect_shared_stage(ticket: Ticket) -> None:
    if ticket.stage not in SHARED_STAGES:
        raise StageError(
            N_("Ticket %(number)s is not at a stage where this can be done."),
            number=ticket.number,
        )


def assign_co_handlers(
    session: Session,
    ticket: Ticket,
    departments: Sequence[Department],
    *,
    actor: Actor,
    outside_catalogue: bool = False,
) -> list[TicketCoHandler]:
    """Share a dispatched ticket with co-handling departments (flushes). By default only
    departments the dispatch catalogue lists as co-handlers of the ticket's category;
    ``outside_catalogue`` lets the operator add another one (recorded in the event)."""
    require(actor, "assign_co_handlers", ticket)
    _expect_shared_stage(ticket)
    existing = {c.department_id for c in ticket.co_handlers}
    errors: dict[str, str] = {}
    added: list[Department] = []
    for dept in departments:
        if dept.id == ticket.department_id:
            errors["co_handlers"] = N_("The lead department cannot also co-handle.")
        elif not dept.active:
            errors["co_handlers"] = N_("Choose an active department.")
        elif not outside_catalogue and not catalogue.may_co_handle(session, ticket.category, dept):
            errors["co_handlers"] = N_(
                "The dispatch catalogue does not list this department as a co-handler."
            )
        elif dept.id not in existing and dept not in added:
            added.append(dept)
    if len(existing) + len(added) > MAX_CO_HANDLERS:
        errors["co_handlers"] = N_("At most 10 co-handling departments.")
    if not added and not errors:
        errors["co_handlers"] = N_("This field is required.")
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    rows = []
    for dept in added:
        row = TicketCoHandler(
            ticket_id=ticket.id,
            department_id=dept.id,
            assigned_at=now,
            assigned_by_id=actor.id if isinstance(actor, StaffUser) else None,
        )
        ticket.co_handlers.append(row)
        rows.append(row)
    _event(
        session,
        ticket,
        "assign_co_handlers",
        actor=actor,
        data={"departments": [d.code for d in added], "outside_catalogue": outside_catalogue},
    )
    session.flush()
    return rows


def add_co_handler_part(
    session: Session, ticket: Ticket, *, actor: Actor, text: str
) -> TicketCoHandler:
    """A co-handling department's part (协办意见), once, while the lead has the ticket."""
    require(actor, "co_handle", ticket)
    _expect_shared_stage(ticket)
    assert isinstance(actor, StaffUser)
    row = next(c for c in ticket.co_handlers if c.department_id == actor.department_id)
    if row.part is not None:
        raise Conflict(N_("Your department has already added its part."))
    cleaned = (text or "").strip()
    if not cleaned:
        raise ValidationError({"part": N_("This field is required.")})
    if len(cleaned) > MAX_NOTE:
        raise ValidationError({"part": N_("At most 4,000 characters.")})
    row.part = cleaned
    row.part_at = clock.now()
    row.part_by_id = actor.id
    _event(
        session, ticket, "co_handler_part", actor=actor, data={"department_id": row.department_id}
    )
    session.flush()
    return row


@dataclass(frozen=True)
class CoHandlerItem:
    ticket: Ticket
    share: TicketCoHandler
    due: dt.date | None  # the lead's handling deadline
    overdue: bool


def co_handler_items(session: Session, department_id: int) -> list[CoHandlerItem]:
    """A co-handling department's shares of open tickets, overdue ones (part missing after the
    lead's handling deadline) first."""
    today = local_today(session)
    rows = session.execute(
        select(TicketCoHandler, Ticket)
        .join(Ticket, Ticket.id == TicketCoHandler.ticket_id)
        .where(
            TicketCoHandler.department_id == department_id,
            Ticket.stage.in_(SHARED_STAGES),
        )
        .order_by(Ticket.handling_due, Ticket.id)
    ).all()
    items = [
        CoHandlerItem(
            ticket,
            share,
            ticket.handling_due,
            share.part is None and ticket.handling_due is not None and today > ticket.handling_due,
        )
        for share, ticket in rows
    ]
    return sorted(items, key=lambda i: (not i.overdue, i.due or dt.date.max, i.ticket.id))
