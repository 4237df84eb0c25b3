"""The whole intake over WeChat, as a citizen would do it with the phone: a complaint with a
photo and a shared location, confirmed with a digit, ending in a ticket in the shared queue."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.models import ChatMessage
from directory.models import ChannelIdentity
from tickets.models import Stage, Ticket

from .conftest import USER, FakeWeChat


@pytest.mark.parametrize("wechat_mode", ["plain", "safe"])
def test_a_complaint_over_wechat_becomes_a_ticket(
    wx: FakeWeChat, db: Session, departments: Any
) -> None:
    assert "投诉" in wx.event("subscribe")
    assert "描述" in wx.event("CLICK", EventKey="COMPLAIN", at=1)
    attached = wx.message("image", PicUrl="http://mmbiz.example/p.jpg", MediaId="MEDIA-42")
    assert attached and "图片" in attached
    assert "地址" in wx.say("吉大路口的路灯坏了一个星期，晚上很黑，容易出事故")
    located = wx.message(
        "location",
        Location_X="22.2711",
        Location_Y="113.5767",
        Scale="16",
        Label="珠海市香洲区吉大路",
    )
    assert located and "手机" in located
    summary = wx.say("138 0013 8000")
    assert "吉大路口的路灯坏了" in summary and "珠海市香洲区吉大路" in summary
    assert "1. 提交" in summary and "2. 取消" in summary
    done = wx.say("1")  # the digit of "提交"
    assert "工单编号" in done and "查询码" in done
    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.channel == "wechat" and ticket.stage == Stage.SUBMITTED
    assert ticket.kind == "complaint" and ticket.contact_phone == "13800138000"
    assert ticket.address == "珠海市香洲区吉大路"
    assert (ticket.latitude, ticket.longitude) == (22.2711, 113.5767)
    identity = db.scalar(select(ChannelIdentity).where(ChannelIdentity.external_id == USER))
    assert identity is not None and ticket.citizen_id == identity.citizen_id
    # The photo reached the engine as a media reference; the ticket keeps it as pending media
    # that the scheduler's ticket_media job fetches (tests/wechat/test_media.py).
    photos = [m.data for m in db.scalars(select(ChatMessage)) if m.data and "image" in m.data]
    assert photos == [{"image": "wechat-media:MEDIA-42"}]
    assert ticket.number in done
    # Following it up: "查询 <number>" is the choice the last reply offered as 1.
    status = wx.say("1")
    assert ticket.number in status
    db.rollback()
    texts = [m.text for m in db.scalars(select(ChatMessage).order_by(ChatMessage.id))]
    assert f"查询 {ticket.number}" in texts  # the digit reached the engine as the choice's value


def test_my_tickets_lists_the_wechat_ticket(wx: FakeWeChat, db: Session, departments: Any) -> None:
    wx.say("我要投诉")
    wx.say("楼下餐馆油烟直排，家里窗户都不能开")
    wx.say("跳过")
    wx.say("13900139000")
    done = wx.say("确认")
    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.number in done and ticket.address is None
    assert ticket.number in wx.event("CLICK", EventKey="MY_TICKETS", at=7)
