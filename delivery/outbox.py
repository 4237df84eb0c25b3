"""Writing to the outbox. Callers are domain operations inside the entry point's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, func, literal, select, type_coerce, update
from sqlalchemy.orm import Session

from core import clock
from core.db import JSONType, UTCDateTime, insert_for
from core.errors import Conflict, NotFound
from core.i18n import N_
from delivery.models import OutboxMessage, OutboxStatus


def enqueue_message(
    session: Session,
    *,
    idempotency_key: str,
    audience: str,
    channel: str,
    recipient: str,
    template: str,
    params: dict[str, Any] | None = None,
    locale: str = "zh_CN",
    ticket_id: int | None = None,
) -> OutboxMessage:
    """Queue one message; a second call with the same key returns the first message.

    One INSERT … ON CONFLICT DO NOTHING RETURNING: a new key (nearly every call) costs one
    statement, and a key already queued, by this transaction or a concurrent one, inserts
    nothing and reads the first message."""
    now = clock.now()
    statement = (
        insert_for(session)(OutboxMessage)
        .values(
            idempotency_key=idempotency_key,
            audience=audience,
            channel=channel,
            recipient=recipient,
            template=template,
            params=params or {},
            locale=locale,
            ticket_id=ticket_id,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage)
    )
    message = session.scalar(statement)
    if message is None:  # the key is taken: its row exists (committed, or this transaction's)
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)
        ).one()
    return message


def enqueue_selected(
    session: Session,
    source: Select[Any],
    *,
    idempotency_key: Any,
    audience: Any,
    channel: Any,
    recipient: Any,
    template: Any,
    params: Any,
    ticket_id: Any = None,
    locale: Any = "zh_CN",
) -> None:
    """:func:`enqueue_message` for every row of ``source``, in one INSERT … SELECT: each keyword is
    a SQL expression over ``source``'s tables (or a plain value). A key already queued is skipped,
    so running it again queues nothing twice."""

    def sql(value: Any, type_: Any = None) -> Any:
        if isinstance(value, ColumnElement) or hasattr(value, "__clause_element__"):
            return value
        return literal(value, type_) if type_ is not None else literal(value)

    now = literal(clock.now(), UTCDateTime())
    values = {
        "idempotency_key": sql(idempotency_key),
        "audience": sql(audience),
        "channel": sql(channel),
        "recipient": sql(recipient),
        "template": sql(template),
        "params": type_coerce(params, JSONType()),
        "locale": sql(locale),
        "ticket_id": sql(ticket_id, Integer()),
        "status": literal(OutboxStatus.PENDING),
        "attempts": literal(0),
        "next_attempt_at": now,
        "created_at": now,
    }
    statement = (
        insert_for(session)(OutboxMessage)
        .from_select(list(values), source.with_only_columns(*values.values()))
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    session.execute(statement)


# -- dead letters (the admin console) ------------------------------------------------------------


class OutboxError(Conflict):
    """The message is not in a state where this can be done."""


def _message(session: Session, message_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(N_("There is no outbox message %(id)s."), id=message_id)
    return message


def retry_dead_message(session: Session, message_id: int) -> OutboxMessage:
    """Give a dead (or dropped) message a fresh set of attempts, due now. Who may do this is
    the caller's rule (``directory.staff_admin.retry_message``)."""
    message = _message(session, message_id)
    if message.status not in (OutboxStatus.DEAD, OutboxStatus.DROPPED):
        raise OutboxError(N_("Only a dead or dropped message can be retried."))
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = clock.now()
    message.claimed_until = None
    session.flush()
    return message


def drop_dead_message(session: Session, message_id: int) -> OutboxMessage:
    """Give up on a dead message for good; it stays listed as dropped."""
    message = _message(session, message_id)
    if message.status != OutboxStatus.DEAD:
        raise OutboxError(N_("Only a dead message can be dropped."))
    message.status = OutboxStatus.DROPPED
    message.claimed_until = None
    session.flush()
    return message


def list_messages(
    session: Session,
    *,
    status: str = OutboxStatus.DEAD,
    before_id: int | None = None,
    limit: int = 50,
) -> list[OutboxMessage]:
    """Newest first, keyset-paginated on ``(status, id)`` so that deep pages stay fast."""
    query = select(OutboxMessage).where(OutboxMessage.status == status)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def count_by_status(session: Session, statuses: tuple[str, ...]) -> dict[str, int]:
    """Counts for the few statuses that stay small (pending, dead); never count ``sent``."""
    rows = session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_(statuses))
        .group_by(OutboxMessage.status)
    ).all()
    counts = dict.fromkeys(statuses, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def dead_letter_stuck_messages(session: Session, *, max_attempts: int) -> int:
    """Messages whose every attempt ended with the worker dying mid-send (their lease expired
    with no outcome recorded) are never claimed again; make them visible as dead letters."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.attempts >= max_attempts,
            OutboxMessage.claimed_until < clock.now(),
        )
        .values(
            status=OutboxStatus.DEAD,
            claimed_until=None,
            last_error="the worker stopped during every attempt (lease expired)",
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
