"""A photo sent during the WeChat intake becomes an attachment of the ticket: the request only
records the ``wechat-media:`` reference as pending; the scheduler's media job downloads it
from the (fake) media API later and stores it like an upload, or marks it failed."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery import media as media_registry
from delivery import senders as sender_registry
from delivery.scheduler import Job, run_job
from hotline.jobs import default_jobs
from tests.portal.citizen.helpers import PDF_BYTES, png_bytes
from tickets.media import MAX_ATTEMPTS
from tickets.models import Attachment, MediaStatus, Ticket, TicketMedia
from wechat.media import SCHEME, WeChatMediaFetcher

from .conftest import ACCOUNT, USER, FakeWeChat
from .fake_api import FakeWeChat as FakeApi

_msg_ids = itertools.count(8_100_000_000_000_000_001)


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeApi) -> dict[str, Any]:
    return {
        **test_config,
        "WECHAT_APP_ID": fake.appid,
        "WECHAT_APP_SECRET": fake.secret,
        "WECHAT_API_BASE": fake.url,
    }


@pytest.fixture(autouse=True)
def _registered(app: Flask) -> Iterator[WeChatMediaFetcher]:
    """The fetcher the app registered (create_app → wechat.media.register_media_fetchers)."""
    fetcher = media_registry.fetcher_for(SCHEME)
    assert isinstance(fetcher, WeChatMediaFetcher)
    yield fetcher
    fetcher.api.close()
    media_registry.unregister_media_fetcher(SCHEME)
    sender = sender_registry.sender_for("wechat")
    if sender is not None:
        sender.api.close()  # type: ignore[attr-defined]
    sender_registry.unregister_sender("wechat")


@pytest.fixture
def media_job(app: Flask) -> Job:
    return {job.name: job for job in default_jobs(app.config)}["ticket_media"]


def run_media_job(app: Flask, job: Job) -> int | None:
    return run_job(app.extensions["hotline_db"].session, job, force=True)


def image_xml(media_id: str, msg_id: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{USER}]]></FromUserName>"
        f"<CreateTime>{int(clock.now().timestamp())}</CreateTime>"
        "<MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[http://mmbiz.example/p.jpg]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def intake_with_photo(wx: FakeWeChat, *media_ids: str, resend: bool = False) -> str:
    """The whole intake with photos sent at the description step; returns the final reply."""
    assert "描述" in wx.say("我要投诉")
    for media_id in media_ids:
        xml = image_xml(media_id, str(next(_msg_ids)))
        first = wx.send(xml)
        assert first and "图片" in first
        if resend:  # WeChat resends after 5 seconds without an answer: same MsgId
            assert wx.send(xml) == first
    assert "地址" in wx.say("吉大路口的路灯坏了一个星期，晚上很黑")
    wx.say("跳过")
    assert "确认" in wx.say("13800138000")
    confirm_id = str(next(_msg_ids))
    done = wx.say("确认", msg_id=confirm_id)
    if resend:
        assert wx.say("确认", msg_id=confirm_id) == done
    assert "工单编号" in done
    return done


def only_ticket(db: Session) -> Ticket:
    db.rollback()
    return db.scalars(select(Ticket)).one()


def media_rows(db: Session) -> list[TicketMedia]:
    db.rollback()
    return list(db.scalars(select(TicketMedia).order_by(TicketMedia.id)))


def test_the_photo_is_pending_on_the_ticket_then_fetched_by_the_job(
    app: Flask, wx: FakeWeChat, db: Session, departments: Any, fake: FakeApi, media_job: Job
) -> None:
    photo = png_bytes(4, 4)
    fake.media["MEDIA-42"] = photo
    intake_with_photo(wx, "MEDIA-42")
    ticket = only_ticket(db)
    [row] = media_rows(db)
    assert (row.ticket_id, row.source, row.status) == (
        ticket.id,
        "wechat-media:MEDIA-42",
        "pending",
    )
    assert row.attempts == 0 and row.attachment_id is None
    # Nothing was downloaded during the requests; no page lists the picture yet.
    assert fake.media_requests == [] and ticket.attachments == []

    assert run_media_job(app, media_job) == 1
    assert fake.media_requests == ["MEDIA-42"]
    [row] = media_rows(db)
    assert row.status == MediaStatus.FETCHED and row.attempts == 1 and row.last_error is None
    attachment = db.get(Attachment, row.attachment_id)
    assert attachment is not None and attachment.ticket_id == ticket.id
    assert attachment.content_type == "image/png" and attachment.size == len(photo)
    assert attachment.filename == "wechat-media-MEDIA-42.png"
    assert (Path(app.config["UPLOAD_DIR"]) / attachment.storage_key).read_bytes() == photo
    # Done is done: the next run fetches nothing.
    assert run_media_job(app, media_job) == 0
    assert fake.media_requests == ["MEDIA-42"]


def test_the_same_photo_twice_and_a_pdf(
    app: Flask, wx: FakeWeChat, db: Session, departments: Any, fake: FakeApi, media_job: Job
) -> None:
    fake.media.update({"A": png_bytes(), "B": png_bytes(), "C": PDF_BYTES})
    intake_with_photo(wx, "A", "B", "C")
    assert run_media_job(app, media_job) == 3
    rows = media_rows(db)
    assert [r.status for r in rows] == ["fetched"] * 3
    assert rows[0].attachment_id == rows[1].attachment_id  # same bytes: one attachment
    types = sorted(a.content_type for a in db.scalars(select(Attachment)))
    assert types == ["application/pdf", "image/png"]


def test_resending_the_same_messages_makes_one_attachment(
    app: Flask, wx: FakeWeChat, db: Session, departments: Any, fake: FakeApi, media_job: Job
) -> None:
    fake.media["MEDIA-7"] = png_bytes()
    intake_with_photo(wx, "MEDIA-7", resend=True)
    only_ticket(db)
    assert [r.source for r in media_rows(db)] == ["wechat-media:MEDIA-7"]
    assert run_media_job(app, media_job) == 1
    assert run_media_job(app, media_job) == 0
    db.rollback()
    assert len(db.scalars(select(Attachment)).all()) == 1
    assert fake.media_requests == ["MEDIA-7"]


def test_a_refused_type_is_failed_with_the_reason(
    app: Flask, wx: FakeWeChat, db: Session, departments: Any, fake: FakeApi, media_job: Job
) -> None:
    fake.media["EXE"] = b"MZ\x90\x00 an executable, not a photo" * 10
    intake_with_photo(wx, "EXE")
    assert run_media_job(app, media_job) == 0
    [row] = media_rows(db)
    assert row.status == MediaStatus.FAILED and row.attachment_id is None
    assert row.last_error == "refused: wechat-media-EXE is not an image or a PDF file."
    assert db.scalars(select(Attachment)).all() == []
    assert not [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]
    assert run_media_job(app, media_job) == 0
    assert fake.media_requests == ["EXE"]  # never asked again


def test_an_expired_media_id_is_a_permanent_failure(
    app: Flask, wx: FakeWeChat, db: Session, departments: Any, fake: FakeApi, media_job: Job
) -> None:
    intake_with_photo(wx, "GONE")  # the fake does not know it: 40007 invalid media_id
    assert run_media_job(app, media_job) == 0
    [row] = media_rows(db)
    assert row.status == MediaStatus.FAILED and row.attempts == 1
    assert row.last_error is not None and row.last_error.startswith("permanent: ")
    assert "40007" in row.last_error
    assert run_media_job(app, media_job) == 0
    assert fake.media_requests == ["GONE"]  # asked once, never again


def test_a_temporary_error_is_retried_later_with_backoff(
    app: Flask, wx: FakeWeChat, db: Session, departments: Any, fake: FakeApi, media_job: Job
) -> None:
    fake.media["BUSY"] = png_bytes()
    intake_with_photo(wx, "BUSY")
    fake.fail("media", -1)  # system busy
    fake.fail_http("media", 502)
    start = clock.now()
    assert run_media_job(app, media_job) == 0
    [row] = media_rows(db)
    assert row.status == MediaStatus.PENDING and row.attempts == 1
    assert row.last_error is not None and "-1" in row.last_error
    assert row.next_attempt_at >= start + dt.timedelta(minutes=1)
    assert run_media_job(app, media_job) == 0  # not due yet: nothing asked
    assert len(fake.calls_to("media")) == 1
    with clock.frozen(start + dt.timedelta(minutes=2)):
        assert run_media_job(app, media_job) == 0  # the gateway error: later again
    [row] = media_rows(db)
    assert row.status == MediaStatus.PENDING and row.attempts == 2
    assert row.next_attempt_at >= start + dt.timedelta(minutes=4)
    with clock.frozen(start + dt.timedelta(minutes=10)):
        assert run_media_job(app, media_job) == 1
    [row] = media_rows(db)
    assert row.status == MediaStatus.FETCHED and row.attempts == 3


def test_temporary_errors_give_up_after_the_last_attempt(
    app: Flask, wx: FakeWeChat, db: Session, departments: Any, fake: FakeApi, media_job: Job
) -> None:
    fake.media["DOWN"] = png_bytes()
    intake_with_photo(wx, "DOWN")
    fake.fail_http("media", 503, times=MAX_ATTEMPTS)
    later = clock.now()
    for _ in range(MAX_ATTEMPTS):
        later += dt.timedelta(hours=2)
        with clock.frozen(later):
            assert run_media_job(app, media_job) == 0
    [row] = media_rows(db)
    assert row.status == MediaStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert row.last_error is not None and row.last_error.startswith("gave up after 5 attempts")
    with clock.frozen(later + dt.timedelta(days=1)):
        assert run_media_job(app, media_job) == 0
    assert len(fake.calls_to("media")) == MAX_ATTEMPTS


def test_staff_see_a_picture_being_fetched_and_one_that_failed(
    app: Flask,
    wx: FakeWeChat,
    db: Session,
    departments: Any,
    staff: dict[str, Any],
    fake: FakeApi,
    media_job: Job,
) -> None:
    fake.media["EXE"] = b"MZ\x90\x00 an executable, not a photo" * 10
    intake_with_photo(wx, "EXE")
    ticket = only_ticket(db)
    console = app.test_client()
    signed_in = console.post("/staff/login", data={"username": "op", "password": "password123"})
    assert signed_in.status_code == 302

    page = console.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "渠道发来的图片" in page and "正在获取（第 1 次尝试）" in page
    assert run_media_job(app, media_job) == 0
    page = console.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "未能获取" in page and "not an image or a PDF" in page
