"""Delivery: the outbox every message to a citizen or to staff goes through, and its worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JSONType


class OutboxStatus:
    PENDING = "pending"  # waiting to be sent (or claimed by a worker under a lease)
    SENT = "sent"  # the channel accepted it
    DEAD = "dead"  # dead letter: a permanent failure or too many attempts; admins retry or drop
    DROPPED = "dropped"  # an admin decided it will never be sent


class OutboxMessage(Base):
    """A message to send after the transaction that caused it commits.

    ``idempotency_key`` makes one change produce one message even when the change is retried.

    Staff messages (channel ``staff``) are also the staff inbox: once the worker marks them sent
    they are "delivered" to the department's (``department:<id>``) or the supervisors'
    (``supervisors``) inbox, which the console reads with :func:`delivery.inbox.staff_inbox`.
    Web messages likewise are the citizen's web inbox on the track page.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Dead-letter list (keyset by id) and inboxes (newest first per recipient).
        Index("ix_outbox_status_id", "status", "id"),
        Index("ix_outbox_inbox", "channel", "recipient", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    audience: Mapped[str] = mapped_column(String(20))  # citizen | department | supervisor | staff
    channel: Mapped[str] = mapped_column(String(20))  # web | wechat | telegram | sms | staff
    recipient: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType())
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sent|dead|dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class JobLock(Base):
    """One row per scheduled job: a lease so that two schedulers never run a job at once, and the
    last start so that a job runs once per interval across every machine (works on SQLite and
    PostgreSQL alike)."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    locked_until: Mapped[dt.datetime | None]
    owner: Mapped[str | None] = mapped_column(String(100))
    last_started_at: Mapped[dt.datetime | None]
    last_finished_at: Mapped[dt.datetime | None]
    last_result: Mapped[str | None] = mapped_column(String(500))
