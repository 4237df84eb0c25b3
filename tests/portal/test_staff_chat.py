"""The staff chat screens: queue with wait and queue, pick up (one winner), reply, canned
replies, end, convert to ticket; department staff and admins do not see chats."""

from __future__ import annotations

import datetime as dt
import itertools

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, handle_message
from bot.engine.models import ChatMessage, Conversation, Handoff
from core import clock
from delivery.models import OutboxMessage
from directory.models import StaffUser
from tickets.models import Ticket

CONFIG = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
_ids = itertools.count(1)


def _login(app: Flask, user: StaffUser) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302
    return client


def _citizen_says(db: Session, text: str, user: str = "openid-9", channel: str = "wechat") -> None:
    handle_message(db, InboundMessage(channel, user, f"s{next(_ids)}", text), config=CONFIG)
    db.commit()


def _waiting(db: Session, user: str = "openid-9") -> Handoff:
    conversation = db.scalar(select(Conversation).where(Conversation.user_id == user))
    assert conversation is not None
    handoff = db.get(Handoff, conversation.handoff_id)
    assert handoff is not None
    db.commit()  # end the read: on SQLite an open snapshot would block the app's writes
    return handoff


def test_queue_shows_wait_and_queue(app: Flask, db: Session, staff: dict[str, StaffUser]) -> None:
    t0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
    with clock.frozen(t0):
        _citizen_says(db, "我的养老保险怎么转移")
        _citizen_says(db, "社保转移还是不会")  # second miss: specialist queue
        _citizen_says(db, "人工", user="openid-10")
    with clock.frozen(t0 + dt.timedelta(seconds=75)):
        client = _login(app, staff["operator"])
        html = client.get("/staff/chat/").get_data(as_text=True)
        data = client.get("/staff/api/chat/queue").get_json()
        # Still inside the frozen day: the login's idle timeout runs on the same clock.
        only = client.get("/staff/api/chat/queue?queue=general").get_json()
    assert "人社专席" in html and "综合" in html and "1:15" in html
    assert [w["queue"] for w in data["waiting"]] == ["specialist", "general"]
    assert data["waiting"][0]["wait_seconds"] == 75 and data["waiting"][0]["long"] is True
    assert [w["queue"] for w in only["waiting"]] == ["general"]
    with clock.frozen(t0 + dt.timedelta(seconds=80)):
        nav = client.get("/staff/chat/").get_data(as_text=True)
    assert 'href="/staff/chat/"' in nav


def test_pick_up_reply_end(app: Flask, db: Session, staff: dict[str, StaffUser]) -> None:
    _citizen_says(db, "人工")
    handoff = _waiting(db)
    operator = _login(app, staff["operator"])
    reviewer = _login(app, staff["reviewer"])
    response = operator.post(f"/staff/chat/{handoff.id}/pick-up")
    assert response.headers["Location"].endswith(f"/staff/chat/{handoff.id}")
    late = reviewer.post(f"/staff/chat/{handoff.id}/pick-up", follow_redirects=True)
    assert f"该会话已被{staff['operator'].display_name}接起" in late.get_data(as_text=True)
    _citizen_says(db, "我家楼下的井盖丢了")
    page = operator.get(f"/staff/chat/{handoff.id}").get_data(as_text=True)
    assert "我家楼下的井盖丢了" in page and 'name="text"' in page
    assert (
        operator.post(
            f"/staff/chat/{handoff.id}/reply", data={"text": "收到，马上处理"}
        ).status_code
        == 302
    )
    empty = operator.post(
        f"/staff/chat/{handoff.id}/reply", data={"text": " "}, follow_redirects=True
    )
    assert "请输入回复内容" in empty.get_data(as_text=True)
    polled = operator.get(f"/staff/api/chat/{handoff.id}/messages?after=0").get_json()
    db.rollback()
    assert polled["messages"][-1]["text"] == "收到，马上处理"
    outbox = db.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "chat_staff_reply")
    ).all()
    assert [(m.channel, m.recipient, m.params["text"]) for m in outbox] == [
        ("wechat", "openid-9", "收到，马上处理")
    ]
    # Someone else cannot reply or end it.
    other = reviewer.post(
        f"/staff/chat/{handoff.id}/reply", data={"text": "我也来"}, follow_redirects=True
    )
    assert "该会话由其他客服处理" in other.get_data(as_text=True)
    assert operator.post(f"/staff/chat/{handoff.id}/end").status_code == 302
    db.rollback()
    assert db.get(Handoff, handoff.id).status == "ended"  # type: ignore[union-attr]
    texts = db.scalars(select(ChatMessage.text).order_by(ChatMessage.id)).all()
    assert "本次人工服务已结束" in texts[-1]


def test_canned_reply_is_offered_and_sent(
    app: Flask, db: Session, staff: dict[str, StaffUser]
) -> None:
    from tickets.canned import create_canned_reply

    reply = create_canned_reply(
        db, scope="chat", title="问候", body="您好，请问有什么可以帮您？", actor=staff["admin"]
    )
    db.commit()
    _citizen_says(db, "人工")
    handoff = _waiting(db)
    operator = _login(app, staff["operator"])
    operator.post(f"/staff/chat/{handoff.id}/pick-up")
    page = operator.get(f"/staff/chat/{handoff.id}").get_data(as_text=True)
    assert "问候" in page and 'data-body="您好，请问有什么可以帮您？"' in page
    operator.post(f"/staff/chat/{handoff.id}/reply", data={"text": "", "canned_id": str(reply.id)})
    db.rollback()
    assert db.scalars(select(ChatMessage.text).where(ChatMessage.sender == "staff")).all() == [
        "您好，请问有什么可以帮您？"
    ]


def test_convert_to_ticket(app: Flask, db: Session, staff: dict[str, StaffUser]) -> None:
    _citizen_says(db, "公园里的路灯坏了好几天了")
    _citizen_says(db, "人工")
    handoff = _waiting(db)
    operator = _login(app, staff["operator"])
    operator.post(f"/staff/chat/{handoff.id}/pick-up")
    form = operator.get(f"/staff/chat/{handoff.id}/ticket").get_data(as_text=True)
    assert "公园里的路灯坏了好几天了" in form
    bad = operator.post(
        f"/staff/chat/{handoff.id}/ticket",
        data={"kind": "complaint", "description": "公园里的路灯坏了好几天了", "phone": "123"},
    )
    assert bad.status_code == 422 and "11" in bad.get_data(as_text=True)
    assert db.scalar(select(Ticket)) is None
    db.rollback()
    ok = operator.post(
        f"/staff/chat/{handoff.id}/ticket",
        data={
            "kind": "complaint",
            "description": "公园里的路灯坏了好几天了",
            "phone": "13800138000",
            "address": "海滨公园",
        },
        follow_redirects=True,
    )
    db.rollback()
    ticket = db.scalar(select(Ticket))
    assert ticket is not None and ticket.channel == "wechat" and ticket.address == "海滨公园"
    assert ticket.number in ok.get_data(as_text=True)


def test_department_staff_and_admin_have_no_chat_screen(
    app: Flask, staff: dict[str, StaffUser]
) -> None:
    for role in ("dept", "admin"):
        client = _login(app, staff[role])
        assert client.get("/staff/chat/").status_code == 403
        assert client.get("/staff/api/chat/queue").status_code == 403


def test_unknown_chat_is_a_404(app: Flask, staff: dict[str, StaffUser]) -> None:
    client = _login(app, staff["operator"])
    assert client.get("/staff/chat/999").status_code == 404
    assert client.post("/staff/chat/999/pick-up").status_code == 404
