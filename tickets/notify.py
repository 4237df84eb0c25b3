"""Which messages a ticket event causes. Called by the workflow in the same transaction, so a
message exists if and only if the change committed; the event id in the key makes one change
produce one message.

Also the supervision notices (红黄牌预警): a change of 监察状态 to yellow or red tells the
department once (red also the supervisors), written set-based by :func:`notify_supervision_changes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, literal, select, update
from sqlalchemy.orm import Session

from delivery.channels import FALLBACK_CHANNEL, capabilities
from delivery.inbox import SUPERVISORS, department_recipient, department_recipient_sql
from delivery.models import OutboxMessage
from delivery.outbox import enqueue_message, enqueue_selected
from directory.citizens import channel_recipient
from directory.models import Department
from tickets.models import URGED_FLAG_AT, Satisfaction, Ticket, TicketEvent

# event action → citizen message template
CITIZEN_TEMPLATES = {
    "submit": "ticket_received",
    "dispatch": "ticket_dispatched",
    "transfer": "ticket_dispatched",
    "pass_review": "ticket_answered",  # the reviewed reply and the callback survey (回访)
    "resolve_directly": "ticket_closed",
    "reject": "ticket_closed",
    "merge": "ticket_closed",
    "answer_survey": "ticket_closed",
    "record_callback": "ticket_closed",
    "close_no_response": "ticket_closed",
    "transfer_out": "ticket_closed",
}

# event action → department message template
DEPARTMENT_TEMPLATES = {
    "dispatch": "department_ticket_assigned",
    "transfer": "department_ticket_assigned",
    "return_to_department": "department_ticket_returned",
    "mark_urgent": "department_ticket_urgent",
    "urge": "department_ticket_urged",
    "add_information": "department_ticket_information",
}

SURVEY_ACTIONS = ("answer_survey", "record_callback")
# Staff-only events whose note the department's message quotes (never sent to a citizen).
STAFF_NOTE_ACTIONS = ("urge", "add_information")


def citizen_address(
    session: Session,
    ticket: Ticket,
    *,
    identity: Callable[[int, str], str | None] | None = None,
) -> tuple[str, str] | None:
    """(channel, recipient) to reach the citizen about a ticket, by what the ticket's channel can
    do (``delivery.channels``): pushed to their identity on a channel that can push; kept on the
    ticket's page on a channel with a ticket inbox (web); otherwise an SMS to the contact phone.
    ``identity(citizen_id, channel)`` looks the recipient up (a batch may pass its own)."""
    able = capabilities(ticket.channel)
    if able.can_push:
        if ticket.citizen_id is None:
            return None
        recipient = (
            identity(ticket.citizen_id, ticket.channel)
            if identity is not None
            else channel_recipient(session, ticket.citizen_id, ticket.channel)
        )
        return (ticket.channel, recipient) if recipient else None
    if able.ticket_inbox:
        return (ticket.channel, ticket.number)
    if ticket.contact_phone:
        return (FALLBACK_CHANNEL, ticket.contact_phone)
    return None


def ticket_params(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """What a message about a ticket may show, frozen at the moment of the change."""
    params: dict[str, Any] = {
        "number": ticket.number,
        "query_code": ticket.query_code,
        "title": ticket.title,
        "kind": ticket.kind,
        "stage": ticket.stage,
        "department": ticket.department.name if ticket.department else None,
        "review_due": ticket.review_due.isoformat() if ticket.review_due else None,
        "due": ticket.handling_due.isoformat() if ticket.handling_due else None,
        "close_reason": ticket.close_reason,
    }
    params.update(extra)
    return params


def _params(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    data = event.data or {}
    return ticket_params(
        ticket,
        reply=ticket.reply if event.action in ("pass_review", "resolve_directly") else None,
        note=event.note if event.public or event.action in STAFF_NOTE_ACTIONS else None,
        event_id=event.id,
        urge_count=ticket.urge_count or 0,
        survey_id=data.get("survey_id"),
    )


def ticket_event(session: Session, ticket: Ticket, event: TicketEvent) -> None:
    template = CITIZEN_TEMPLATES.get(event.action)
    if template:
        address = citizen_address(session, ticket)
        if address:
            channel, recipient = address
            enqueue_message(
                session,
                idempotency_key=f"ticket-event:{event.id}:citizen",
                audience="citizen",
                channel=channel,
                recipient=recipient,
                template=template,
                params=_params(ticket, event),
                ticket_id=ticket.id,
            )
    dept_template = DEPARTMENT_TEMPLATES.get(event.action)
    if dept_template and ticket.department_id:
        enqueue_message(
            session,
            idempotency_key=f"ticket-event:{event.id}:department",
            audience="department",
            channel="staff",
            recipient=department_recipient(ticket.department_id),
            template=dept_template,
            params=_params(ticket, event),
            ticket_id=ticket.id,
        )
    if event.action == "urge" and int((event.data or {}).get("count") or 0) >= URGED_FLAG_AT:
        # Urged again and again (多次催办): the supervisors hear of it in their inbox.
        enqueue_message(
            session,
            idempotency_key=f"ticket-event:{event.id}:supervisors",
            audience="supervisor",
            channel="staff",
            recipient=SUPERVISORS,
            template="supervisor_ticket_urged",
            params=_params(ticket, event),
            ticket_id=ticket.id,
        )
    satisfaction = (event.data or {}).get("satisfaction")
    if event.action in SURVEY_ACTIONS and satisfaction == Satisfaction.UNSATISFIED:
        # (choice) 不满意 flags the ticket; the supervisors hear of it in their inbox.
        enqueue_message(
            session,
            idempotency_key=f"ticket-event:{event.id}:supervisors",
            audience="supervisor",
            channel="staff",
            recipient=SUPERVISORS,
            template="supervisor_unsatisfied",
            params=_params(ticket, event),
            ticket_id=ticket.id,
        )


# -- supervision notices (set-based) -------------------------------------------------------------


def _supervision_key(suffix: str) -> Any:
    # One key per (ticket, status, due date): a status reached again for the same deadline is not
    # announced twice, while a new deadline (re-dispatch, return) starts afresh.
    return (
        literal("supervision:")
        + cast(Ticket.id, String)
        + literal(":")
        + Ticket.supervision
        + literal(":")
        + cast(Ticket.due_date, String)
        + literal(suffix)
    )


def notify_supervision_changes(session: Session) -> int:
    """Queue one message per ticket whose 监察状态 became yellow or red since it was last
    announced: to its department, and for red also to the supervisors. Two INSERT … SELECT and one
    UPDATE, whatever the number of tickets; returns the number of tickets announced."""
    dialect = session.get_bind().dialect.name
    json_object = func.jsonb_build_object if dialect == "postgresql" else func.json_object
    unannounced = and_(
        Ticket.supervision.in_(("yellow", "red")),
        Ticket.supervision_notified.is_distinct_from(Ticket.supervision),
        Ticket.department_id.is_not(None),
        Ticket.due_date.is_not(None),
    )
    params = json_object(
        "number", Ticket.number,
        "title", Ticket.title,
        "kind", Ticket.kind,
        "stage", Ticket.stage,
        "department", Department.name,
        "due", cast(Ticket.due_date, String),
        "supervision", Ticket.supervision,
    )  # fmt: skip
    tickets = select(Ticket.id).join(Department, Department.id == Ticket.department_id)
    enqueue_selected(
        session,
        tickets.where(unannounced),
        idempotency_key=_supervision_key(""),
        audience="department",
        channel="staff",
        recipient=department_recipient_sql(Ticket.department_id),
        template=case((Ticket.supervision == "red", "supervision_red"), else_="supervision_yellow"),
        params=params,
        ticket_id=Ticket.id,
    )
    enqueue_selected(
        session,
        tickets.where(unannounced, Ticket.supervision == "red"),
        idempotency_key=_supervision_key(":supervisors"),
        audience="supervisor",
        channel="staff",
        recipient=SUPERVISORS,
        template="supervision_red",
        params=params,
        ticket_id=Ticket.id,
    )
    announced = exists().where(OutboxMessage.idempotency_key == _supervision_key(""))
    result = session.execute(
        update(Ticket)
        .where(unannounced, announced)
        .values(supervision_notified=Ticket.supervision),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
