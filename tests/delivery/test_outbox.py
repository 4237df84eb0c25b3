"""Writing to the outbox: one change → one message, even when the change is retried."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound, PermissionDenied
from delivery.models import OutboxMessage
from delivery.outbox import count_by_status, enqueue_message, list_messages
from directory.citizens import get_or_create_citizen
from directory.models import Department, StaffUser
from directory.staff_admin import drop_message, retry_message
from tickets import workflow
from tickets.access import CitizenActor
from tickets.models import Ticket


def _count(db: Session, **where: object) -> int:
    query = select(func.count()).select_from(OutboxMessage)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return int(db.scalar(query) or 0)


def test_enqueue_with_the_same_key_returns_the_first_message(db: Session) -> None:
    kwargs = dict(
        idempotency_key="k1", audience="citizen", channel="web", recipient="N1", template="x"
    )
    first = enqueue_message(db, **kwargs)  # type: ignore[arg-type]
    second = enqueue_message(db, **kwargs)  # type: ignore[arg-type]
    db.commit()
    assert first.id == second.id
    assert _count(db) == 1
    assert first.created_at.tzinfo is not None and first.next_attempt_at == first.created_at


def test_a_new_key_is_one_statement_and_a_taken_one_changes_nothing(db: Session) -> None:
    """Every submission and notice queues messages: a new key costs one INSERT (no SELECT
    first); a key already queued, here or by a concurrent transaction, keeps its first message
    as it was."""
    from tests.statements import recorded

    with recorded(db.get_bind(), "SELECT", "INSERT", "UPDATE") as statements:
        first = enqueue_message(
            db, idempotency_key="k2", audience="citizen", channel="web", recipient="A", template="x"
        )
        assert len(statements) == 1 and statements[0].startswith("INSERT"), statements
        again = enqueue_message(
            db, idempotency_key="k2", audience="staff", channel="sms", recipient="B", template="y"
        )
    db.commit()
    assert again.id == first.id
    assert (again.audience, again.channel, again.recipient, again.template) == (
        "citizen",
        "web",
        "A",
        "x",
    )
    assert _count(db, idempotency_key="k2") == 1


def test_a_rolled_back_change_leaves_no_message_and_its_retry_one(
    db: Session,
    make_ticket: Callable[..., Ticket],
    departments: dict[str, Department],
    staff: dict[str, StaffUser],
) -> None:
    ticket = make_ticket("submitted")
    before = _count(db)
    workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
    assert _count(db) == before + 2  # citizen + department, flushed in the transaction
    db.rollback()  # the request failed after the change: no message may survive it
    assert _count(db) == before
    ticket = db.get(Ticket, ticket.id)
    assert ticket is not None
    workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
    db.commit()
    assert _count(db, template="ticket_dispatched") == 1
    assert _count(db, template="department_ticket_assigned") == 1


def test_a_retried_submission_does_not_duplicate_the_receipt(
    db: Session, departments: dict[str, Department]
) -> None:
    citizen = get_or_create_citizen(db, "web", "web-user-9")
    draft = workflow.TicketDraft(
        kind="complaint", description="路灯不亮已经一周了", phone="13800138000"
    )
    actor = CitizenActor(citizen.id, "web")
    for _ in range(3):  # the citizen's browser resends the form
        workflow.submit_ticket(
            db, draft, actor=actor, channel="web", citizen=citizen, idempotency_key="form-123"
        )
        db.commit()
    assert _count(db, template="ticket_received") == 1


def _dead(db: Session, key: str = "dead-1") -> OutboxMessage:
    message = enqueue_message(
        db,
        idempotency_key=key,
        audience="citizen",
        channel="sms",
        recipient="13800138000",
        template="ticket_received",
        params={"number": "N1"},
    )
    message.status = "dead"
    message.attempts = 8
    message.last_error = "permanent: blocked"
    db.commit()
    return message


def test_admins_retry_a_dead_letter(db: Session, staff: dict[str, StaffUser]) -> None:
    message = _dead(db)
    retry_message(db, message.id, actor=staff["admin"])
    db.commit()
    assert (message.status, message.attempts, message.claimed_until) == ("pending", 0, None)


def test_admins_drop_a_dead_letter_and_may_still_retry_it(
    db: Session, staff: dict[str, StaffUser]
) -> None:
    message = _dead(db)
    drop_message(db, message.id, actor=staff["admin"])
    assert message.status == "dropped"
    with pytest.raises(Conflict):
        drop_message(db, message.id, actor=staff["admin"])
    retry_message(db, message.id, actor=staff["admin"])
    assert message.status == "pending"
    with pytest.raises(Conflict):
        retry_message(db, message.id, actor=staff["admin"])


@pytest.mark.parametrize("role", ["operator", "reviewer", "supervisor", "dept"])
def test_only_admins_manage_the_outbox(db: Session, staff: dict[str, StaffUser], role: str) -> None:
    message = _dead(db)
    with pytest.raises(PermissionDenied):
        retry_message(db, message.id, actor=staff[role])
    with pytest.raises(PermissionDenied):
        drop_message(db, message.id, actor=staff[role])
    assert message.status == "dead"


def test_unknown_message(db: Session, staff: dict[str, StaffUser]) -> None:
    with pytest.raises(NotFound):
        retry_message(db, 999_999, actor=staff["admin"])


def test_dead_letter_list_is_keyset_paginated(db: Session, staff: dict[str, StaffUser]) -> None:
    ids = [_dead(db, f"dead-{i}").id for i in range(5)]
    first = list_messages(db, limit=2)
    assert [m.id for m in first] == ids[::-1][:2]
    second = list_messages(db, before_id=first[-1].id, limit=2)
    assert [m.id for m in second] == ids[::-1][2:4]
    assert count_by_status(db, ("pending", "dead")) == {"pending": 0, "dead": 5}
