"""A citizen chatting with the engine on a channel, for the hand-off tests: what they say, and the
hand-off their conversation is in."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, handle_message
from bot.engine.models import Conversation, Handoff

CONFIG = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)

_ids = itertools.count(1)


def say(db: Session, text: str, *, user: str = "openid-1", channel: str = "wechat") -> list[Any]:
    """The citizen ``user`` sends ``text`` (a new message id each time); committed."""
    replies = handle_message(
        db, InboundMessage(channel, user, f"m{next(_ids)}", text), config=CONFIG
    )
    db.commit()
    return replies


def handoff_of(db: Session, user: str = "openid-1") -> Handoff:
    """The hand-off the citizen's conversation is in (there must be one)."""
    conversation = db.scalar(select(Conversation).where(Conversation.user_id == user))
    assert conversation is not None and conversation.handoff_id
    handoff = db.get(Handoff, conversation.handoff_id)
    assert handoff is not None
    return handoff
