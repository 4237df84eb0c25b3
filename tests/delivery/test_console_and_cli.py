"""The admin console's dead-letter screen, the CLI commands and the in-process background."""

from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from delivery.inbox import staff_inbox, web_inbox
from delivery.models import OutboxMessage
from delivery.outbox import enqueue_message
from delivery.render import RenderSettings, render_message
from directory.models import StaffUser
from hotline.background import start_in_process, stop_in_process
from tickets.survey_links import read_survey_token


def _login(client: FlaskClient, username: str) -> None:
    response = client.post("/staff/login", data={"username": username, "password": "password123"})
    assert response.status_code == 302


def _dead(db: Session, n: int = 0, template: str = "ticket_received") -> OutboxMessage:
    message = enqueue_message(
        db,
        idempotency_key=f"console-{n}",
        audience="citizen",
        channel="sms",
        recipient="13800138000",
        template=template,
        params={"number": f"20261123{n:04d}", "query_code": "K7Q2", "stage": "submitted"},
    )
    message.status = "dead"
    message.attempts = 8
    message.last_error = "permanent: number unreachable"
    db.commit()
    return message


def test_admin_lists_retries_and_drops_dead_letters(
    client: FlaskClient, db: Session, staff: dict[str, StaffUser]
) -> None:
    first, second = _dead(db, 1), _dead(db, 2, template="retired_template")
    _login(client, "ad")
    page = client.get("/staff/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "number unreachable" in html and "202611230001" in html
    assert "retired_template" in html  # shown even though it cannot be rendered

    assert client.post(f"/staff/outbox/{first.id}/retry").status_code == 302
    assert client.post(f"/staff/outbox/{second.id}/drop").status_code == 302
    db.expire_all()
    assert db.get(OutboxMessage, first.id).status == "pending"  # type: ignore[union-attr]
    assert db.get(OutboxMessage, second.id).status == "dropped"  # type: ignore[union-attr]
    dropped = client.get("/staff/outbox?status=dropped").get_data(as_text=True)
    assert "retired_template" in dropped

    # A wrong state or an unknown id: a clear message, nothing changed, no 500.
    response = client.post(f"/staff/outbox/{first.id}/drop", follow_redirects=True)
    assert response.status_code == 200
    assert client.post("/staff/outbox/999999/retry").status_code == 404
    assert client.get("/staff/outbox?status=bogus&before=x").status_code == 200


def test_others_may_not_see_the_outbox(
    client: FlaskClient, db: Session, staff: dict[str, StaffUser]
) -> None:
    message = _dead(db)
    _login(client, "sv")
    assert client.get("/staff/outbox").status_code == 403
    assert client.post(f"/staff/outbox/{message.id}/retry").status_code == 403
    db.expire_all()
    assert db.get(OutboxMessage, message.id).status == "dead"  # type: ignore[union-attr]


def test_worker_scheduler_and_run_job_commands(
    app: Flask, db: Session, departments: object
) -> None:
    enqueue_message(
        db,
        idempotency_key="cli-1",
        audience="citizen",
        channel="web",
        recipient="N1",
        template="ticket_received",
        params={"number": "N1", "query_code": "Q", "stage": "submitted"},
    )
    db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 messages handled" in result.output
    result = runner.invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0 and "supervision: 0" in result.output
    result = runner.invoke(args=["run-job", "survey_callbacks"])
    assert result.exit_code == 0 and "survey_callbacks: 0" in result.output
    result = runner.invoke(args=["run-job", "nope"])
    assert result.exit_code != 0 and "choose one of" in result.output


def test_in_process_worker_sends_and_stops(app: Flask, db: Session) -> None:
    app.config["OUTBOX_IDLE_SECONDS"] = 0.05
    message = enqueue_message(
        db,
        idempotency_key="bg-1",
        audience="citizen",
        channel="web",
        recipient="N1",
        template="ticket_received",
        params={"number": "N1"},
    )
    db.commit()
    start_in_process(app)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.2)  # between short looks, so that SQLite's one writer gets its turn
            status = db.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message.id))
            db.rollback()
            if status == "sent":
                break
    finally:
        stop_in_process(app)
    assert db.get(OutboxMessage, message.id).status == "sent"  # type: ignore[union-attr]


def test_rendering_in_both_locales_with_the_survey_link() -> None:
    settings = RenderSettings("s3cret", "https://12345.example.test/")
    params = {"number": "202611230001", "department": "市城管局", "reply": "已清理", "survey_id": 9}
    zh, extra = render_message("ticket_answered", params, "zh_CN", settings)
    en, _ = render_message("ticket_answered", params, "en", settings)
    link = extra["survey_link"]
    assert link.startswith("https://12345.example.test/survey/")
    assert read_survey_token("s3cret", link.rsplit("/", 1)[1]) == ("202611230001", 9)
    assert "市城管局已答复您的工单 202611230001：已清理" in zh and link in zh
    assert "has replied to ticket 202611230001" in en
    received, _ = render_message(
        "ticket_received",
        {"number": "N", "query_code": "Q", "stage": "dept_review"},
        None,
        settings,
    )
    assert "职能局审核" in received or "审核" in received  # the stage in plain words
    closed, _ = render_message(
        "ticket_closed", {"number": "N", "close_reason": "no_response"}, "zh_CN", settings
    )
    assert "回访无应答" in closed


def test_inboxes(db: Session, departments: object) -> None:
    settings = RenderSettings("s", "https://x")
    for key, channel, recipient, status in (
        ("w1", "web", "N1", "pending"),
        ("w2", "web", "N1", "sent"),
        ("s1", "staff", "department:1", "sent"),
        ("s2", "staff", "department:1", "pending"),
        ("s3", "staff", "supervisors", "sent"),
    ):
        message = enqueue_message(
            db,
            idempotency_key=key,
            audience="citizen",
            channel=channel,
            recipient=recipient,
            template="department_ticket_urgent",
            params={"number": key, "title": "t"},
        )
        message.status = status
    db.commit()
    web = web_inbox(db, ticket_id=0, locale="zh_CN", settings=settings)
    assert web == []  # these messages have no ticket
    inbox = staff_inbox(db, ["department:1"], locale="zh_CN", settings=settings)
    assert [i.number for i in inbox] == ["s1"]
    both = staff_inbox(db, ["department:1", "supervisors"], locale="en", settings=settings)
    assert [i.number for i in both] == ["s3", "s1"] and "marked urgent" in both[0].text


def test_chat_messages_from_staff_render_for_wechat_and_telegram() -> None:
    settings = RenderSettings("s3cret", "https://12345.example.test/")
    params = {
        "text": "您好，我是话务员，请问有什么可以帮您？",
        "staff_name": "王芳",
        "conversation_id": 1,
    }
    zh, _ = render_message("chat_staff_reply", params, "zh_CN", settings)
    assert zh == "王芳（人工客服）：您好，我是话务员，请问有什么可以帮您？"
    en, _ = render_message("chat_staff_reply", params, "en", settings)
    assert en.startswith("王芳 (hotline staff): ")
    notice, _ = render_message("chat_notice", {"text": "会话已结束。"}, "zh_CN", settings)
    assert notice == "12345在线客服：会话已结束。"
