"""The hand-off's audit trail: every change of state writes exactly one ``HandoffEvent`` (who, when,
which hand-off and conversation, what) in the transaction of the change; a refused change writes
none; the rows are insert-only."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.handoff import (
    ChatError,
    convert_chat_to_ticket,
    end_chat,
    pick_up_chat,
    send_staff_reply,
)
from bot.engine.models import (
    ActorType,
    Handoff,
    HandoffAction,
    HandoffEvent,
    HandoffOutcome,
    HandoffStatus,
)
from core import clock
from core.db import Database
from directory.models import StaffUser
from tickets.workflow import TicketDraft

from .chats import T0
from .chats import handoff_of as _handoff
from .chats import say as _say


def _events(db: Session, handoff: Handoff | None = None) -> list[HandoffEvent]:
    query = select(HandoffEvent).order_by(HandoffEvent.id)
    if handoff is not None:
        query = query.where(HandoffEvent.handoff_id == handoff.id)
    return list(db.scalars(query))


def _queued(db: Session, user: str = "openid-1") -> Handoff:
    with clock.frozen(T0):
        _say(db, "人工", user=user)
    return _handoff(db, user)


def test_asking_for_a_person_is_queued_by_the_citizen(db: Session) -> None:
    handoff = _queued(db)
    [event] = _events(db)
    assert event.handoff_id == handoff.id and event.conversation_id == handoff.conversation_id
    assert event.action == HandoffAction.QUEUED and event.at == T0
    assert event.actor_type == ActorType.CITIZEN and event.actor_id is None
    assert event.data == {"queue": "general", "reason": "asked"}


def test_the_engine_hands_off_after_misses_as_the_system(db: Session) -> None:
    with clock.frozen(T0):
        _say(db, "我的养老保险断缴了三个月怎么补缴")
        _say(db, "灵活就业人员补缴需要什么材料")
    handoff = _handoff(db)
    [event] = _events(db)
    assert event.handoff_id == handoff.id and event.action == HandoffAction.QUEUED
    assert event.actor_type == ActorType.SYSTEM and event.actor_id is None
    assert event.data == {"queue": "specialist", "reason": "misses"}


def test_pick_up_is_recorded_with_the_staff_member(
    db: Session, staff: dict[str, StaffUser]
) -> None:
    handoff = _queued(db)
    with clock.frozen(T0 + dt.timedelta(seconds=12)):
        pick_up_chat(db, handoff.id, actor=staff["operator"])
        db.commit()
    queued, picked = _events(db, handoff)
    assert queued.action == HandoffAction.QUEUED
    assert picked.action == HandoffAction.PICKED_UP
    assert picked.actor_type == ActorType.STAFF and picked.actor_id == staff["operator"].id
    assert picked.at == T0 + dt.timedelta(seconds=12)
    assert picked.conversation_id == handoff.conversation_id
    assert picked.data == {"queue": "general", "wait_seconds": 12.0}


def test_refused_pick_ups_write_nothing(db: Session, staff: dict[str, StaffUser]) -> None:
    handoff = _queued(db)
    pick_up_chat(db, handoff.id, actor=staff["operator"])
    db.commit()
    before = len(_events(db))
    with pytest.raises(ChatError, match="already picked up"):
        pick_up_chat(db, handoff.id, actor=staff["reviewer"])
    db.rollback()
    pick_up_chat(db, handoff.id, actor=staff["operator"])  # hers already: nothing changes
    db.commit()
    assert len(_events(db)) == before
    end_chat(db, handoff, actor=staff["operator"])
    db.commit()
    ended = len(_events(db))
    with pytest.raises(ChatError, match="ended"):
        pick_up_chat(db, handoff.id, actor=staff["reviewer"])
    db.rollback()
    assert len(_events(db)) == ended


def test_two_staff_at_once_write_one_pick_up(
    db: Session, staff: dict[str, StaffUser], database_url: str
) -> None:
    handoff_id = _queued(db).id
    db.rollback()
    database = Database(database_url)
    barrier = threading.Barrier(2)
    won: list[str] = []

    def take(username: str) -> None:
        barrier.wait()
        with database.session() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            assert user is not None
            try:
                pick_up_chat(session, handoff_id, actor=user)
                session.commit()
                won.append(username)
            except ChatError:
                session.rollback()

    threads = [threading.Thread(target=take, args=(name,)) for name in ("op", "rv")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    database.dispose()
    picks = [e for e in _events(db) if e.action == HandoffAction.PICKED_UP]
    assert len(won) == 1 and len(picks) == 1
    assert picks[0].actor_id == staff["operator" if won == ["op"] else "reviewer"].id


def test_staff_ending_a_chat_is_recorded_once(db: Session, staff: dict[str, StaffUser]) -> None:
    handoff = _queued(db)
    pick_up_chat(db, handoff.id, actor=staff["operator"])
    send_staff_reply(db, handoff, "您好，请讲。", actor=staff["operator"])  # not a change of state
    db.commit()
    assert [e.action for e in _events(db)] == [HandoffAction.QUEUED, HandoffAction.PICKED_UP]
    with pytest.raises(ChatError, match="Another staff member"):
        end_chat(db, handoff, actor=staff["reviewer"])
    db.rollback()
    assert len(_events(db)) == 2
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        end_chat(db, handoff, actor=staff["operator"])
        db.commit()
    ended = _events(db)[-1]
    assert ended.action == HandoffAction.ENDED and ended.at == T0 + dt.timedelta(minutes=5)
    assert ended.actor_type == ActorType.STAFF and ended.actor_id == staff["operator"].id
    assert ended.data == {"previous_status": "active", "outcome": "ended"}
    with pytest.raises(ChatError, match="already ended"):
        end_chat(db, handoff, actor=staff["operator"])
    db.rollback()
    assert [e.action for e in _events(db)] == [
        HandoffAction.QUEUED,
        HandoffAction.PICKED_UP,
        HandoffAction.ENDED,
    ]


def test_closing_a_waiting_chat_nobody_took(db: Session, staff: dict[str, StaffUser]) -> None:
    handoff = _queued(db)
    end_chat(db, handoff, actor=staff["supervisor"])
    db.commit()
    assert handoff.outcome == HandoffOutcome.ABANDONED
    queued, ended = _events(db, handoff)
    assert ended.action == HandoffAction.ENDED and ended.actor_id == staff["supervisor"].id
    assert ended.data == {"previous_status": "waiting", "outcome": "abandoned"}


def test_the_citizen_leaving_the_queue_is_recorded(db: Session) -> None:
    handoff = _queued(db)
    with clock.frozen(T0 + dt.timedelta(seconds=30)):
        _say(db, "取消")
    db.refresh(handoff)
    assert handoff.status == HandoffStatus.ENDED and handoff.outcome == HandoffOutcome.CANCELLED
    queued, cancelled = _events(db, handoff)
    assert cancelled.action == HandoffAction.CANCELLED
    assert cancelled.actor_type == ActorType.CITIZEN and cancelled.actor_id is None
    assert cancelled.at == T0 + dt.timedelta(seconds=30)
    assert cancelled.conversation_id == handoff.conversation_id
    assert cancelled.data == {"outcome": "cancelled"}


def test_cancel_once_a_staff_member_has_the_chat_changes_nothing(
    db: Session, staff: dict[str, StaffUser]
) -> None:
    handoff = _queued(db)
    pick_up_chat(db, handoff.id, actor=staff["operator"])
    db.commit()
    _say(db, "取消")  # now a message for the staff member
    db.refresh(handoff)
    assert handoff.status == HandoffStatus.ACTIVE
    assert [e.action for e in _events(db)] == [HandoffAction.QUEUED, HandoffAction.PICKED_UP]


def test_registering_a_ticket_from_the_chat(db: Session, staff: dict[str, StaffUser]) -> None:
    handoff = _queued(db)
    pick_up_chat(db, handoff.id, actor=staff["operator"])
    draft = TicketDraft(kind="complaint", description="电梯经常困人", phone="13800138000")
    ticket = convert_chat_to_ticket(db, handoff, draft, actor=staff["operator"])
    db.commit()
    registered = _events(db)[-1]
    assert registered.action == HandoffAction.TICKET_REGISTERED
    assert registered.actor_type == ActorType.STAFF and registered.actor_id == staff["operator"].id
    assert registered.data == {"ticket_id": ticket.id, "ticket_number": ticket.number}
    with pytest.raises(Exception, match="already been registered"):
        convert_chat_to_ticket(db, handoff, draft, actor=staff["operator"])
    db.rollback()
    assert len(_events(db)) == 3
    end_chat(db, handoff, actor=staff["operator"])
    db.commit()
    assert _events(db)[-1].data == {"previous_status": "active", "outcome": "converted"}


def test_the_event_belongs_to_the_transaction_of_the_change(
    db: Session, staff: dict[str, StaffUser]
) -> None:
    handoff = _queued(db)
    pick_up_chat(db, handoff.id, actor=staff["operator"])
    assert len(_events(db)) == 2  # flushed ...
    db.rollback()  # ... not committed: gone with the change
    assert len(_events(db)) == 1
    assert db.get(Handoff, handoff.id).status == HandoffStatus.WAITING  # type: ignore[union-attr]


def test_events_are_insert_only(db: Session) -> None:
    _queued(db)
    event: Any = _events(db)[0]
    event.action = "picked_up"
    with pytest.raises(TypeError, match="insert only"):
        db.flush()
    db.rollback()
    db.delete(_events(db)[0])
    with pytest.raises(TypeError, match="insert only"):
        db.flush()
    db.rollback()
    assert len(_events(db)) == 1
