"""Conversations, their messages and hand-offs to staff.

One :class:`Conversation` per channel identity (channel + the channel's user id) carries the dialog
state, so a conversation survives a restart and any app process can continue it. Every message in
either direction is a :class:`ChatMessage`; an inbound message keeps the channel's message id, which
is how a resent message is recognised. A :class:`Handoff` is one wait for (and talk with) a staff
member; its timestamps are what the dashboard's pick-up rate and wait figures are computed from,
and every change of its state leaves one :class:`HandoffEvent` (inserted, never changed).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, JSONType
from core.i18n import N_
from directory.models import StaffUser


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


class HandoffStatus(StrEnum):
    WAITING = "waiting"  # in a staff queue
    ACTIVE = "active"  # a staff member has picked it up
    ENDED = "ended"  # over; ``outcome`` says how


class HandoffReason(StrEnum):
    ASKED = "asked"  # the citizen asked for a person
    MISSES = "misses"  # the engine gave up after repeated unanswered questions


class HandoffOutcome(StrEnum):
    ENDED = "ended"  # staff ended the chat
    CONVERTED = "converted"  # staff ended it after registering a ticket from it
    CANCELLED = "cancelled"  # the citizen left the queue
    ABANDONED = "abandoned"  # staff closed a waiting chat nobody took


class HandoffAction(StrEnum):
    """What a :class:`HandoffEvent` records."""

    QUEUED = "queued"  # the citizen was put in a staff queue
    PICKED_UP = "picked_up"  # a staff member took the chat
    TICKET_REGISTERED = "ticket_registered"  # staff registered a ticket from the chat
    ENDED = "ended"  # staff ended the chat (or closed a waiting one)
    CANCELLED = "cancelled"  # the citizen left the queue


class ActorType(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"
    SYSTEM = "system"


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
    status: Mapped[str] = mapped_column(String(20))  # HandoffStatus
    reason: Mapped[str] = mapped_column(String(20))  # HandoffReason
    topic: Mapped[str | None] = mapped_column(String(200))  # the question that led here
    handed_off_at: Mapped[dt.datetime]
    picked_up_at: Mapped[dt.datetime | None]
    picked_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    wait_seconds: Mapped[float | None]
    ended_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))  # HandoffOutcome
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    conversation: Mapped[Conversation] = relationship()
    picked_up_by: Mapped[StaffUser | None] = relationship()


class HandoffEvent(Base):
    """One change in a hand-off's life: who (a staff member, the citizen, the system), when, what.
    Written in the transaction of the change; rows are only ever inserted."""

    __tablename__ = "chat_handoff_events"
    __table_args__ = (Index("ix_chat_handoff_events_handoff", "handoff_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("chat_handoffs.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id"))
    at: Mapped[dt.datetime]
    action: Mapped[str] = mapped_column(String(30))  # HandoffAction
    actor_type: Mapped[str] = mapped_column(String(20))  # ActorType
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))  # staff only
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType())

    actor: Mapped[StaffUser | None] = relationship()


@event.listens_for(HandoffEvent, "before_update")
@event.listens_for(HandoffEvent, "before_delete")
def _events_are_immutable(_mapper: Any, _connection: Any, target: HandoffEvent) -> None:
    raise TypeError(f"hand-off event {target.id} is an audit row: insert only")


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
