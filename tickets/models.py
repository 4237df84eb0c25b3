"""Ticket domain models: tickets, their append-only events, attachments (and the pictures still
to be fetched), callback surveys and working-day overrides. Who is who (departments, categories,
staff, citizens) is ``directory``."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, JSONType
from core.i18n import N_
from directory.models import Category, Citizen, Department


class Kind(StrEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    PRAISE = "praise"
    REPORT = "report"


KIND_LABELS = {
    Kind.CONSULTATION: N_("Consultation"),
    Kind.COMPLAINT: N_("Complaint"),
    Kind.SUGGESTION: N_("Suggestion"),
    Kind.PRAISE: N_("Praise"),
    Kind.REPORT: N_("Report"),
}


class Stage(StrEnum):
    SUBMITTED = "submitted"
    DEPT_REVIEW = "dept_review"
    HANDLING = "handling"
    RE_REVIEW = "re_review"
    CALLBACK = "callback"
    CLOSED = "closed"


STAGE_LABELS = {
    Stage.SUBMITTED: N_("Awaiting operator review"),
    Stage.DEPT_REVIEW: N_("Department review"),
    Stage.HANDLING: N_("Being handled"),
    Stage.RE_REVIEW: N_("Awaiting re-review"),
    Stage.CALLBACK: N_("Awaiting callback"),
    Stage.CLOSED: N_("Closed"),
}

OPEN_STAGES = (Stage.SUBMITTED, Stage.DEPT_REVIEW, Stage.HANDLING, Stage.RE_REVIEW, Stage.CALLBACK)


class Supervision(StrEnum):
    NORMAL = "normal"
    WARNING = "warning"
    YELLOW = "yellow"
    RED = "red"


SUPERVISION_LABELS = {
    Supervision.NORMAL: N_("Normal"),
    Supervision.WARNING: N_("Warning"),
    Supervision.YELLOW: N_("Yellow card"),
    Supervision.RED: N_("Red card"),
}


class CloseReason(StrEnum):
    DIRECT = "direct"  # 直接办结 by the operator
    REJECTED = "rejected"
    MERGED = "merged"
    SURVEYED = "surveyed"  # callback answered
    NO_RESPONSE = "no_response"  # survey unanswered after 3 working days
    TRANSFERRED = "transferred"  # a call handed to another platform (转110 …): tickets.intake
    HISTORY = "history"  # imported from the previous system (tickets.history)


# One wording for the staff console's badge and the citizen's "closed" message.
CLOSE_REASON_LABELS = {
    CloseReason.DIRECT: N_("answered directly by the hotline"),
    CloseReason.REJECTED: N_("not accepted"),
    CloseReason.MERGED: N_("merged into another ticket"),
    CloseReason.SURVEYED: N_("callback completed"),
    CloseReason.NO_RESPONSE: N_("no response to the callback survey"),
    CloseReason.TRANSFERRED: N_("transferred to another service platform"),
    CloseReason.HISTORY: N_("imported from the previous system"),
}

# A ticket urged (催办) this many times is flagged for the department and the supervisors.
URGED_FLAG_AT = 2


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


SATISFACTION_LABELS = {
    Satisfaction.SATISFIED: N_("Satisfied"),
    Satisfaction.BASICALLY: N_("Basically satisfied"),
    Satisfaction.UNSATISFIED: N_("Unsatisfied"),
}


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('consultation','complaint','suggestion','praise','report')", name="kind"
        ),
        CheckConstraint(
            "stage IN ('submitted','dept_review','handling','re_review','callback','closed')",
            name="stage",
        ),
        CheckConstraint(
            "supervision IS NULL OR supervision IN ('normal','warning','yellow','red')",
            name="supervision",
        ),
        UniqueConstraint("idempotency_key", name="uq_tickets_idempotency_key"),
        # Queue screens: newest first per stage, per department by urgency, supervision sweeps.
        Index("ix_tickets_stage_created", "stage", "created_at"),
        Index("ix_tickets_department_stage", "department_id", "stage", "urgent", "due_date"),
        Index("ix_tickets_due_date", "due_date"),
        Index("ix_tickets_citizen", "citizen_id", "created_at"),
        # Staff console (tickets/queries.py): stage queues urgent-first, the all-tickets search,
        # the 不满意 list for supervisors, the weekly quality sample of closed tickets.
        Index("ix_tickets_stage_urgent_created", "stage", "urgent", "created_at", "id"),
        Index("ix_tickets_created", "created_at", "id"),
        Index("ix_tickets_needs_supervisor", "needs_supervisor", "created_at"),
        Index("ix_tickets_closed_at", "closed_at"),
        # The call intake screen: the caller's earlier tickets by the number they call from.
        Index("ix_tickets_contact_phone", "contact_phone", "created_at"),
        # The supervisors' list of tickets urged again and again (多次催办).
        Index("ix_tickets_urged", "urge_count", "created_at", "id"),
        # No index mentions `supervision`, and pages keep 15% free: the daily refresh then
        # rewrites a ticket's status as a HOT update on PostgreSQL (no index maintenance), which
        # made a million-ticket sweep several times faster. Queries for yellow/red tickets go
        # through ix_tickets_due_date (status is a function of the due date).
        {"postgresql_with": {"fillfactor": 85}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    query_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(20))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    channel: Mapped[str] = mapped_column(String(20))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))

    stage: Mapped[str] = mapped_column(String(20), default=Stage.SUBMITTED.value)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    is_returned: Mapped[bool] = mapped_column(Boolean, default=False)  # 退回工单
    dispatched_at: Mapped[dt.datetime | None]
    # The local date the clocks started on: deadlines are recomputed from it when staff change
    # the calendar (a holiday entered for a year the calendar package does not know yet).
    dispatch_date: Mapped[dt.date | None] = mapped_column(Date)
    total_days: Mapped[int | None] = mapped_column(Integer)
    review_due: Mapped[dt.date | None] = mapped_column(Date)
    handling_due: Mapped[dt.date | None] = mapped_column(Date)
    # The deadline that matters now: review_due in dept_review, handling_due in handling, else NULL.
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    supervision: Mapped[str | None] = mapped_column(String(10))
    supervision_notified: Mapped[str | None] = mapped_column(String(10))
    # Deadline policies (tickets.policies): the operator's 企业诉求 flag, the policy the ticket
    # was dispatched under (NULL: the seed's working-day rules), and the exact moments of
    # deadlines that end at a working hour (NULL: the deadline lasts to the end of its date).
    business_request: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    deadline_policy_id: Mapped[int | None] = mapped_column(ForeignKey("deadline_policies.id"))
    review_due_at: Mapped[dt.datetime | None]
    handling_due_at: Mapped[dt.datetime | None]
    # The moment that matters now, beside due_date (review_due_at or handling_due_at).
    due_at: Mapped[dt.datetime | None]

    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(20))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    satisfaction: Mapped[str | None] = mapped_column(String(30))
    needs_supervisor: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # Phone calls (tickets.intake): how often the citizen urged it (催办; flagged from
    # URGED_FLAG_AT), answered on the call itself (直接办结 on first contact), or handed to
    # another platform (the TRANSFER_PARTNERS code, with close reason "transferred").
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_contact: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    transferred_to: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    department: Mapped[Department | None] = relationship(lazy="joined")
    category: Mapped[Category | None] = relationship(lazy="joined")
    citizen: Mapped[Citizen | None] = relationship()
    merged_into: Mapped[Ticket | None] = relationship(remote_side=[id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="ticket")
    # 协办: departments that add their part to the lead's handling (tickets.cohandling).
    co_handlers: Mapped[list[TicketCoHandler]] = relationship(
        back_populates="ticket", order_by="TicketCoHandler.id"
    )

    @property
    def kind_enum(self) -> Kind:
        return Kind(self.kind)

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)

    @property
    def urged_flag(self) -> bool:
        """Urged often enough to be flagged (多次催办)."""
        return (self.urge_count or 0) >= URGED_FLAG_AT


class TicketEvent(Base):
    """One transition or note in a ticket's life. Rows are only ever inserted."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[dt.datetime]
    action: Mapped[str] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(20))  # staff | citizen | system
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # shown on the citizen's timeline
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    # A department's step on a running clock (accept, return_to_operator, reply): the deadline it
    # was due by (review for the first two, handling for a reply) and the local date the clock
    # started, as they were when it happened, so that figures never reconstruct them.
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    clock_start: Mapped[dt.date | None] = mapped_column(Date)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    department: Mapped[Department | None] = relationship()


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class MediaStatus(StrEnum):
    PENDING = "pending"  # waiting for (or being retried by) the media job
    FETCHED = "fetched"  # stored: ``attachment_id`` is the file
    FAILED = "failed"  # never will be: ``last_error`` says why


