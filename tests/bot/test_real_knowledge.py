"""The engine against the real knowledge base with its starter FAQs (knowledge.seed)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, handle_message
from bot.engine.models import Conversation, Handoff
from directory.models import Department

CONFIG = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
_ids = itertools.count(1)


@pytest.fixture
def knowledge(db: Session, departments: dict[str, Department]) -> None:
    from knowledge.seed import seed_starter_knowledge

    seed_starter_knowledge(db)
    db.commit()


def _say(db: Session, text: str) -> str:
    replies = handle_message(
        db, InboundMessage("wechat", "kb-user", f"k{next(_ids)}", text), config=CONFIG
    )
    db.commit()
    return "\n".join(r.text for r in replies)


def test_social_security_question_is_answered_and_goes_to_the_specialist_seat(
    db: Session, knowledge: None
) -> None:
    answer = _say(db, "怎么查询个人社保缴费记录")
    assert "这个回答解决您的问题了吗？" in answer
    assert "社保" in answer
    _say(db, "否")
    assert "正在为您转接人社专席" in _say(db, "人工")
    conversation = db.scalar(select(Conversation).where(Conversation.user_id == "kb-user"))
    assert conversation is not None
    handoff = db.get(Handoff, conversation.handoff_id)
    assert handoff is not None and handoff.queue == "specialist"


def test_an_over_long_question_is_a_miss_not_an_error(db: Session, knowledge: None) -> None:
    assert "没有找到相关答案" in _say(db, "请问" * 1500)
