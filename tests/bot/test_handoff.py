"""Staff side of the hand-off: the queue, an atomic pick-up, replies through the outbox, the end of
a chat, conversion into a ticket, and the dashboard figures."""

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
    list_my_chats,
    list_waiting_chats,
    pick_up_chat,
    prefill_ticket,
    send_staff_reply,
)
from bot.engine.metrics import chat_figures
from core import clock
from core.db import Database
from core.errors import PermissionDenied
from delivery.models import OutboxMessage
from directory.models import StaffUser
from tickets.workflow import TicketDraft

from .chats import T0
from .chats import handoff_of as _handoff
from .chats import say as _say


def test_queue_pick_up_reply_end(db: Session, staff: dict[str, StaffUser]) -> None:
    with clock.frozen(T0):
        _say(db, "人工")
        _say(db, "我家门口路灯坏了", user="openid-2")
        _say(db, "人工", user="openid-2")
    with clock.frozen(T0 + dt.timedelta(seconds=12)):
        waiting = list_waiting_chats(db, actor=staff["operator"])
        assert [w.conversation.user_id for w in waiting] == ["openid-1", "openid-2"]
        assert waiting[0].wait_seconds == 12
        assert waiting[1].last_text == "人工"
        assert [w.handoff.queue for w in waiting] == ["general", "general"]
        handoff = pick_up_chat(db, waiting[0].handoff.id, actor=staff["operator"])
        db.commit()
    assert handoff.wait_seconds == 12 and handoff.picked_up_by_id == staff["operator"].id
    assert [c.handoff.id for c in list_my_chats(db, actor=staff["operator"])] == [handoff.id]
    # The citizen's messages now go to the staff member: the engine stays quiet.
    assert _say(db, "你好，在吗") == []
    send_staff_reply(db, handoff, "您好，请讲。", actor=staff["operator"])
    db.commit()
    with pytest.raises(ChatError):
        send_staff_reply(db, handoff, "我来", actor=staff["reviewer"])
    end_chat(db, handoff, actor=staff["operator"])
    db.commit()
    templates = db.scalars(
        select(OutboxMessage.template)
        .where(OutboxMessage.recipient == "openid-1", OutboxMessage.channel == "wechat")
        .order_by(OutboxMessage.id)
    ).all()
    assert templates == ["chat_notice", "chat_staff_reply", "chat_notice"]
    reply = db.scalar(select(OutboxMessage).where(OutboxMessage.template == "chat_staff_reply"))
    assert reply is not None and reply.params["text"] == "您好，请讲。"
    assert handoff.status == "ended" and handoff.outcome == "ended"
    # Back with the bot.
    assert "直接输入问题" in _say(db, "帮助")[0].text


def test_department_staff_and_admin_may_not_take_chats(
    db: Session, staff: dict[str, StaffUser]
) -> None:
    for role in ("dept", "admin"):
        with pytest.raises(PermissionDenied):
            list_waiting_chats(db, actor=staff[role])


def test_two_staff_pick_up_at_once_one_wins(
    db: Session, staff: dict[str, StaffUser], database_url: str
) -> None:
    _say(db, "人工")
    handoff_id = _handoff(db).id
    db.rollback()
    database = Database(database_url)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def take(username: str) -> None:
        barrier.wait()  # before any query: on SQLite a transaction holds the write lock
        with database.session() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            assert user is not None
            try:
                pick_up_chat(session, handoff_id, actor=user)
                session.commit()
                outcomes.append("won")
            except ChatError as error:
                session.rollback()
                outcomes.append(str(error))

    threads = [threading.Thread(target=take, args=(name,)) for name in ("op", "rv")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    database.dispose()
    assert sorted(outcomes)[-1] == "won" and outcomes.count("won") == 1
    assert "has already picked up this chat" in sorted(outcomes)[0]


def test_convert_to_ticket_prefills_from_the_chat(db: Session, staff: dict[str, StaffUser]) -> None:
    _say(db, "我们小区的电梯经常困人")
    _say(db, "物业也不管")
    handoff = _handoff(db)
    pick_up_chat(db, handoff.id, actor=staff["operator"])
    _say(db, "地址是香洲区梅华东路100号")
    prefill = prefill_ticket(db, handoff)
    assert "我们小区的电梯经常困人" in prefill.description
    assert "地址是香洲区梅华东路100号" in prefill.description
    ticket = convert_chat_to_ticket(
        db,
        handoff,
        TicketDraft(kind="complaint", description=prefill.description, phone="13800138000"),
        actor=staff["operator"],
    )
    db.commit()
    assert ticket.channel == "wechat" and ticket.citizen_id is not None
    with pytest.raises(Exception, match="already been registered"):
        convert_chat_to_ticket(
            db, handoff, TicketDraft(kind="complaint", description="x"), actor=staff["operator"]
        )
    end_chat(db, handoff, actor=staff["operator"])
    assert handoff.outcome == "converted"
    notices = db.scalars(
        select(OutboxMessage.params).where(OutboxMessage.template == "chat_notice")
    ).all()
    assert any(ticket.number in p["text"] for p in notices)


def test_waiting_chat_nobody_took_can_be_closed(db: Session, staff: dict[str, StaffUser]) -> None:
    _say(db, "人工")
    handoff = _handoff(db)
    end_chat(db, handoff, actor=staff["supervisor"])
    db.commit()
    assert handoff.outcome == "abandoned"
    with pytest.raises(ChatError, match="ended"):
        pick_up_chat(db, handoff.id, actor=staff["operator"])


def test_figures_pick_up_rate_average_and_p90(db: Session, staff: dict[str, StaffUser]) -> None:
    waits = [5, 10, 15, 20, 25, 30, 35, 40, 45, 100]
    for n, wait in enumerate(waits):
        with clock.frozen(T0 + dt.timedelta(minutes=n)):
            _say(db, "人工", user=f"u{n}")
        with clock.frozen(T0 + dt.timedelta(minutes=n, seconds=wait)):
            pick_up_chat(db, _handoff(db, f"u{n}").id, actor=staff["operator"])
            db.commit()
    with clock.frozen(T0 + dt.timedelta(minutes=20)):
        _say(db, "人工", user="left")
        _say(db, "取消", user="left")
        _say(db, "人工", user="still-waiting")
    figures = chat_figures(db, since=T0, until=T0 + dt.timedelta(hours=1))
    assert figures.handed_off == 12
    assert figures.picked_up == 10 and figures.waiting == 1 and figures.cancelled == 1
    assert figures.pickup_rate == pytest.approx(10 / 11)
    assert figures.average_wait_seconds == pytest.approx(32.5)
    assert figures.p90_wait_seconds == 45
    assert figures.meets_pickup_target is True and figures.meets_wait_target is False
    empty = chat_figures(db, since=T0 - dt.timedelta(days=2), until=T0 - dt.timedelta(days=1))
    assert empty.pickup_rate is None and empty.p90_wait_seconds is None


def test_chat_figures_command(app: Any, db: Session, staff: dict[str, StaffUser]) -> None:
    _say(db, "人工", user="cli-user")
    pick_up_chat(db, _handoff(db, "cli-user").id, actor=staff["operator"])
    db.commit()
    result = app.test_cli_runner().invoke(args=["chat-figures", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert "hand-offs 1, picked up 1" in result.output and "pick-up rate 100.0%" in result.output
