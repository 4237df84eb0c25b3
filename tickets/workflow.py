"""Every stage transition of a ticket (see shared/spec/workflow.md).

Each function checks the actor's right and the ticket's stage, changes the ticket, writes one
immutable :class:`TicketEvent` and queues the notifications in the same transaction. It flushes and
never commits. A refused transition raises a :class:`DomainError` before anything is changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import insert_for, session_timezone
from core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from core.i18n import N_
from directory.models import Category, Citizen, Department
from tickets import access, notify
from tickets.access import Actor, CitizenActor, StaffUser, require
from tickets.calendar import load_calendar, local_today
from tickets.media import add_media, clean_references
from tickets.models import CloseReason, Kind, Satisfaction, Stage, Survey, Ticket, TicketEvent
from tickets.numbers import new_query_code, next_ticket_number
from tickets.policies import matching_policy, policy_deadlines
from tickets.sla import RETURN_TOTAL_CHOICES, due_dates, moment_supervision_status


class StageError(DomainError):
    http_status = 409


MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
MAX_TITLE = 200
MAX_DESCRIPTION = 4000
MAX_ADDRESS = 300
MAX_NOTE = 4000


def normalize_phone(raw: str | None) -> str | None:
    """Mainland mobile numbers, allowing spaces, dashes and a +86/0086 prefix."""
    if not raw:
        return None
    digits = re.sub(r"[\s\-()]", "", raw)
    digits = re.sub(r"^(\+86|0086|86(?=1\d{10}$))", "", digits)
    return digits


def is_valid_mobile(phone: str | None) -> bool:
    return bool(phone and MOBILE_RE.match(phone))


@dataclass
class TicketDraft:
    """What a citizen (or an operator on their behalf) submits, before it becomes a ticket."""

    kind: str
    description: str
    title: str | None = None
    address: str | None = None
    contact_name: str | None = None
    phone: str | None = None
    anonymous: bool = False
    category_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Pictures handed over by reference (``wechat-media:<MediaId>``), fetched later by the media
    # job (``tickets.media``). The conversation engine's ``extra["images"]`` count as media too.
    media: tuple[str, ...] = ()

    def validated(self) -> TicketDraft:
        errors: dict[str, str] = {}
        kind = (self.kind or "").strip()
        if kind not in {k.value for k in Kind}:
            errors["kind"] = N_("Choose the kind of request.")
        description = (self.description or "").strip()
        if not description:
            errors["description"] = N_("Describe your request.")
        elif len(description) > MAX_DESCRIPTION:
            errors["description"] = N_("The description can be at most 4,000 characters.")
        title = (self.title or "").strip() or description[:30]
        if len(title) > MAX_TITLE:
            errors["title"] = N_("The title can be at most 200 characters.")
        address = (self.address or "").strip() or None
        if address and len(address) > MAX_ADDRESS:
            errors["address"] = N_("The address can be at most 300 characters.")
        anonymous = bool(self.anonymous)
        if anonymous and kind != Kind.REPORT:
            errors["anonymous"] = N_("Only a report (举报) can be anonymous.")
        phone = normalize_phone(self.phone)
        if phone and not is_valid_mobile(phone):
            errors["phone"] = N_("Enter a mainland mobile number of 11 digits, e.g. 13800138000.")
        elif not phone and not anonymous:
            errors["phone"] = N_("Enter a mobile number so that we can reach you.")
        name = (self.contact_name or "").strip() or None
        if name and len(name) > 100:
            errors["contact_name"] = N_("The name can be at most 100 characters.")
        for coord, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
            value = getattr(self, coord)
            if value is not None and not (low <= value <= high):
                errors["location"] = N_("The map point is not valid.")
        if errors:
            raise ValidationError(errors)
        return TicketDraft(
            kind=kind,
            description=description,
            title=title,
            address=address,
            contact_name=name,
            phone=phone,
            anonymous=anonymous,
            category_code=(self.category_code or "").strip() or None,
            latitude=self.latitude,
            longitude=self.longitude,
            extra=self.extra,
            media=tuple(clean_references([*self.media, *(self.extra.get("images") or ())])),
        )


def _actor_fields(actor: Actor) -> dict[str, Any]:
    if isinstance(actor, StaffUser):
        return {"actor_type": "staff", "actor_id": actor.id, "actor_name": actor.display_name}
    if isinstance(actor, CitizenActor):
        return {"actor_type": "citizen", "actor_id": None, "actor_name": None}
    return {"actor_type": "system", "actor_id": None, "actor_name": None}


def _record(
    session: Session,
    ticket: Ticket,
    action: str,
    *,
    actor: Actor,
    from_stage: str | None,
    note: str | None = None,
    public: bool = True,
    data: dict[str, Any] | None = None,
    due_date: dt.date | None = None,
    clock_start: dt.date | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    """The event of ``action``, at ``at`` (the caller's moment: a ticket created then is not
    updated again for its first event), else now."""
    now = at or clock.now()
    ticket.updated_at = now
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        action=action,
        from_stage=from_stage,
        to_stage=ticket.stage,
        department_id=ticket.department_id,
        note=note,
        public=public,
        data=data,
        due_date=due_date,
        clock_start=clock_start,
        **_actor_fields(actor),
    )
    session.add(event)
    session.flush()
    notify.ticket_event(session, ticket, event)
    return event


def _expect_stage(ticket: Ticket, *stages: Stage) -> None:
    if ticket.stage not in {s.value for s in stages}:
        raise StageError(
            N_("Ticket %(number)s is not at a stage where this can be done."),
            number=ticket.number,
        )


def _clean_note(text: str | None, *, required: bool, what: str = "reason") -> str | None:
    cleaned = (text or "").strip()
    if required and not cleaned:
        raise ValidationError({what: N_("This field is required.")})
    if len(cleaned) > MAX_NOTE:
        raise ValidationError({what: N_("At most 4,000 characters.")})
    return cleaned or None


def _set_deadlines(session: Session, ticket: Ticket, *, total_days: int | None = None) -> None:
    """Start the clocks: the dispatch day does not count (期间开始之日不计算在内).

    A deadline policy that matches the ticket (tickets.policies) sets the deadlines instead of
    the seed's rules, and the ticket keeps it. The reviewer's 5/15 choice for a returned ticket
    is the seed's rule and always applies as such **(choice)**.
    """
    calendar = load_calendar(session)
    today = local_today(session)
    now = clock.now()
    policy = matching_policy(session, ticket) if total_days is None else None
    ticket.dispatched_at = now
    ticket.dispatch_date = today
    if policy is None:
        dues = due_dates(ticket.kind, today, calendar, total_days=total_days)
        ticket.deadline_policy_id = None
        ticket.review_due = dues.review
        ticket.handling_due = dues.handling
        ticket.review_due_at = ticket.handling_due_at = None
        ticket.total_days = dues.total_days
    else:
        deadlines = policy_deadlines(policy, ticket.kind, now, calendar, session_timezone(session))
        ticket.deadline_policy_id = policy.id
        ticket.review_due = deadlines.review
        ticket.review_due_at = deadlines.review_at
        ticket.handling_due = deadlines.handling
        ticket.handling_due_at = deadlines.handling_at
        ticket.total_days = deadlines.total_days
    ticket.due_date = ticket.review_due
    ticket.due_at = ticket.review_due_at
    ticket.supervision = moment_supervision_status(
        ticket.review_due, ticket.due_at, now, today, calendar
    )
    ticket.supervision_notified = None


def _clear_deadlines(ticket: Ticket) -> None:
    ticket.due_date = None
    ticket.due_at = None
    ticket.supervision = None
    ticket.supervision_notified = None


# -- submission ---------------------------------------------------------------------------------


def submit_ticket(
    session: Session,
    draft: TicketDraft,
    *,
    actor: Actor,
    channel: str,
    citizen: Citizen | None = None,
    idempotency_key: str | None = None,
) -> Ticket:
    """Create a ticket in ``submitted``. With an idempotency key, a retry returns the first ticket."""
    require(actor, "submit")
    if idempotency_key:
        existing = session.scalar(select(Ticket).where(Ticket.idempotency_key == idempotency_key))
        if existing is not None:
            return existing
    clean = draft.validated()
    category = None
    if clean.category_code:
        category = session.scalar(
            select(Category).where(Category.code == clean.category_code, Category.active)
        )
        if category is None:
            raise ValidationError({"category": N_("Choose a category from the list.")})
    now = clock.now()
    fields: dict[str, Any] = {
        "number": next_ticket_number(session, local_today(session), at_once=True),
        "query_code": new_query_code(),
        "kind": clean.kind,
        "category_id": category.id if category else None,
        "title": clean.title or "",
        "description": clean.description,
        "address": clean.address,
        "latitude": clean.latitude,
        "longitude": clean.longitude,
        "channel": channel,
        "citizen_id": citizen.id if citizen else None,
        "contact_name": clean.contact_name,
        "contact_phone": clean.phone,
        "anonymous": clean.anonymous,
        "urgent": False,
        "idempotency_key": idempotency_key,
        "stage": Stage.SUBMITTED.value,
        "is_returned": False,
        "needs_supervisor": False,
        "created_at": now,
        "updated_at": now,
    }
    if idempotency_key:
        # Two concurrent retries with one key: the unique constraint lets exactly one in, in one
        # INSERT … ON CONFLICT DO NOTHING (no savepoint); the other reads the first ticket.
        ticket = session.scalar(
            insert_for(session)(Ticket)
            .values(**fields)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Ticket)
        )
        if ticket is None:
            return session.scalars(
                select(Ticket).where(Ticket.idempotency_key == idempotency_key)
            ).one()
    else:
        ticket = Ticket(**fields)
        session.add(ticket)
        session.flush()
    _record(session, ticket, "submit", actor=actor, from_stage=None, at=now)
    if clean.media:
        add_media(session, ticket, clean.media)
    return ticket


# -- operator review (操作员审核) ----------------------------------------------------------------


def dispatch_ticket(
    session: Session,
    ticket: Ticket,
    department: Department,
    *,
    actor: Actor,
    note: str | None = None,
) -> TicketEvent:
    """Send a submitted ticket to a department; the kind's normal deadlines start again."""
    require(actor, "dispatch", ticket)
    _expect_stage(ticket, Stage.SUBMITTED)
    if not department.active:
        raise ValidationError({"department": N_("This department no longer takes tickets.")})
    from_stage = ticket.stage
    ticket.stage = Stage.DEPT_REVIEW.value
    ticket.department_id = department.id
    ticket.department = department
    ticket.is_returned = False
    _set_deadlines(session, ticket)
    return _record(
        session,
        ticket,
        "dispatch",
        actor=actor,
        from_stage=from_stage,
        note=_clean_note(note, required=False),
    )


