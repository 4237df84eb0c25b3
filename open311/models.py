"""What the Open311 adapter keeps about the requests it filed: which key filed which ticket, the
fingerprint of the form (a repeated POST returns the first ticket), the client's own
``Idempotency-Key`` (also its ``token``) and the ``media_url`` it gave. The ticket itself is the
ticket domain's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from directory.api_keys import ApiKey
from tickets.models import Ticket


class Open311Request(Base):
    __tablename__ = "open311_requests"
    __table_args__ = (Index("ix_open311_requests_token", "token", "api_key_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the form, api_key aside
    token: Mapped[str | None] = mapped_column(String(150))  # the client's Idempotency-Key
    media_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime]

    ticket: Mapped[Ticket] = relationship()
    api_key: Mapped[ApiKey] = relationship()
