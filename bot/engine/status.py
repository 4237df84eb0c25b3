"""Ticket status for the citizen: only their own tickets (or a ticket whose query code they give)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.engine.intents import StatusQuery
from bot.engine.turn import Turn
from core.i18n import N_
from tickets.models import KIND_LABELS, STAGE_LABELS, Kind, Stage, Ticket, TicketEvent
from tickets.workflow import get_ticket_by_number

MY_TICKETS_LIMIT = 5

# What a public event means to the citizen (the timeline's last entry).
EVENT_LABELS = {
    "submit": N_("Received"),
    "dispatch": N_("Sent to the department"),
    "transfer": N_("Sent to another department"),
    "accept": N_("Accepted by the department"),
    "reply": N_("The department has replied"),
    "return_to_department": N_("Returned to the department for more work"),
    "resolve_directly": N_("Answered by the hotline"),
    "reject": N_("Not accepted"),
    "merge": N_("Merged with another ticket"),
    "answer_survey": N_("Survey answered"),
    "record_callback": N_("Callback recorded"),
    "close_no_response": N_("Closed without a survey answer"),
}


def _describe(turn: Turn, ticket: Ticket) -> str:
    latest = turn.session.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.public.is_(True))
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    if latest is None:
        update = turn.t(N_("none yet"))
    else:
        label = turn.t(EVENT_LABELS.get(latest.action, N_("Updated")))
        local = latest.at.astimezone(_zone(turn)).strftime("%Y-%m-%d %H:%M")
        update = f"{local} {label}"
        if latest.note:
            update += f" — {latest.note[:200]}"
    due = ticket.handling_due if ticket.stage == Stage.HANDLING else ticket.due_date
    return turn.t(
        N_(
            "Ticket %(number)s (%(kind)s)\nStatus: %(stage)s\nDepartment: %(department)s\n"
            "Due: %(due)s\nLatest update: %(update)s"
        ),
        number=ticket.number,
        kind=turn.t(KIND_LABELS[Kind(ticket.kind)]),
        stage=turn.t(STAGE_LABELS[Stage(ticket.stage)]),
        department=ticket.department.name if ticket.department else turn.t(N_("not assigned yet")),
        due=due.isoformat() if due else "—",
        update=update,
    )


def _zone(turn: Turn) -> ZoneInfo:
    return ZoneInfo(str(turn.config.get("TIMEZONE") or "Asia/Shanghai"))


def show_status(turn: Turn, query: StatusQuery) -> None:
    ticket = get_ticket_by_number(turn.session, query.number)
    own = ticket is not None and (
        (ticket.citizen_id is not None and ticket.citizen_id == turn.conversation.citizen_id)
        or (query.query_code is not None and query.query_code == ticket.query_code)
    )
    if ticket is None or not own:
        # The same answer for an unknown number and someone else's: a number reveals nothing.
        turn.say(
            N_(
                "No ticket %(number)s was found among your tickets. Check the number; for a ticket "
                "submitted elsewhere add its query code, e.g. \u201c查询 %(number)s ABC234\u201d."
            ),
            number=query.number,
        )
        return
    turn.say_text(_describe(turn, ticket))


def show_my_tickets(turn: Turn) -> None:
    citizen_id = turn.conversation.citizen_id
    tickets = list(
        turn.session.scalars(
            select(Ticket)
            .where(Ticket.citizen_id == citizen_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(MY_TICKETS_LIMIT)
        )
    )
    if citizen_id is None or not tickets:
        turn.say(
            N_(
                "You have no tickets from this channel yet. Send \u201c提交工单\u201d to start one."
            ),
            turn.choice("提交工单", N_("Submit a ticket")),
        )
        return
    parts = [turn.t(N_("Your latest tickets:"))]
    parts.extend(_describe(turn, ticket) for ticket in tickets)
    turn.say_text("\n\n".join(parts))
