"""Phone calls registered by an operator while the citizen is on the line (集中接听登记).

One call ends in one of four outcomes, each a function here built on the workflow's transitions
(access checks, events, messages; flush, never commit):

- :func:`resolve_on_call` — answered from the knowledge base: a consultation ticket created and
  closed at once (直接办结), flagged ``first_contact`` (resolved on first contact);
- :func:`register_call_ticket` — a new ticket on the ``phone`` channel, dispatched in the same
  step when the operator chose a department;
- a follow-up on an existing ticket: ``workflow.add_information`` (补充) or
  ``workflow.urge_ticket`` (催办, counted and flagged from ``URGED_FLAG_AT``);
- :func:`transfer_call` — handed to another platform (转110 …, the configured partners): a ticket
  that records the partner and is closed as "transferred".

:func:`caller_history` is the read the intake screen opens with: the caller's open and earlier
tickets by the number they call from (``ix_tickets_contact_phone``) and by the citizens with
that number (``citizens.phone``, then ``ix_tickets_citizen``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, Select, func, select, union
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.i18n import N_
from directory.citizens import submitting_citizen
from directory.models import Category, Channel, Citizen, Department
from tickets import queries, workflow
from tickets.access import Actor, require
from tickets.models import OPEN_STAGES, Kind, Stage, Ticket
from tickets.workflow import TicketDraft, normalize_phone

PHONE_CHANNEL = Channel.PHONE.value
HISTORY_OPEN_LIMIT = 50  # open tickets are all shown up to this many
HISTORY_RECENT_LIMIT = 20  # then the newest closed ones
MAX_QUESTION = 500


@dataclass(frozen=True)
class TransferPartner:
    code: str
    name: str
    name_en: str
    phone: str


def transfer_partners(config: Mapping[str, Any]) -> dict[str, TransferPartner]:
    """The platforms a call may be handed to, from ``TRANSFER_PARTNERS`` (code → name, name_en,
    phone), in configuration order."""
    found: dict[str, TransferPartner] = {}
    for code, entry in (config.get("TRANSFER_PARTNERS") or {}).items():
        entry = entry if isinstance(entry, Mapping) else {"name": str(entry)}
        name = str(entry.get("name") or code)
        found[str(code)] = TransferPartner(
            code=str(code)[:20],
            name=name,
            name_en=str(entry.get("name_en") or name),
            phone=str(entry.get("phone") or code),
        )
    return found


def _require_call_taker(actor: Actor) -> None:
    """Calls are registered by operators (``submit`` for staff; citizens submit for themselves)."""
    require(actor, "submit")
    workflow.require_staff(actor)


def _citizen(session: Session, phone: str | None) -> Citizen | None:
    return submitting_citizen(session, PHONE_CHANNEL, phone=phone) if phone else None


def _key(token: str | None) -> str | None:
    """The form's one-time token: a resent form (a double Ctrl+Enter) returns the first ticket."""
    cleaned = (token or "").strip()
    if not cleaned:
        return None
    if len(cleaned) > 64 or not cleaned.replace("-", "").replace("_", "").isalnum():
        raise ValidationError({"token": N_("The form has expired; open it again.")})
    return f"intake:{cleaned}"


def _call_data(call_id: int | None) -> dict[str, Any]:
    return {"call_id": call_id} if call_id is not None else {}


def register_call_ticket(
    session: Session,
    draft: TicketDraft,
    *,
    actor: Actor,
    department: Department | None = None,
    note: str | None = None,
    call_id: int | None = None,
    token: str | None = None,
) -> Ticket:
    """A new ticket from a call; dispatched to ``department`` in the same step when given."""
    _require_call_taker(actor)
    if department is not None:
        require(actor, "dispatch")
    clean = draft.validated()
    ticket = workflow.submit_ticket(
        session,
        clean,
        actor=actor,
        channel=PHONE_CHANNEL,
        citizen=_citizen(session, clean.phone),
        idempotency_key=_key(token),
    )
    if department is not None and ticket.stage == Stage.SUBMITTED.value:
        workflow.dispatch_ticket(session, ticket, department, actor=actor, note=note)
    return ticket


def resolve_on_call(
    session: Session,
    *,
    actor: Actor,
    question: str,
    answer: str,
    phone: str | None,
    contact_name: str | None = None,
    faq_id: int | None = None,
    call_id: int | None = None,
    token: str | None = None,
) -> Ticket:
    """直接办结 on the call: a consultation ticket with the citizen's question, closed at once with
    the answer given, counted as resolved on first contact."""
    _require_call_taker(actor)
    require(actor, "resolve_directly")
    if not (answer or "").strip():
        raise ValidationError({"answer": N_("Choose or write the answer given to the citizen.")})
    draft = TicketDraft(
        kind=Kind.CONSULTATION.value,
        description=question,
        phone=phone,
        contact_name=contact_name,
    ).validated()
    ticket = workflow.submit_ticket(
        session,
        draft,
        actor=actor,
        channel=PHONE_CHANNEL,
        citizen=_citizen(session, draft.phone),
        idempotency_key=_key(token),
    )
    if ticket.stage == Stage.SUBMITTED.value:
        data = _call_data(call_id)
        if faq_id is not None:
            data["faq_id"] = faq_id
        workflow.resolve_directly(
            session, ticket, actor=actor, answer=answer, first_contact=True, data=data or None
        )
    return ticket


