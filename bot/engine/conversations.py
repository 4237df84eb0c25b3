"""Loading (and locking) a conversation, and writing its messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.engine import messages as _messages  # noqa: F401  (registers the chat templates)
from bot.engine.models import ChatMessage, Conversation, Mode, Sender
from bot.engine.types import Choice, Reply
from core import clock
from delivery.channels import capabilities
from delivery.outbox import enqueue_message
from directory.citizens import get_or_create_citizen


def locked_conversation(session: Session, channel: str, user_id: str) -> Conversation | None:
    """The conversation of one channel identity, locked for this transaction, or None."""
    # FOR UPDATE is a row lock on PostgreSQL; SQLite ignores it, and there every transaction
    # already holds the database's write lock from BEGIN IMMEDIATE (core.db).
    return session.scalar(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def find_conversation(session: Session, channel: str, user_id: str) -> Conversation | None:
    return session.scalar(
        select(Conversation).where(Conversation.channel == channel, Conversation.user_id == user_id)
    )


def open_conversation(
    session: Session, channel: str, user_id: str, *, locale: str | None = None
) -> Conversation:
    """The conversation of one channel identity, locked for this transaction; created on first
    contact (two processes creating it at once: the unique constraint lets one in)."""
    conversation = locked_conversation(session, channel, user_id)
    if conversation is not None:
        return conversation
    now = clock.now()
    try:
        with session.begin_nested():
            citizen = get_or_create_citizen(session, channel, user_id)
            conversation = Conversation(
                channel=channel,
                user_id=user_id,
                citizen_id=citizen.id,
                locale=locale or "zh_CN",
                mode=Mode.BOT.value,
                state="idle",
                data={},
                misses=0,
                created_at=now,
                updated_at=now,
            )
            session.add(conversation)
            session.flush()
    except IntegrityError:
        existing = locked_conversation(session, channel, user_id)
        if existing is None:
            raise
        return existing
    return conversation


def add_message(
    session: Session,
    conversation: Conversation,
    sender: Sender,
    text: str,
    *,
    choices: tuple[Choice, ...] = (),
    external_id: str | None = None,
    reply_to_id: int | None = None,
    staff_id: int | None = None,
    data: dict[str, Any] | None = None,
    flush: bool = True,
    touch: bool = True,
) -> ChatMessage:
    """``flush=False``: the caller flushes (several messages at once, in one statement), and the
    message has no id until then. ``touch=False``: the caller moves ``conversation.updated_at``
    itself (a turn writes the conversation row once, at its end)."""
    message = ChatMessage(
        conversation_id=conversation.id,
        handoff_id=conversation.handoff_id,
        sender=sender.value,
        staff_id=staff_id,
        external_id=external_id,
        reply_to_id=reply_to_id,
        text=text,
        choices=[c.as_dict() for c in choices] or None,
        data=data,
        created_at=clock.now(),
    )
    session.add(message)
    if touch:
        conversation.updated_at = message.created_at
    if flush:
        session.flush()
    return message


def push_to_citizen(
    session: Session,
    conversation: Conversation,
    message: ChatMessage,
    *,
    template: str,
    staff_name: str | None = None,
) -> None:
    """A message the citizen did not ask for at that moment (a staff reply, a pick-up or end
    notice): a channel that can push (its adapter registered it so, see ``delivery.channels``)
    gets it through the outbox; any other (the web chat) polls the messages table for it."""
    if not capabilities(conversation.channel).can_push:
        return
    enqueue_message(
        session,
        idempotency_key=f"chat-message:{message.id}",
        audience="citizen",
        channel=conversation.channel,
        recipient=conversation.user_id,
        template=template,
        params={"text": message.text, "staff_name": staff_name, "conversation_id": conversation.id},
        locale=conversation.locale,
    )


def replies_to(
    session: Session, conversation: Conversation, external_id: str
) -> list[Reply] | None:
    """The replies first given to a channel message id, or None if the id is new."""
    inbound_id = session.scalar(
        select(ChatMessage.id).where(
            ChatMessage.conversation_id == conversation.id,
            ChatMessage.external_id == external_id,
        )
    )
    if inbound_id is None:
        return None
    rows = session.scalars(
        select(ChatMessage).where(ChatMessage.reply_to_id == inbound_id).order_by(ChatMessage.id)
    )
    return [as_reply(row) for row in rows]


def as_reply(message: ChatMessage) -> Reply:
    return Reply(
        message.text,
        tuple(Choice(c["value"], c["label"]) for c in (message.choices or [])),
    )


def messages_after(
    session: Session, conversation_id: int, after_id: int = 0, *, limit: int = 200
) -> list[ChatMessage]:
    return list(
        session.scalars(
            select(ChatMessage)
            .options(selectinload(ChatMessage.staff))
            .where(ChatMessage.conversation_id == conversation_id, ChatMessage.id > after_id)
            .order_by(ChatMessage.id)
            .limit(limit)
        )
    )
