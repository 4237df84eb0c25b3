"""A whole intake over Telegram in long-polling mode, as a citizen does it with buttons: /new,
the kind pressed, a photo, the description, a shared location, the mobile number, 提交 pressed;
a ticket lands in the shared queue with the photo as pending media, which the scheduler's media
job then downloads through getFile (never the bot's handler). /status follows it up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.models import ChatMessage
from delivery.scheduler import run_job
from directory.models import ChannelIdentity
from hotline.jobs import default_jobs
from tests.portal.citizen.helpers import png_bytes
from tickets.models import Attachment, MediaStatus, Stage, Ticket, TicketMedia

from .conftest import CITIZEN, Poller
from .fake_bot_api import FakeBotApi


class Citizen:
    """One citizen's side of the chat: each step waits for the bot's answer."""

    def __init__(self, fake: FakeBotApi) -> None:
        self.fake = fake

    def send(self, update: dict[str, Any], answers: int = 1) -> list[dict[str, Any]]:
        before = len(self.fake.sent())
        self.fake.push(update)
        self.fake.wait_sent(before + answers)
        return self.fake.sent()[before:]

    def say(self, text: str) -> dict[str, Any]:
        [answer] = self.send(self.fake.text(CITIZEN, text))
        return answer

    def press(self, data: str) -> dict[str, Any]:
        [answer] = self.send(self.fake.callback(CITIZEN, data))
        return answer


def buttons(answer: dict[str, Any]) -> dict[str, str]:
    rows = (answer.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def test_a_complaint_with_a_photo_and_a_location_becomes_a_ticket(
    app: Flask, poller: Poller, fake: FakeBotApi, db: Session, departments: Any
) -> None:
    citizen = Citizen(fake)
    kinds = citizen.say("/new")
    assert "1 咨询" in kinds["text"] and buttons(kinds)["2 投诉"] == "c:2"
    assert "描述" in citizen.press("c:2")["text"]
    photo = png_bytes(4, 4)
    attached = citizen.send(fake.photo(CITIZEN, "AgACAgUAAxkBAAIB-photo-1", photo))[0]
    assert "图片" in attached["text"]
    where = citizen.say("吉大路口的路灯坏了一个星期，晚上很黑")
    assert "地点" in where["text"] and buttons(where) == {"跳过": "c:跳过"}
    phone = citizen.send(fake.venue(CITIZEN, 22.2711, 113.5767, "吉大路口", "珠海市香洲区吉大路"))
    assert "手机" in phone[0]["text"]
    summary = citizen.say("138 0013 8000")
    assert "吉大路口的路灯坏了" in summary["text"] and "珠海市香洲区吉大路" in summary["text"]
    assert buttons(summary) == {"提交": "c:确认", "取消": "c:取消"}
    done = citizen.press("c:确认")
    assert "工单编号" in done["text"] and "查询码" in done["text"]
    assert len(fake.calls_to("answerCallbackQuery")) == 2  # every press answered

    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.number in done["text"] and buttons(done) == {
        "查看进度": f"c:查询 {ticket.number}"
    }
    assert ticket.channel == "telegram" and ticket.stage == Stage.SUBMITTED
    assert ticket.kind == "complaint" and ticket.contact_phone == "13800138000"
    assert ticket.address == "吉大路口 珠海市香洲区吉大路"
    assert (ticket.latitude, ticket.longitude) == (22.2711, 113.5767)
    identity = db.scalars(
        select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")
    ).one()
    assert identity.external_id == str(CITIZEN) and ticket.citizen_id == identity.citizen_id

    # The photo is a pending reference; nothing was downloaded while the bot handled it.
    [media] = db.scalars(select(TicketMedia)).all()
    assert media.source == "telegram-file:AgACAgUAAxkBAAIB-photo-1"
    assert media.status == MediaStatus.PENDING
    assert fake.calls_to("getFile") == [] and fake.downloads == []
    db.commit()

    job = {j.name: j for j in default_jobs(app.config)}["ticket_media"]
    assert run_job(app.extensions["hotline_db"].session, job, force=True) == 1
    assert [c.params["file_id"] for c in fake.calls_to("getFile")] == ["AgACAgUAAxkBAAIB-photo-1"]
    assert fake.downloads == ["photos/AgACAgUAAxkBAAIB-photo-1.jpg"]
    db.expire_all()  # written by the job in its own commits
    [media] = db.scalars(select(TicketMedia)).all()
    assert media.status == MediaStatus.FETCHED, media.last_error
    attachment = db.get(Attachment, media.attachment_id)
    assert attachment is not None and attachment.ticket_id == ticket.id
    assert attachment.content_type == "image/png" and attachment.size == len(photo)
    assert (Path(app.config["UPLOAD_DIR"]) / attachment.storage_key).read_bytes() == photo
    db.commit()

    # Following it up: the button, /status and /status <number>.
    assert ticket.number in citizen.press(f"c:查询 {ticket.number}")["text"]
    mine = citizen.say("/status")
    assert ticket.number in mine["text"] and "您最近的工单" in mine["text"]
    assert ticket.number in citizen.say(f"/status {ticket.number}")["text"]
    db.rollback()
    texts = [m.text for m in db.scalars(select(ChatMessage).order_by(ChatMessage.id))]
    assert f"查询 {ticket.number}" in texts and "我的工单" in texts


def test_a_location_shared_before_the_intake_is_the_place_of_the_ticket(
    poller: Poller, fake: FakeBotApi, db: Session, departments: Any
) -> None:
    citizen = Citizen(fake)
    noted = citizen.send(fake.location(CITIZEN, 22.25, 113.55))[0]
    assert "提交工单" in noted["text"]
    citizen.say("我要投诉")
    used, phone = citizen.send(fake.text(CITIZEN, "小区门口垃圾堆放多日无人清理"), answers=2)
    assert "位置" in used["text"] and "手机" in phone["text"]  # the place is not asked again
    citizen.say("13900139000")
    citizen.press("c:确认")
    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert (ticket.latitude, ticket.longitude) == (22.25, 113.55)