class TicketMedia(Base):
    """A picture a channel handed over by reference (``wechat-media:<MediaId>``) with a
    submission. It becomes an :class:`Attachment` when the background job has fetched it
    (``tickets.media``); until then no page lists it."""

    __tablename__ = "ticket_media"
    __table_args__ = (
        CheckConstraint("status IN ('pending','fetched','failed')", name="status"),
        UniqueConstraint("ticket_id", "source", name="uq_ticket_media_ticket_source"),
        Index("ix_ticket_media_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    source: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default=MediaStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the job may take it next (a retry's backoff, or the lease of a fetch under way).
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(String(500))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    ticket: Mapped[Ticket] = relationship()
    attachment: Mapped[Attachment | None] = relationship()


class Survey(Base):
    """A callback survey (回访): sent when the reviewer passes the reply, answered once."""

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_open", "answered_at", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[dt.datetime]
    sent_date: Mapped[dt.date] = mapped_column(Date)  # local date, for working-day reminders
    reminded_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    satisfaction: Mapped[str | None] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(String(20))  # channel | phone | no_response
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    ticket: Mapped[Ticket] = relationship()


class HolidayOverride(Base):
    """A staff decision that a date is a working day or not (years the calendar package lacks)."""

    __tablename__ = "holiday_overrides"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime]


class TicketNumberCounter(Base):
    """Per-day sequence behind readable ticket numbers; one row a day, incremented atomically."""

    __tablename__ = "ticket_number_counters"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class RoutingModelRecord(Base):
    """A trained routing model (``tickets.routing``): the scheduler's job writes one as tickets
    close, every process loads the newest (lazily, again when its token changes)."""

    __tablename__ = "routing_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # random: tells versions apart
    trained_at: Mapped[dt.datetime]
    # What it was trained on: the count and the newest closing of the tickets it learned from.
    signature: Mapped[str] = mapped_column(String(100))
    examples: Mapped[int] = mapped_column(Integer)
    departments: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class DispatchCatalogueEntry(Base):
    """One version of the dispatch catalogue's line for a category (派单目录): the lead
    department (主办) and who may co-handle (协办). Rows are only ever inserted: the newest
    version of a category is in force, the older ones are its recorded changes
    (``tickets.catalogue``)."""

    __tablename__ = "dispatch_catalogue"
    __table_args__ = (
        UniqueConstraint("category_id", "version", name="uq_dispatch_catalogue_category_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    version: Mapped[int] = mapped_column(Integer)
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    co_handler_ids: Mapped[list[int]] = mapped_column(JSONType())
    note: Mapped[str | None] = mapped_column(String(500))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    changed_at: Mapped[dt.datetime]

    category: Mapped[Category] = relationship()
    lead_department: Mapped[Department] = relationship()


class TicketCoHandler(Base):
    """A co-handling department (协办) of a ticket and the part it added. The lead department
    (``Ticket.department_id``, 主办) replies; a co-handler's part is due within the lead's
    handling deadline (``tickets.cohandling``)."""

    __tablename__ = "ticket_co_handlers"
    __table_args__ = (
        UniqueConstraint("ticket_id", "department_id", name="uq_ticket_co_handlers_department"),
        Index("ix_ticket_co_handlers_department", "department_id", "part_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    assigned_at: Mapped[dt.datetime]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    part: Mapped[str | None] = mapped_column(Text)
    part_at: Mapped[dt.datetime | None]
    part_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="co_handlers")
    department: Mapped[Department] = relationship()


class TicketDispute(Base):
    """A dispatch dispute (派单异议): the department says the ticket is not its matter; an
    operator or supervisor decides (``tickets.disputes``). Raised once, decided once."""

    __tablename__ = "ticket_disputes"
    __table_args__ = (
        Index("ix_ticket_disputes_ticket", "ticket_id", "decided_at"),
        Index("ix_ticket_disputes_raised", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))  # the disputing one
    reason: Mapped[str] = mapped_column(Text)
    suggested_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    raised_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    decision_note: Mapped[str | None] = mapped_column(Text)
    new_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))


class DeadlinePolicy(Base):
    """A deadline policy (时限规则) for a class of requests, beside the seed's 5/15/30 working-day
    default (``tickets.policies``): which tickets it applies to (the 企业诉求 flag and/or
    categories), the department review part (working hours or working days) and the total per
    kind in working days, on its own working hours. Tickets keep the policy they were dispatched
    under; a policy is never edited, only replaced (deactivated, and a new one added)."""

    __tablename__ = "deadline_policies"
    __table_args__ = (
        UniqueConstraint("code", name="uq_deadline_policies_code"),
        CheckConstraint(
            "(review_hours IS NULL) <> (review_days IS NULL)", name="review_hours_or_days"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    business_only: Mapped[bool] = mapped_column(Boolean, default=False)
    category_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    review_hours: Mapped[int | None] = mapped_column(Integer)
    review_days: Mapped[int | None] = mapped_column(Integer)
    # kind → total working days; kinds not listed take default_total_days.
    total_days: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    default_total_days: Mapped[int] = mapped_column(Integer)
    working_hours: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    deactivated_at: Mapped[dt.datetime | None]