def set_business_request(
    session: Session, ticket: Ticket, business: bool, *, actor: Actor
) -> TicketEvent | None:
    """The operator marks (or unmarks) a submitted ticket as a business request (企业诉求);
    its deadline policy (tickets.policies) is chosen when it is dispatched. None: no change."""
    require(actor, "mark_business_request", ticket)
    _expect_stage(ticket, Stage.SUBMITTED)
    if ticket.business_request == business:
        return None
    ticket.business_request = business
    return _record(
        session,
        ticket,
        "mark_business_request",
        actor=actor,
        from_stage=ticket.stage,
        public=False,
        data={"business_request": business},
    )


def _close(ticket: Ticket, reason: CloseReason) -> None:
    ticket.stage = Stage.CLOSED.value
    ticket.closed_at = clock.now()
    ticket.close_reason = reason.value
    _clear_deadlines(ticket)


def resolve_directly(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    answer: str,
    first_contact: bool = False,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """直接办结: the operator answers a consultation from the knowledge base and closes it.
    ``first_contact``: answered while the citizen was still on the line (tickets.intake), which
    analysis counts as resolved on first contact (``Ticket.first_contact``)."""
    require(actor, "resolve_directly", ticket)
    _expect_stage(ticket, Stage.SUBMITTED)
    if not _answerable_directly(ticket):
        raise StageError(N_("Only a consultation can be answered directly."))
    text = _clean_note(answer, required=True, what="answer")
    from_stage = ticket.stage
    ticket.reply = text
    ticket.replied_at = clock.now()
    ticket.first_contact = first_contact
    _close(ticket, CloseReason.DIRECT)
    return _record(
        session,
        ticket,
        "resolve_directly",
        actor=actor,
        from_stage=from_stage,
        note=text,
        data={**(data or {}), "first_contact": True} if first_contact else data,
    )


def record_transfer(
    session: Session,
    ticket: Ticket,
    partner: str,
    *,
    actor: Actor,
    partners: Mapping[str, Any],
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """转110 and similar: the matter belongs to another platform (``partners``: the configured
    TRANSFER_PARTNERS by code); the submitted ticket records where it went and is closed."""
    require(actor, "dispatch", ticket)
    _expect_stage(ticket, Stage.SUBMITTED)
    if partner not in partners:
        raise ValidationError({"partner": N_("Choose the platform the call goes to.")})
    text = _clean_note(note, required=False, what="note")
    from_stage = ticket.stage
    ticket.transferred_to = partner
    _close(ticket, CloseReason.TRANSFERRED)
    return _record(
        session,
        ticket,
        "transfer_out",
        actor=actor,
        from_stage=from_stage,
        note=text,
        data={**(data or {}), "partner": partner},
    )


def reject_ticket(session: Session, ticket: Ticket, *, actor: Actor, reason: str) -> TicketEvent:
    require(actor, "reject", ticket)
    _expect_stage(ticket, Stage.SUBMITTED)
    text = _clean_note(reason, required=True)
    from_stage = ticket.stage
    _close(ticket, CloseReason.REJECTED)
    return _record(session, ticket, "reject", actor=actor, from_stage=from_stage, note=text)


def merge_ticket(
    session: Session, ticket: Ticket, into: Ticket, *, actor: Actor, note: str | None = None
) -> TicketEvent:
    """Close a duplicate; the citizen follows the ticket it was merged into."""
    require(actor, "merge", ticket)
    _expect_stage(ticket, Stage.SUBMITTED)
    if into.id == ticket.id:
        raise ValidationError({"into": N_("A ticket cannot be merged into itself.")})
    if into.close_reason == CloseReason.MERGED:
        raise ValidationError(
            {"into": N_("That ticket was itself merged; choose the one it was merged into.")}
        )
    from_stage = ticket.stage
    ticket.merged_into_id = into.id
    _close(ticket, CloseReason.MERGED)
    return _record(
        session,
        ticket,
        "merge",
        actor=actor,
        from_stage=from_stage,
        note=_clean_note(note, required=False),
        data={"into": into.number},
    )


def mark_urgent(
    session: Session, ticket: Ticket, *, actor: Actor, reason: str | None = None
) -> TicketEvent:
    """应急: sorts first in every list; the department hears at once."""
    require(actor, "mark_urgent", ticket)
    if ticket.stage == Stage.CLOSED.value:
        raise StageError(N_("A closed ticket cannot be marked urgent."))
    if ticket.urgent:
        raise Conflict(N_("Ticket %(number)s is already urgent."), number=ticket.number)
    ticket.urgent = True
    return _record(
        session,
        ticket,
        "mark_urgent",
        actor=actor,
        from_stage=ticket.stage,
        note=_clean_note(reason, required=False),
        public=False,
    )


def urge_ticket(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """催办: the citizen asks again about an open ticket. Counted on the ticket; the department
    hears of every urge, and from the URGED_FLAG_AT-th the ticket is flagged (多次催办) and the
    supervisors hear of it too (``notify``)."""
    require(actor, "submit", ticket)
    require_staff(actor)
    if ticket.stage == Stage.CLOSED.value:
        raise StageError(
            N_("Ticket %(number)s is closed; register a new ticket."), number=ticket.number
        )
    text = _clean_note(note, required=False, what="note")
    ticket.urge_count = (ticket.urge_count or 0) + 1
    return _record(
        session,
        ticket,
        "urge",
        actor=actor,
        from_stage=ticket.stage,
        note=text,
        public=False,
        data={**(data or {}), "count": ticket.urge_count},
    )


def add_information(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    note: str,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """补充: more information from the citizen on an open ticket, in its timeline for the
    department (which is told)."""
    require(actor, "submit", ticket)
    require_staff(actor)
    if ticket.stage == Stage.CLOSED.value:
        raise StageError(
            N_("Ticket %(number)s is closed; register a new ticket."), number=ticket.number
        )
    text = _clean_note(note, required=True, what="note")
    return _record(
        session,
        ticket,
        "add_information",
        actor=actor,
        from_stage=ticket.stage,
        note=text,
        public=False,
        data=data,
    )


def require_staff(actor: Actor) -> None:
    """Call follow-ups are taken by hotline staff (``submit`` also lets citizens in)."""
    if not isinstance(actor, StaffUser):
        raise PermissionDenied(N_("You are not allowed to do this."))


# -- department (职能局审核 / 处理) --------------------------------------------------------------


def accept_ticket(
    session: Session, ticket: Ticket, *, actor: Actor, note: str | None = None
) -> TicketEvent:
    require(actor, "accept", ticket)
    _expect_stage(ticket, Stage.DEPT_REVIEW)
    from_stage = ticket.stage
    ticket.stage = Stage.HANDLING.value
    ticket.due_date = ticket.handling_due
    ticket.due_at = ticket.handling_due_at
    calendar = load_calendar(session)
    assert ticket.handling_due is not None
    ticket.supervision = moment_supervision_status(
        ticket.handling_due, ticket.due_at, clock.now(), local_today(session), calendar
    )
    ticket.supervision_notified = None
    return _record(
        session,
        ticket,
        "accept",
        actor=actor,
        from_stage=from_stage,
        note=_clean_note(note, required=False),
        due_date=ticket.review_due,
        clock_start=ticket.dispatch_date,
    )


def return_to_operator(
    session: Session, ticket: Ticket, *, actor: Actor, reason: str
) -> TicketEvent:
    """退回操作员审核: not the department's responsibility. Refused for a returned ticket."""
    require(actor, "return_to_operator", ticket)
    _expect_stage(ticket, Stage.DEPT_REVIEW)
    if ticket.is_returned:
        raise StageError(
            N_(
                "Ticket %(number)s was returned by the reviewer for re-handling; it cannot be returned to the operator."
            ),
            number=ticket.number,
        )
    text = _clean_note(reason, required=True)
    from_stage = ticket.stage
    due_date, clock_start = ticket.review_due, ticket.dispatch_date
    ticket.stage = Stage.SUBMITTED.value
    _clear_deadlines(ticket)
    ticket.review_due = ticket.handling_due = None
    ticket.review_due_at = ticket.handling_due_at = None
    ticket.deadline_policy_id = None
    # The event keeps the returning department; the ticket goes back without one.
    event = _record(
        session,
        ticket,
        "return_to_operator",
        actor=actor,
        from_stage=from_stage,
        note=text,
        public=False,
        due_date=due_date,
        clock_start=clock_start,
    )
    ticket.department_id = None
    ticket.department = None
    session.flush()
    return event


def reply_ticket(session: Session, ticket: Ticket, *, actor: Actor, reply: str) -> TicketEvent:
    """The department's answer (办理结果); the hotline's reviewer checks it next."""
    require(actor, "reply", ticket)
    _expect_stage(ticket, Stage.HANDLING)
    text = _clean_note(reply, required=True, what="reply")
    from_stage = ticket.stage
    ticket.reply = text
    ticket.replied_at = clock.now()
    ticket.stage = Stage.RE_REVIEW.value
    _clear_deadlines(ticket)
    return _record(
        session,
        ticket,
        "reply",
        actor=actor,
        from_stage=from_stage,
        note=text,
        due_date=ticket.handling_due,
        clock_start=ticket.dispatch_date,
    )


# -- re-review (复核) ----------------------------------------------------------------------------


def pass_review(
    session: Session, ticket: Ticket, *, actor: Actor, note: str | None = None
) -> TicketEvent:
    """The reply is good: ask the citizen (回访) on the channel they used."""
    require(actor, "pass_review", ticket)
    _expect_stage(ticket, Stage.RE_REVIEW)
    from_stage = ticket.stage
    ticket.stage = Stage.CALLBACK.value
    ticket.needs_supervisor = False
    now = clock.now()
    survey = Survey(
        ticket_id=ticket.id, channel=ticket.channel, sent_at=now, sent_date=local_today(session)
    )
    session.add(survey)
    session.flush()
    return _record(
        session,
        ticket,
        "pass_review",
        actor=actor,
        from_stage=from_stage,
        note=_clean_note(note, required=False),
        public=False,
        data={"survey_id": survey.id},
    )


def transfer_ticket(
    session: Session, ticket: Ticket, department: Department, *, actor: Actor, reason: str
) -> TicketEvent:
    """复核不通过, 转其他部门: a normal ticket at the new department, normal deadlines."""
    require(actor, "transfer", ticket)
    _expect_stage(ticket, Stage.RE_REVIEW)
    if department.id == ticket.department_id:
        raise ValidationError(
            {
                "department": N_(
                    "Choose a different department, or return the ticket to the same one."
                )
            }
        )
    if not department.active:
        raise ValidationError({"department": N_("This department no longer takes tickets.")})
    text = _clean_note(reason, required=True)
    from_stage = ticket.stage
    ticket.stage = Stage.DEPT_REVIEW.value
    ticket.department_id = department.id
    ticket.department = department
    ticket.is_returned = False
    _set_deadlines(session, ticket)
    return _record(session, ticket, "transfer", actor=actor, from_stage=from_stage, note=text)


def return_to_department(
    session: Session, ticket: Ticket, *, actor: Actor, total_days: int | None, reason: str
) -> TicketEvent:
    """复核不通过, 退回原部门重新处理: the reviewer must choose 5 or 15 working days (no default);
    the ticket becomes a returned ticket (退回工单)."""
    require(actor, "return_to_department", ticket)
    _expect_stage(ticket, Stage.RE_REVIEW)
    if total_days not in RETURN_TOTAL_CHOICES:
        raise ValidationError(
            {"total_days": N_("Choose the handling deadline: 5 or 15 working days.")}
        )
    if ticket.department_id is None:
        raise StageError(N_("This ticket has no department to return it to."))
    text = _clean_note(reason, required=True)
    from_stage = ticket.stage
    ticket.stage = Stage.DEPT_REVIEW.value
    ticket.is_returned = True
    _set_deadlines(session, ticket, total_days=total_days)
    return _record(
        session,
        ticket,
        "return_to_department",
        actor=actor,
        from_stage=from_stage,
        note=text,
        data={"total_days": total_days},
    )


# -- callback (回访) and closing -----------------------------------------------------------------


def current_survey(session: Session, ticket: Ticket) -> Survey | None:
    """The ticket's newest unanswered survey (a read; nothing is opened)."""
    return session.scalar(
        select(Survey)
        .where(Survey.ticket_id == ticket.id, Survey.answered_at.is_(None))
        .order_by(Survey.id.desc())
        .limit(1)
    )


def survey_is_open(session: Session, ticket: Ticket, survey: Survey) -> bool:
    """Whether this survey (e.g. the one a signed link names) can still be answered: the ticket
    waits for its callback and this is its current, unanswered survey."""
    if ticket.stage != Stage.CALLBACK or survey.answered_at is not None:
        return False
    current = current_survey(session, ticket)
    return current is not None and current.id == survey.id


def _finish_survey(
    session: Session,
    ticket: Ticket,
    *,
    actor: Actor,
    satisfaction: str,
    comment: str | None,
    method: str,
    action: str,
) -> TicketEvent:
    _expect_stage(ticket, Stage.CALLBACK)
    if satisfaction not in {s.value for s in Satisfaction}:
        raise ValidationError(
            {"satisfaction": N_("Choose satisfied, basically satisfied or unsatisfied.")}
        )
    text = _clean_note(comment, required=False, what="comment")
    survey = current_survey(session, ticket)
    now = clock.now()
    if survey is None:  # a phone callback before any survey went out
        survey = Survey(
            ticket_id=ticket.id, channel=ticket.channel, sent_at=now, sent_date=local_today(session)
        )
        session.add(survey)
    survey.answered_at = now
    survey.satisfaction = satisfaction
    survey.comment = text
    survey.method = method
    survey.recorded_by_id = actor.id if isinstance(actor, StaffUser) else None
    from_stage = ticket.stage
    ticket.satisfaction = satisfaction
    # (choice) 不满意 flags the ticket for a supervisor, who may reopen it.
    ticket.needs_supervisor = satisfaction == Satisfaction.UNSATISFIED
    _close(ticket, CloseReason.SURVEYED)
    session.flush()
    return _record(
        session,
        ticket,
        action,
        actor=actor,
        from_stage=from_stage,
        note=text,
        data={"satisfaction": satisfaction, "method": method},
    )


def record_callback(
    session: Session, ticket: Ticket, *, actor: Actor, satisfaction: str, comment: str | None = None
) -> TicketEvent:
    """Staff record a callback made by phone."""
    require(actor, "record_callback", ticket)
    return _finish_survey(
        session,
        ticket,
        actor=actor,
        satisfaction=satisfaction,
        comment=comment,
        method="phone",
        action="record_callback",
    )


def answer_survey(
    session: Session, ticket: Ticket, *, actor: Actor, satisfaction: str, comment: str | None = None
) -> TicketEvent:
    """The citizen answers the survey on their channel (a survey can be answered once)."""
    require(actor, "answer_survey", ticket)
    if ticket.stage != Stage.CALLBACK:
        raise Conflict(N_("This survey has already been answered or is closed."))
    return _finish_survey(
        session,
        ticket,
        actor=actor,
        satisfaction=satisfaction,
        comment=comment,
        method="channel",
        action="answer_survey",
    )


def add_survey_comment(
    session: Session, ticket: Ticket, *, actor: Actor, comment: str
) -> TicketEvent:
    """A comment the citizen sends after the rating. Chat channels record the rating at once
    (so it is never lost if the citizen stops writing) and ask for the comment separately."""
    require(actor, "answer_survey", ticket)
    survey = session.scalar(
        select(Survey)
        .where(Survey.ticket_id == ticket.id, Survey.method == "channel")
        .order_by(Survey.id.desc())
        .limit(1)
    )
    if survey is None or survey.comment:
        raise Conflict(N_("This survey has already been answered or is closed."))
    text = _clean_note(comment, required=True, what="comment")
    survey.comment = text
    return _record(
        session,
        ticket,
        "survey_comment",
        actor=actor,
        from_stage=ticket.stage,
        note=text,
        public=False,
    )


def close_without_response(session: Session, ticket: Ticket, *, actor: Actor) -> TicketEvent:
    """(choice) A survey unanswered for 3 working days closes the ticket as "no response"."""
    require(actor, "close_no_response", ticket)
    _expect_stage(ticket, Stage.CALLBACK)
    survey = current_survey(session, ticket)
    now = clock.now()
    if survey is not None:
        survey.answered_at = now
        survey.method = "no_response"
    from_stage = ticket.stage
    _close(ticket, CloseReason.NO_RESPONSE)
    return _record(session, ticket, "close_no_response", actor=actor, from_stage=from_stage)


def reopen_ticket(session: Session, ticket: Ticket, *, actor: Actor, reason: str) -> TicketEvent:
    """A supervisor reopens a closed, unsatisfied ticket into re-review, from where the
    re-review paths (transfer, or return to the department with 5/15 days) continue."""
    require(actor, "reopen", ticket)
    _expect_stage(ticket, Stage.CLOSED)
    if not _reopenable(ticket):
        raise StageError(N_("Only a ticket a department has handled can be reopened."))
    text = _clean_note(reason, required=True)
    from_stage = ticket.stage
    ticket.stage = Stage.RE_REVIEW.value
    ticket.closed_at = None
    ticket.close_reason = None
    ticket.needs_supervisor = False
    return _record(
        session, ticket, "reopen", actor=actor, from_stage=from_stage, note=text, public=False
    )


def _answerable_directly(ticket: Ticket) -> bool:
    return ticket.kind == Kind.CONSULTATION


def _reopenable(ticket: Ticket) -> bool:
    """Closed after a department handled it and the citizen answered (or did not)."""
    return (
        ticket.close_reason in (CloseReason.SURVEYED, CloseReason.NO_RESPONSE)
        and ticket.department_id is not None
    )


def _at(*stages: Stage) -> Callable[[Ticket], bool]:
    values = {stage.value for stage in stages}
    return lambda ticket: ticket.stage in values


# action → when the ticket itself allows it (the stage, and a few conditions of the transition);
# who may is ``access``. The staff console asks :func:`available_actions` instead of re-deriving.
APPLIES: dict[str, Callable[[Ticket], bool]] = {
    "dispatch": _at(Stage.SUBMITTED),
    "resolve_directly": lambda t: _at(Stage.SUBMITTED)(t) and _answerable_directly(t),
    "reject": _at(Stage.SUBMITTED),
    "merge": _at(Stage.SUBMITTED),
    "accept": _at(Stage.DEPT_REVIEW),
    "return_to_operator": _at(Stage.DEPT_REVIEW),
    "reply": _at(Stage.HANDLING),
    "pass_review": _at(Stage.RE_REVIEW),
    "transfer": _at(Stage.RE_REVIEW),
    "return_to_department": _at(Stage.RE_REVIEW),
    "record_callback": _at(Stage.CALLBACK),
    "answer_survey": _at(Stage.CALLBACK),
    "close_no_response": _at(Stage.CALLBACK),
    "reopen": lambda t: _at(Stage.CLOSED)(t) and _reopenable(t),
    "mark_urgent": lambda t: t.stage != Stage.CLOSED.value and not t.urgent,
    "mark_business_request": _at(Stage.SUBMITTED),
}


def available_actions(actor: Actor, ticket: Ticket) -> frozenset[str]:
    """The transitions this actor may make on this ticket now."""
    return frozenset(
        action
        for action, applies in APPLIES.items()
        if applies(ticket) and access.can(actor, action, ticket)
    )


def get_ticket_by_number(session: Session, number: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number))
