"""What a citizen may read about a ticket: lookup by number and a secret, the stage in plain
words and the public timeline. (The web inbox of messages is ``delivery.inbox.web_inbox``.)

Nothing here reveals whether a number exists: a wrong code, a wrong phone and an unknown number
all give ``None`` after the same work (one indexed read and one constant-time comparison), so the
answer time does not tell them apart either.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import literal, select, tuple_
from sqlalchemy.orm import Session

from core.i18n import N_
from directory.citizens import find_identity
from directory.models import Department
from tickets.models import Stage, Ticket, TicketEvent
from tickets.workflow import normalize_phone

# Compared against when the number is unknown, so that both paths do the same work.
_DUMMY_SECRET = "\x00" * 16
MAX_NUMBER_LENGTH = 20
MAX_SECRET_LENGTH = 40
MY_TICKETS_PAGE = 20

# The stage as a citizen understands it (the staff words are in tickets.models.STAGE_LABELS).
PLAIN_STAGES = {
    Stage.SUBMITTED: N_("Received: the hotline is checking your request"),
    Stage.DEPT_REVIEW: N_("Sent to the department responsible"),
    Stage.HANDLING: N_("The department is working on it"),
    Stage.RE_REVIEW: N_("The department has replied; the hotline is checking the reply"),
    Stage.CALLBACK: N_("Answered: please tell us whether you are satisfied"),
    Stage.CLOSED: N_("Closed"),
}

# Timeline wording for each event action a citizen may see.
EVENT_LABELS = {
    "submit": N_("Request received"),
    "dispatch": N_("Sent to %(department)s"),
    "transfer": N_("Passed on to %(department)s"),
    "accept": N_("The department accepted the request"),
    "reply": N_("The department replied"),
    "return_to_department": N_("The hotline asked the department to handle it again"),
    "resolve_directly": N_("Answered directly by the hotline"),
    "reject": N_("Closed: the request could not be accepted"),
    "merge": N_("Merged into request %(into)s, which handles the same matter"),
    "answer_survey": N_("You answered the satisfaction survey"),
    "record_callback": N_("The hotline recorded your feedback"),
    "close_no_response": N_("Closed without a survey answer"),
}

# Only these notes are written for the citizen; other notes are between staff.
NOTE_ACTIONS = frozenset({"reject", "resolve_directly"})


@dataclass(frozen=True)
class PublicEvent:
    at: dt.datetime
    action: str
    label: str  # an English message id; ``params`` fill it after translation
    params: dict[str, Any]
    note: str | None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def clean_number(raw: str | None) -> str:
    return "".join((raw or "").split())[:MAX_NUMBER_LENGTH]


def find_ticket_for_citizen(
    session: Session, number: str | None, *, code: str | None = None, phone: str | None = None
) -> Ticket | None:
    """The ticket if ``number`` plus its query code (or the contact phone) match, else ``None``.

    The query code is compared case-insensitively (it has no ambiguous letters); the phone is
    normalised the way the submission form normalises it.
    """
    number = clean_number(number)
    if code:
        given = "".join(code.split()).upper()[:MAX_SECRET_LENGTH]
    elif phone:
        given = (normalize_phone(phone) or "")[:MAX_SECRET_LENGTH]
    else:
        return None
    ticket = session.scalar(select(Ticket).where(Ticket.number == number)) if number else None
    if ticket is None:
        _same(given, _DUMMY_SECRET)
        return None
    expected = ticket.query_code if code else (ticket.contact_phone or _DUMMY_SECRET)
    matches = _same(given, expected)
    return ticket if matches and given and (code or ticket.contact_phone) else None


def plain_stage(ticket: Ticket) -> str:
    return PLAIN_STAGES[ticket.stage_enum]


def localized(name: str, name_en: str | None, locale: str | None) -> str:
    """A directory name in ``locale``: the English one, where there is one, for every locale
    but Chinese."""
    if locale and not locale.startswith("zh") and name_en:
        return name_en
    return name


def department_name(department: Department | None, locale: str | None) -> str | None:
    if department is None:
        return None
    return localized(department.name, department.name_en, locale)


def reply_visible(ticket: Ticket | Replied) -> bool:
    """The department's reply is shown once the hotline's reviewer has passed it."""
    return bool(ticket.reply) and ticket.stage in (Stage.CALLBACK, Stage.CLOSED)


class Replied(Protocol):
    """What ``reply_visible`` reads: a ticket, or a row of a ticket's columns."""

    @property
    def reply(self) -> str | None: ...

    @property
    def stage(self) -> str: ...


def public_timeline(
    session: Session, ticket: Ticket, *, locale: str | None = None
) -> list[PublicEvent]:
    rows = session.execute(
        select(TicketEvent, Department)
        .outerjoin(Department, Department.id == TicketEvent.department_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.public.is_(True))
        .order_by(TicketEvent.id)
    ).all()
    events = []
    for event, department in rows:
        label = EVENT_LABELS.get(event.action)
        if label is None:
            continue
        params: dict[str, Any] = {
            "department": department_name(department, locale) or "",
            "into": (event.data or {}).get("into", ""),
        }
        note = event.note if event.action in NOTE_ACTIONS else None
        events.append(PublicEvent(event.at, event.action, label, params, note))
    return events


# -- a citizen known by a channel identity (WeChat's 网页授权 openid) ---------------------------


@dataclass(frozen=True)
class OwnTickets:
    items: list[Ticket]
    next_before: str | None  # the number to continue after (older tickets), None: no more


def identity_citizen_id(session: Session, channel: str, external_id: str | None) -> int | None:
    identity = find_identity(session, channel, external_id) if external_id else None
    return identity.citizen_id if identity is not None else None


def identity_owns(session: Session, ticket: Ticket, channel: str, external_id: str | None) -> bool:
    """Whether the citizen behind a channel identity (a WeChat openid proven by 网页授权) is the
    one who submitted ``ticket``: they may read it without its query code."""
    citizen_id = identity_citizen_id(session, channel, external_id)
    return citizen_id is not None and ticket.citizen_id == citizen_id


def identity_tickets(
    session: Session,
    channel: str,
    external_id: str,
    *,
    before: str | None = None,
    limit: int = MY_TICKETS_PAGE,
) -> OwnTickets:
    """The tickets of the citizen behind a channel identity, newest first, a page at a time
    (keyset on ``(created_at, id)`` after the ticket numbered ``before``; served by
    ``ix_tickets_citizen`` (citizen_id, created_at)). A ``before`` that is not one of theirs
    starts from the newest."""
    citizen_id = identity_citizen_id(session, channel, external_id)
    if citizen_id is None:
        return OwnTickets([], None)
    conditions = [Ticket.citizen_id == citizen_id]
    number = clean_number(before)
    if number:
        anchor = session.execute(
            select(Ticket.created_at, Ticket.id).where(
                Ticket.number == number, Ticket.citizen_id == citizen_id
            )
        ).first()
        if anchor is not None:
            created_type = Ticket.__table__.c.created_at.type
            conditions.append(
                tuple_(Ticket.created_at, Ticket.id)
                < tuple_(literal(anchor.created_at, created_type), literal(anchor.id))
            )
    rows = list(
        session.scalars(
            select(Ticket)
            .where(*conditions)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit + 1)
        ).unique()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return OwnTickets(rows, rows[-1].number if more and rows else None)
