"""Call records from the switchboard (CTI), the events they are built from, the switchboard
systems and the keys they sign with, and the signatures already seen (replay guard).

One :class:`Call` row per call id per switchboard system. Its times come from the events
(offered, answered, ended, abandoned) in whatever order they arrive; the derived columns (wait,
handling time, local date and hour of the offer) are recomputed from the times after every
event, so the figures are plain sums over indexed columns.

Fields the staff console may read on a :class:`Call` (``calls.service.active_call_for_staff``
and ``calls.service.get_call`` return it):

- ``id``: the row id (stable; use it in links), ``call_id``: the switchboard's own id
- ``caller_number``: the caller's number as the switchboard sent it (digits, maybe ``+``), or
  None when no event carried it yet
- ``queue``: the switchboard queue, e.g. ``专席 人社`` or ``综合`` (None if not sent yet)
- ``agent_code`` and ``staff_id``: the agent who answered and the console user it maps to
- ``offered_at``, ``answered_at``, ``ended_at``, ``abandoned_at``: aware UTC datetimes or None
- ``wait_seconds`` (offer to answer, or to abandon), ``handling_seconds`` (answer to end)
- ``status``: ``offered``, ``answered``, ``ended`` or ``abandoned`` (a property)
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, JSONType
from core.i18n import N_
from directory.models import StaffUser


class EventType(StrEnum):
    OFFERED = "offered"  # the call reached a queue (呼入排队)
    ANSWERED = "answered"  # an agent picked it up (人工接通)
    ENDED = "ended"  # the answered call was hung up
    ABANDONED = "abandoned"  # the caller hung up before an agent answered (放弃)


EVENT_LABELS = {
    EventType.OFFERED: N_("Offered"),
    EventType.ANSWERED: N_("Answered"),
    EventType.ENDED: N_("Ended"),
    EventType.ABANDONED: N_("Abandoned"),
}


class CtiSystem(Base):
    """A switchboard that sends call events. Its call ids are its own namespace."""

    __tablename__ = "cti_systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime]

    keys: Mapped[list[CtiKey]] = relationship(back_populates="system", order_by="CtiKey.id")


class CtiKey(Base):
    """A signing key of a switchboard system (several while one is rotated).

    The secret is never stored: it is derived from the application's secret key and this row's
    random ``salt`` (``calls.keys``); ``secret_hash`` (SHA-256 of the secret) checks the
    derivation, so a changed application secret makes the key fail instead of accepting a
    different one. A database dump alone cannot sign a request.
    """

    __tablename__ = "cti_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("cti_systems.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)  # sent as X-CTI-Key-Id
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    last_used_at: Mapped[dt.datetime | None]

    system: Mapped[CtiSystem] = relationship(back_populates="keys", lazy="joined")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("system_id", "call_id", name="uq_calls_system_call"),
        CheckConstraint("wait_seconds IS NULL OR wait_seconds >= 0", name="wait"),
        CheckConstraint("handling_seconds IS NULL OR handling_seconds >= 0", name="handling"),
        # The figures: one day's calls by queue and hour.
        Index("ix_calls_offered_day", "offered_date", "queue", "offered_hour"),
        # The intake pop: the agent's latest answered call.
        Index("ix_calls_agent_answered", "agent_code", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("cti_systems.id"))
    call_id: Mapped[str] = mapped_column(String(100))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(40))
    agent_code: Mapped[str | None] = mapped_column(String(40))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    offered_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    abandoned_at: Mapped[dt.datetime | None]
    wait_seconds: Mapped[int | None] = mapped_column(Integer)
    handling_seconds: Mapped[int | None] = mapped_column(Integer)
    # The hotline's local date and hour of the offer (config TIMEZONE, computed at ingestion):
    # a call is counted on the day and hour it was offered, also when it ends after midnight.
    offered_date: Mapped[dt.date | None] = mapped_column(Date)
    offered_hour: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    staff: Mapped[StaffUser | None] = relationship()

    @property
    def status(self) -> str:
        if self.abandoned_at is not None:
            return EventType.ABANDONED.value
        if self.ended_at is not None:
            return EventType.ENDED.value
        if self.answered_at is not None:
            return EventType.ANSWERED.value
        return EventType.OFFERED.value


class CallEvent(Base):
    """Every event accepted, once: (system, call id, type) is unique, which makes a resent
    event a no-op. Insert-only."""

    __tablename__ = "call_events"
    __table_args__ = (
        UniqueConstraint("system_id", "call_id", "event_type", name="uq_call_events_system_call"),
        CheckConstraint(
            "event_type IN ('offered','answered','ended','abandoned')", name="event_type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("cti_systems.id"))
    call_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(10))
    call_row_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]
    detail: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)


class CtiNonce(Base):
    """Signatures seen within the replay window, when there is no Redis (``calls.keys``)."""

    __tablename__ = "cti_nonces"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(index=True)
