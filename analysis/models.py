"""The quarterly service assessment's configuration and the assessor's entries.

``AssessmentIndicator``: one of the indicators of the assessment (服务评价方案: 100 points in
three categories), with its weight (points), target and direction, and, for the indicators the
system measures, the figure it is measured by (``analysis.assessment.MEASURES``); admins edit
them. ``AssessmentEntry``: the value the assessor entered for an indicator the system cannot
measure, per quarter. Entries are keyed by the indicator's code, so editing the configuration
never loses what was entered."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.engine.models import ChatMessage
from core.db import Base, JSONType
from tickets.models import Survey, TicketEvent

# Indexes the analysis reads by, on the tables it reads (declared here, with the figures that
# need them; migration 0011): the events, surveys and chat messages of a date range.
Index("ix_ticket_events_at", TicketEvent.at)
Index("ix_surveys_sent_at", Survey.sent_at)
Index("ix_chat_messages_created_at", ChatMessage.created_at)


class AssessmentIndicator(Base):
    __tablename__ = "assessment_indicators"
    __table_args__ = (
        CheckConstraint("category IN ('platform','manual','after_sales')", name="category"),
        CheckConstraint("comparison IN ('ge','le')", name="comparison"),
        CheckConstraint("weight >= 0", name="weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)  # points of the 100
    target: Mapped[float] = mapped_column(Float)
    comparison: Mapped[str] = mapped_column(String(2))  # ge: at least the target; le: at most
    unit: Mapped[str] = mapped_column(String(10))  # percent | seconds | points | count
    measure: Mapped[str | None] = mapped_column(String(40))  # None: entered by the assessor
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class AssessmentEntry(Base):
    __tablename__ = "assessment_entries"
    __table_args__ = (UniqueConstraint("quarter", "indicator_code", name="uq_assessment_entry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6))  # 2026Q1
    indicator_code: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    entered_at: Mapped[dt.datetime]


class Incident(Base):
    """A possible incident (应急事件) a supervisor confirmed from a cluster of similar tickets
    (``analysis.hot``): its tickets (``IncidentTicket``, each ticket in one incident at most) and
    its audit trail (``IncidentEvent``)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class IncidentTicket(Base):
    __tablename__ = "incident_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)


class IncidentEvent(Base):
    """The audit row of an incident: who did what when (``mark``: the tickets and the
    departments notified, in ``data``)."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    at: Mapped[dt.datetime]
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
