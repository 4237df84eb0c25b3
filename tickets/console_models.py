"""Models behind the staff console's supporting features: canned replies and the weekly quality
inspection (工单质检) of closed tickets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from directory.models import Department, StaffUser
from tickets.models import Ticket


class CannedReply(Base):
    """A ready-made text staff insert into a reply or a chat answer."""

    __tablename__ = "canned_replies"
    __table_args__ = (Index("ix_canned_replies_scope", "scope", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))  # reply | chat | callback | any
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class QualityWeek(Base):
    """One department's sample for one week: how many tickets closed and how many were drawn.
    The inspection rate (工单质检率) is scored / closed; the dashboard reads these rows."""

    __tablename__ = "quality_weeks"
    __table_args__ = (UniqueConstraint("week_start", "department_id", name="uq_quality_week_dept"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date)  # a Monday, local date
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    closed_count: Mapped[int] = mapped_column(Integer)
    sample_share: Mapped[float] = mapped_column(Float)
    sampled_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]

    department: Mapped[Department] = relationship(lazy="joined")


class QualityInspection(Base):
    """One sampled ticket and, once a supervisor scored it, the checklist and comment."""

    __tablename__ = "quality_inspections"
    __table_args__ = (
        UniqueConstraint("week_start", "ticket_id", name="uq_quality_inspection_ticket"),
        Index("ix_quality_inspections_week", "week_start", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    sampled_at: Mapped[dt.datetime]
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    scored_at: Mapped[dt.datetime | None]
    right_department: Mapped[bool | None] = mapped_column(Boolean)
    answers_question: Mapped[bool | None] = mapped_column(Boolean)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    polite_clear: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)  # 0–100, 25 per checklist item
    comment: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    inspector: Mapped[StaffUser | None] = relationship()
