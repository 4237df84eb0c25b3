"""Conversations, their messages and hand-offs to staff.

One :class:`Conversation` per channel identity (channel + the channel's user id) carries the dialog
state, so a conversation survives a restart and any app process can continue it. Every message in
either direction is a :class:`ChatMessage`; an inbound message keeps the channel's message id, which
is how a resent message is recognised. A :class:`Handoff` is one wait for (and talk with) a staff
member; its timestamps are what the dashboard's pick-up rate and wait figures are computed from.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, JSONType
from core.i18n import N_
from tickets.models import StaffUser


class Mode(StrEnum):
    BOT = "bot"  # the engine answers
    WAITING = "waiting"  # handed off, waiting in a staff queue
    STAFF = "staff"  # a staff member has the chat


class Queue(StrEnum):
    GENERAL = "general"  # 综合
    SPECIALIST = "specialist"  # 专席 (人社: social security and employment)


QUEUE_LABELS = {
    Queue.GENERAL: N_("General"),
    Queue.SPECIALIST: N_("Specialist (HR & social security)"),
}


class Sender(StrEnum):
    CITIZEN = "citizen"
    BOT = "bot"
    STAFF = "staff"


class Conversation(Base):
    __tablename__ = "chat_conversations"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_chat_conversation_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(200))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    mode: Mapped[str] = mapped_column(String(10), default=Mode.BOT.value)
    state: Mapped[str] = mapped_column(String(30), default="idle")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    # The open hand-off (waiting or active); a plain id, not a foreign key, so that the two tables
    # do not reference each other in a cycle.
    handoff_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Handoff(Base):
    """One hand-off: queued at ``handed_off_at``, picked up (or not), ended."""

    __tablename__ = "chat_handoffs"
    __table_args__ = (
        # The staff queue: waiting hand-offs, oldest first, per queue.
        Index("ix_chat_handoffs_waiting", "status", "queue", "handed_off_at"),
        # Dashboard figures over a period.
        Index("ix_chat_handoffs_handed_off_at", "handed_off_at"),
        Index("ix_chat_handoffs_staff", "picked_up_by_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id"), index=True)
    queue: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # waiting | active | ended
    reason: Mapped[str] = mapped_column(String(20))  # asked | misses
    topic: Mapped[str | None] = mapped_column(String(200))  # the question that led here
    handed_off_at: Mapped[dt.datetime]
    picked_up_at: Mapped[dt.datetime | None]
    picked_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    wait_seconds: Mapped[float | None]
    ended_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))  # ended | cancelled | converted
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    conversation: Mapped[Conversation] = relationship()
    picked_up_by: Mapped[StaffUser | None] = relationship()


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "external_id", name="uq_chat_message_external"),
        Index("ix_chat_messages_conversation", "conversation_id", "id"),
        Index("ix_chat_messages_reply_to", "reply_to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id"))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("chat_handoffs.id"))
    sender: Mapped[str] = mapped_column(String(10))  # citizen | bot | staff
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))  # the channel's message id
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("chat_messages.id"))
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType())
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType())  # location, image, voice
    created_at: Mapped[dt.datetime]

    staff: Mapped[StaffUser | None] = relationship()