def transfer_call(
    session: Session,
    *,
    actor: Actor,
    partner: str,
    partners: Mapping[str, TransferPartner],
    kind: str,
    description: str,
    phone: str | None,
    contact_name: str | None = None,
    address: str | None = None,
    note: str | None = None,
    call_id: int | None = None,
    token: str | None = None,
) -> Ticket:
    """转110 and similar: the call recorded as a ticket that names the partner, closed as
    transferred."""
    _require_call_taker(actor)
    require(actor, "dispatch")
    if partner not in partners:
        raise ValidationError({"partner": N_("Choose the platform the call goes to.")})
    draft = TicketDraft(
        kind=kind or Kind.COMPLAINT.value,
        description=description,
        phone=phone,
        contact_name=contact_name,
        address=address,
    ).validated()
    ticket = workflow.submit_ticket(
        session,
        draft,
        actor=actor,
        channel=PHONE_CHANNEL,
        citizen=_citizen(session, draft.phone),
        idempotency_key=_key(token),
    )
    if ticket.stage == Stage.SUBMITTED.value:
        workflow.record_transfer(
            session,
            ticket,
            partner,
            actor=actor,
            partners=partners,
            note=note,
            data=_call_data(call_id),
        )
    return ticket


def follow_up(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    urge: bool,
    note: str | None,
    call_id: int | None = None,
) -> Any:
    """The follow-up outcome: 催办 (``urge``) or 补充 information on an existing ticket."""
    _require_call_taker(actor)
    data = _call_data(call_id) or None
    if urge:
        return workflow.urge_ticket(session, ticket, actor=actor, note=note, data=data)
    return workflow.add_information(session, ticket, actor=actor, note=note or "", data=data)


# -- the caller's history -----------------------------------------------------------------------


@dataclass
class CallerHistory:
    phone: str | None
    open: list[Ticket]
    recent: list[Ticket]  # newest closed ones
    total: int

    @property
    def earlier_count(self) -> int:
        return self.total - len(self.open)


def caller_phone(raw: str | None) -> str | None:
    """The caller's number as the tickets store it (a mainland mobile without +86), or the
    digits the switchboard sent (a landline) when it is not a mobile."""
    phone = normalize_phone((raw or "").strip()[:32])
    if not phone:
        return None
    return phone if phone.replace("+", "").isdigit() and len(phone) <= 20 else None


def caller_history(session: Session, raw_phone: str | None, *, actor: Actor) -> CallerHistory:
    """The caller's open tickets (all, up to a limit) and newest closed ones, by the number on
    the ticket or the citizen's number. Three indexed queries whatever the table's size."""
    require(actor, "view_contact")
    phone = caller_phone(raw_phone)
    if phone is None:
        return CallerHistory(None, [], [], 0)
    # The caller's ticket ids through the two indexes (number on the ticket, citizens with the
    # number), then the rows by primary key: an OR of the two, or ORDER BY … LIMIT over it, lets
    # the planner walk a date index through the whole table for a caller with few tickets.
    citizen_ids = list(session.scalars(select(Citizen.id).where(Citizen.phone == phone)))
    by_number = select(Ticket.id).where(Ticket.contact_phone == phone)
    ids: Select[Any] | CompoundSelect = by_number
    if citizen_ids:
        ids = union(by_number, select(Ticket.id).where(Ticket.citizen_id.in_(citizen_ids)))
    found = ids.subquery()
    mine = Ticket.id.in_(select(found.c.id))
    newest = (Ticket.created_at.desc(), Ticket.id.desc())
    open_tickets = list(
        session.scalars(
            select(Ticket)
            .where(mine, Ticket.stage.in_([s.value for s in OPEN_STAGES]))
            .order_by(*newest)
            .limit(HISTORY_OPEN_LIMIT)
        ).unique()
    )
    recent = list(
        session.scalars(
            select(Ticket)
            .where(mine, Ticket.stage == Stage.CLOSED.value)
            .order_by(*newest)
            .limit(HISTORY_RECENT_LIMIT)
        ).unique()
    )
    total = int(session.scalar(select(func.count()).select_from(found)) or 0)
    return CallerHistory(phone, open_tickets, recent, total)


# -- what the operator types: knowledge hits and departments ------------------------------------


def suggest_departments(
    session: Session,
    text: str,
    *,
    category_code: str | None = None,
    faq_hits: Sequence[Any] = (),
    limit: int = 3,
) -> list[queries.DispatchSuggestion]:
    """The console's dispatch suggestion (``queries.dispatch_suggestions``: the category's usual
    department, matching FAQ entries, similar recent tickets) for a call not yet registered."""
    text = (text or "").strip()[:MAX_QUESTION]
    category = (
        session.scalar(select(Category).where(Category.code == category_code, Category.active))
        if category_code
        else None
    )
    if not text and category is None:
        return []
    probe = Ticket(title=text[:30], description=text, address=None)
    probe.category = category
    similar = queries.similar_tickets(session, probe) if text else []
    return queries.dispatch_suggestions(
        session, probe, similar=similar, faq_hits=faq_hits, limit=limit
    )
