"""A location shared before the intake begins is kept (for two hours) and becomes the place of
the next ticket, so the citizen is not asked for it again."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, handle_message
from bot.engine.types import Location
from core import clock
from tickets.models import Ticket

CONFIG = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
PLACE = Location(22.2711, 113.5767, "珠海市香洲区吉大路")
_ids = itertools.count(1)


def _say(db: Session, text: str = "", *, location: Location | None = None) -> str:
    message = InboundMessage("wechat", "o-kept", f"k{next(_ids)}", text=text, location=location)
    replies = handle_message(db, message, config=CONFIG)
    db.commit()
    return "\n".join(reply.text for reply in replies)


def _intake_after_the_location(db: Session) -> str:
    _say(db, "我要投诉")
    return _say(db, "路口的井盖丢了，晚上很危险")


def test_a_location_shared_first_is_the_place_of_the_next_ticket(
    db: Session, departments: Any
) -> None:
    noted = _say(db, location=PLACE)
    assert "珠海市香洲区吉大路" in noted and "提交工单" in noted
    _say(db, "社保卡怎么补办")  # a question in between does not lose it
    asked = _intake_after_the_location(db)
    assert "珠海市香洲区吉大路" in asked and "手机" in asked  # straight to the phone number
    _say(db, "13800138000")
    _say(db, "确认")
    ticket = db.scalars(select(Ticket)).one()
    assert (ticket.latitude, ticket.longitude) == (22.2711, 113.5767)
    assert ticket.address == "珠海市香洲区吉大路"
    # used once: the next intake asks for the place again
    assert "地址" in _intake_after_the_location(db)


def test_an_old_location_is_not_used(db: Session, departments: Any) -> None:
    _say(db, location=PLACE)
    with clock.frozen(clock.now() + dt.timedelta(hours=3)):
        asked = _intake_after_the_location(db)
    assert "地址" in asked and "珠海市香洲区吉大路" not in asked
