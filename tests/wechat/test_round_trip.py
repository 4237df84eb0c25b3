"""The whole journey over WeChat: a citizen's complaint written in the official account becomes a
ticket in the shared queue; the department handles it; every status push and the callback
survey come back over WeChat (through the real outbox worker and the WeChat sender, to the fake
WeChat API on loopback), and the citizen's answer in WeChat closes the ticket."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.worker import Worker
from directory.models import StaffUser
from tickets import workflow
from tickets.models import Stage, Ticket

from .conftest import USER, FakeWeChat
from .fake_api import FakeWeChat as FakeApi
from .fake_api import account_config


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeApi) -> dict[str, Any]:
    """The package's inbound settings (token, plain mode) plus the outbound account."""
    return {
        **test_config,
        **account_config(fake),
    }


def _pushed(fake: FakeApi) -> list[str]:
    assert all(m["touser"] == USER for m in fake.custom_messages)
    return [m["text"]["content"] for m in fake.custom_messages]


def test_a_complaint_over_wechat_is_handled_and_answered_over_wechat(
    wx: FakeWeChat,
    db: Session,
    fake: FakeApi,
    worker: Worker,
    staff: dict[str, StaffUser],
    departments: dict[str, Any],
) -> None:
    wx.say("我要投诉")
    wx.say("楼下餐馆油烟直排，家里窗户都不能开")
    wx.say("跳过")
    wx.say("13900139000")
    done = wx.say("确认")
    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.channel == "wechat" and ticket.number in done
    db.commit()  # end the read: SQLite has one writer, and the worker writes next
    worker.drain()
    received = _pushed(fake)
    assert len(received) == 1 and ticket.number in received[0]  # 已受理, with the query code
    assert ticket.query_code in received[0]

    # An hour later (the citizen's numbered choices have lapsed), inside the 48-hour window.
    with clock.frozen(clock.now() + dt.timedelta(hours=1)):
        workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
        workflow.accept_ticket(db, ticket, actor=staff["dept"])
        workflow.reply_ticket(db, ticket, actor=staff["dept"], reply="已责令餐馆安装油烟净化器。")
        workflow.pass_review(db, ticket, actor=staff["reviewer"])
        db.commit()
        worker.drain()
        pushes = _pushed(fake)
        assert len(pushes) == 3  # dispatched, and the reviewed reply with the survey link
        assert "市城市管理和综合执法局" in pushes[1]
        answered = pushes[2]
        assert "已责令餐馆安装油烟净化器" in answered
        assert "/wechat/oauth/start?next=%2Fsurvey%2F" in answered  # opens the survey in WeChat
        assert fake.template_messages == []

        db.commit()
        assert "工单" in wx.say("满意")  # the rating is kept at once; a comment is asked for
        wx.say("处理得很及时，谢谢")
        db.expire_all()  # the requests committed in their own sessions
        assert ticket.stage == Stage.CLOSED
        assert ticket.close_reason == "surveyed"
        worker.drain()
    closed = _pushed(fake)[-1]
    assert ticket.number in closed and "已完成回访" in closed
