"""Inboxes that live in the outbox itself.

- The citizen's web inbox: a web ticket's messages (channel ``web``), shown on the track page and in
  the web chat. Pending ones are shown too: the worker only marks them delivered.
- The staff inboxes: department (``department:<id>``) and supervisor (``supervisors``) messages on
  channel ``staff``, shown in the console once the worker has marked them sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, literal, select
from sqlalchemy.orm import Session

from delivery.channels import ticket_inbox_channels
from delivery.models import OutboxMessage, OutboxStatus
from delivery.render import RenderSettings, UnknownTemplate, render_message

SUPERVISORS = "supervisors"


DEPARTMENT_PREFIX = "department:"


def department_recipient(department_id: int) -> str:
    """A department's staff inbox: ``department:<id>``."""
    return f"{DEPARTMENT_PREFIX}{department_id}"


def department_recipient_sql(department_id: Any) -> Any:
    """The same address built in SQL from a column, for set-based queuing
    (``outbox.enqueue_selected``)."""
    return literal(DEPARTMENT_PREFIX) + cast(department_id, String)


@dataclass(frozen=True)
class InboxItem:
    id: int
    template: str
    ticket_id: int | None
    number: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    text: str
    survey_link: str | None


def _items(rows: Iterable[OutboxMessage], locale: str, settings: RenderSettings) -> list[InboxItem]:
    items = []
    for row in rows:
        try:
            text, extra = render_message(row.template, row.params, locale, settings)
        except UnknownTemplate:
            continue
        items.append(
            InboxItem(
                id=row.id,
                template=row.template,
                ticket_id=row.ticket_id,
                number=(row.params or {}).get("number"),
                created_at=row.created_at,
                sent_at=row.sent_at,
                text=text,
                survey_link=extra.get("survey_link"),
            )
        )
    return items


def web_inbox(
    session: Session, ticket_id: int, *, locale: str, settings: RenderSettings, limit: int = 50
) -> list[InboxItem]:
    """A ticket's messages to its citizen kept on its page (the web inbox), oldest first."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.channel.in_(ticket_inbox_channels()),
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENT)),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return _items(rows, locale, settings)


def staff_inbox(
    session: Session,
    recipients: Iterable[str],
    *,
    locale: str,
    settings: RenderSettings,
    before_id: int | None = None,
    limit: int = 50,
) -> list[InboxItem]:
    """Delivered staff messages for the given inboxes, newest first (keyset on id)."""
    query = select(OutboxMessage).where(
        OutboxMessage.channel == "staff",
        OutboxMessage.recipient.in_(list(recipients)),
        OutboxMessage.status == OutboxStatus.SENT,
    )
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    rows = session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit))
    return _items(rows, locale, settings)
