"""What one turn writes: the citizen's message, the bot's replies, and the conversation row once.

Every WeChat and web chat message is a turn, so its writes are the chat's cost under load; the
conversation row is also the lock two messages of one citizen queue on."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, handle_message
from bot.engine.dialog import start_conversation
from bot.engine.models import ChatMessage, Conversation
from tests.statements import recorded

CONFIG = {"TIMEZONE": "Asia/Shanghai", "CHAT_STAFFED_HOURS": "00:00-24:00"}
_ids = itertools.count(1)


def _writes(db: Session, action: Any) -> list[str]:
    """The INSERT and UPDATE statements ``action`` sends, by their first three words."""
    with recorded(db.get_bind(), "INSERT", "UPDATE") as statements:
        action()
    return [" ".join(statement.split()[:3]) for statement in statements]


def _say(db: Session, user: str, text: str) -> Any:
    return handle_message(db, InboundMessage("web", user, f"m{next(_ids)}", text), config=CONFIG)


def test_a_turn_updates_its_conversation_once(db: Session, fake_knowledge: Any) -> None:
    fake_knowledge(
        [{"keywords": ["社保卡"], "question": "社保卡怎么补办？", "answer": "带身份证。"}]
    )
    _say(db, "u-once", "你好")
    db.commit()
    conversation = db.scalars(select(Conversation).where(Conversation.user_id == "u-once")).one()
    before = conversation.updated_at
    writes = _writes(db, lambda: _say(db, "u-once", "社保卡丢了怎么办"))
    db.commit()
    updates = [w for w in writes if w.startswith("UPDATE chat_conversations")]
    assert len(updates) == 1, writes
    assert conversation.updated_at >= before
    texts = db.scalars(
        select(ChatMessage.text)
        .where(ChatMessage.conversation_id == conversation.id)
        .order_by(ChatMessage.id)
    ).all()
    assert "社保卡丢了怎么办" in texts and any("带身份证" in t for t in texts)


def test_a_new_chat_opens_with_its_welcome_and_no_update(db: Session) -> None:
    """The web chat's start: the conversation, its welcome in one INSERT, nothing rewritten."""
    writes = _writes(db, lambda: start_conversation(db, "web", "u-new", config=CONFIG))
    db.commit()
    assert not [w for w in writes if w.startswith("UPDATE")], writes
    assert [w for w in writes if w.startswith("INSERT INTO chat_messages")] == [
        "INSERT INTO chat_messages"
    ]
    conversation = db.scalars(select(Conversation).where(Conversation.user_id == "u-new")).one()
    welcome = db.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == conversation.id)
    ).all()
    assert welcome and all(m.sender == "bot" for m in welcome)
