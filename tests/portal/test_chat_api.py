"""The web chat's JSON endpoints: a signed cookie identifies the chat, writes must be JSON, a resent
client id is answered once, and staff replies show up in the poll."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.handoff import pick_up_chat, send_staff_reply
from bot.engine.models import ChatMessage, Conversation, Handoff
from directory.models import StaffUser


def _start(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/api/v1/chat/start", json={})
    assert response.status_code == 200
    return response.get_json()


def _send(client: FlaskClient, text: str, client_id: str, after: int = 0, **extra: Any) -> Any:
    return client.post(
        "/api/v1/chat/send", json={"text": text, "client_id": client_id, "after": after, **extra}
    )


def test_start_greets_and_sets_a_signed_strict_cookie(client: FlaskClient) -> None:
    response = client.post("/api/v1/chat/start", json={})
    state = response.get_json()
    assert state["mode"] == "bot"
    assert "12345市民服务热线" in state["messages"][0]["text"]
    assert [c["value"] for c in state["messages"][0]["choices"]] == ["提交工单", "我的工单", "人工"]
    cookie = response.headers["Set-Cookie"]
    assert "hotline_chat=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # Resuming does not greet twice.
    again = _start(client)
    assert len(again["messages"]) == 1


def test_page_renders_with_static_script_only(client: FlaskClient) -> None:
    response = client.get("/chat/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "/static/chat/webchat.js" in html and "<script>" not in html


def test_send_and_duplicate_client_id(client: FlaskClient, db: Session) -> None:
    first = _start(client)["messages"][-1]["id"]
    reply = _send(client, "提交工单", "c-1", after=first).get_json()
    senders = [m["sender"] for m in reply["messages"]]
    assert senders == ["citizen", "bot"] and "请选择诉求类型" in reply["messages"][1]["text"]
    again = _send(client, "提交工单", "c-1", after=first).get_json()
    assert [m["id"] for m in again["messages"]] == [m["id"] for m in reply["messages"]]
    assert db.scalar(select(func.count()).select_from(ChatMessage)) == 3


def test_without_cookie_or_with_a_forged_one(client: FlaskClient, app: Flask) -> None:
    assert _send(client, "你好", "x").status_code == 401
    assert client.get("/api/v1/chat/poll").status_code == 401
    client.set_cookie("hotline_chat", "forged.value.here")
    response = client.get("/api/v1/chat/poll")
    assert response.status_code == 401 and "error" in response.get_json()


def test_bad_input_is_refused_with_a_message(client: FlaskClient, db: Session) -> None:
    _start(client)
    form = client.post("/api/v1/chat/send", data={"text": "hi", "client_id": "f"})
    assert form.status_code == 415
    assert _send(client, "", "e1").status_code == 400
    assert _send(client, "x" * 2001, "e2").status_code == 400
    assert _send(client, "hi", "").status_code == 400
    bad_location = _send(client, "", "e3", location={"latitude": "north", "longitude": 1})
    assert bad_location.status_code == 400
    assert client.get("/api/v1/chat/poll?after=abc").status_code == 400
    assert db.scalar(select(func.count()).select_from(ChatMessage)) == 1  # only the welcome


def test_shared_location_in_the_wizard(client: FlaskClient) -> None:
    _start(client)
    _send(client, "我要投诉", "w1")
    _send(client, "路面塌陷很危险，请尽快处理。", "w2")
    state = _send(client, "", "w3", location={"latitude": 22.27, "longitude": 113.57}).get_json()
    assert state["messages"][-2]["text"].startswith("📍")
    assert "手机号码" in state["messages"][-1]["text"]


def test_hand_off_and_staff_reply_reaches_the_poll(
    app: Flask, client: FlaskClient, db: Session, staff: dict[str, StaffUser]
) -> None:
    app.config["CHAT_STAFFED_HOURS"] = "00:00-24:00"
    _start(client)
    state = _send(client, "人工", "h1").get_json()
    assert state["mode"] == "waiting" and state["queue"] == "general"
    last = state["messages"][-1]["id"]
    conversation = db.scalar(select(Conversation))
    assert conversation is not None
    handoff = db.get(Handoff, conversation.handoff_id)
    assert handoff is not None
    pick_up_chat(db, handoff.id, actor=staff["operator"])
    send_staff_reply(db, handoff, "您好，我是热线客服。", actor=staff["operator"])
    db.commit()
    polled = client.get(f"/api/v1/chat/poll?after={last}").get_json()
    assert polled["mode"] == "staff"
    assert polled["messages"][-1]["sender"] == "staff"
    assert polled["messages"][-1]["text"] == "您好，我是热线客服。"
    assert polled["messages"][-1]["staff_name"] == staff["operator"].display_name
    # The citizen's next message is the staff's: no bot reply.
    quiet = _send(client, "谢谢", "h2", after=polled["messages"][-1]["id"]).get_json()
    assert [m["sender"] for m in quiet["messages"]] == ["citizen"]


def test_send_is_rate_limited(app: Flask, test_config: dict[str, Any]) -> None:
    from hotline.factory import create_app

    limited = create_app({**test_config, "RATELIMIT_ENABLED": True})
    client = limited.test_client()
    try:
        _start(client)
        codes = [_send(client, "你好", f"r{n}").status_code for n in range(31)]
    finally:
        limited.extensions["hotline_db"].dispose()
    assert codes[:30] == [200] * 30 and codes[-1] == 429


def test_a_send_reads_its_conversation_once_and_locked(client: FlaskClient, app: Flask) -> None:
    """The send finds the cookie's chat with the turn's lock: one read of the conversation row,
    not a plain read and then a locked one."""
    from tests.statements import recorded

    first = _start(client)["messages"][-1]["id"]
    with recorded(app.extensions["hotline_db"].engine, "SELECT") as selects:
        assert _send(client, "你好", "c-once", after=first).status_code == 200
    reads = [s for s in selects if "FROM chat_conversations" in " ".join(s.split())]
    assert len(reads) == 1, reads
