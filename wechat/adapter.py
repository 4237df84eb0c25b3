"""One WeChat message or event, translated for the conversation engine, and the engine's replies
translated back into one passive reply text. Every rule stays in the engine and the domain: this
module only decides which engine input a WeChat message is.

- text: the engine's text (a digit answers the numbered choices of the last reply)
- voice: WeChat's speech recognition as the engine's voice text, or a polite "type, please"
- location: the engine's shared location; image: ``wechat-media:<MediaId>`` (the engine attaches
  it to the ticket being written; the media is fetched later, never during the request)
- link, video, short video, unknown types: acknowledged politely
- subscribe (and QR-code scans): a welcome, the QR scene if any, and the engine's help
- menu clicks: the engine's word for the key (see :data:`MENU_KEYS`)
- unsubscribe: the citizen's identity is marked unreachable (until they write again)
- everything else (VIEW, LOCATION reports, card, invoice... events): no reply ("success")
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import InboundMessage, Location, Reply, handle_message
from bot.engine.conversations import as_reply, find_conversation
from bot.engine.models import ChatMessage, Mode, Sender
from core import clock
from core.i18n import N_, translate
from core.inputs import check_text
from delivery.models import OutboxMessage
from delivery.outbox import enqueue_message
from directory.citizens import mark_reachable, mark_unreachable
from wechat.channel import CHANNEL
from wechat.choices import answer, numbered, render
from wechat.messages import LATE_REPLY
from wechat.protocol import Incoming

log = logging.getLogger(__name__)

# The custom menu's CLICK keys and the words the engine understands for them
# (bot/engine/intents.py: HELP_WORDS, NEW_TICKET_WORDS' 我要投诉, MY_TICKETS_WORDS, HUMAN_WORDS).
# The engine has no "list the FAQ" intent: its help shows how to ask a question.
HELP_TEXT = "帮助"
MENU_KEYS: dict[str, str] = {
    "FAQ": HELP_TEXT,
    "COMPLAIN": "我要投诉",
    "MY_TICKETS": "我的工单",
    "HUMAN": "人工",
}
# The numbered choices of a reply answer a digit for this long; later a digit is the citizen's
# own text again (e.g. 1/2/3 for a survey pushed days after the last chat).
CHOICES_VALID = dt.timedelta(minutes=30)

WELCOME = N_(
    "Thank you for following %(name)s. Here you can ask about city services, submit a "
    "complaint, suggestion or report and follow it, or talk to a person."
)
SCENE = N_("You came through the QR code \u201c%(scene)s\u201d.")
VOICE_NOT_RECOGNISED = N_(
    "Sorry, the voice message could not be understood. Please type your message as text."
)
MEDIA_RECEIVED = N_(
    "Thank you, it has been received, but only text is read here. Please describe your "
    "question or request in words, or send \u201c提交工单\u201d to submit a ticket."
)
UNSUPPORTED = N_(
    "Sorry, this kind of message cannot be read here. Please type your question as text."
)
LOCATION_UNREADABLE = N_("Sorry, the location could not be read. Please type the address.")
SORRY = N_("Sorry, something went wrong on our side. Please try again in a moment, or call 12345.")

_INTERACTIONS = {"subscribe", "subscribe_scan", "scan", "click"}
_ACKNOWLEDGED = {"link", "video", "shortvideo", "file", "miniprogrampage"}


def locale_of(session: Session, openid: str, config: Mapping[str, Any]) -> str:
    conversation = find_conversation(session, CHANNEL, openid)
    if conversation is not None and conversation.locale:
        return conversation.locale
    return str(config.get("DEFAULT_LOCALE") or "zh_CN")


def handle(session: Session, incoming: Incoming, *, config: Mapping[str, Any]) -> str | None:
    """The reply text for one message (None: no reply). Flushes; the caller commits."""
    check_text(
        incoming.sender,
        incoming.account,
        incoming.content,
        incoming.recognition,
        incoming.label,
        incoming.key,
        incoming.media_id,
    )
    if incoming.kind == "event":
        return _on_event(session, incoming, config)
    message = _inbound(session, incoming, config)
    if isinstance(message, str):
        return message
    return _converse(session, incoming, message, config)


def _late_key(incoming: Incoming) -> str:
    return f"wechat:late:{incoming.sender}:{incoming.message_id}"


def queue_late_reply(session: Session, incoming: Incoming, reply: str, *, locale: str) -> None:
    """An answer that took longer than a passive reply may (WeChat waits 5 seconds, then
    resends): queued for the worker, which sends it as a customer-service message; once per
    message, however often WeChat resends it."""
    enqueue_message(
        session,
        idempotency_key=_late_key(incoming),
        audience="citizen",
        channel=CHANNEL,
        recipient=incoming.sender,
        template=LATE_REPLY,
        params={"text": reply},
        locale=locale,
    )


def answered_late(session: Session, incoming: Incoming) -> bool:
    """Whether this message's answer was already queued as a late reply (a resend of it must
    not be answered passively as well)."""
    key = _late_key(incoming)
    return (
        session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
        is not None
    )


def _t(session: Session, incoming: Incoming, config: Mapping[str, Any], message: str) -> str:
    return translate(message, locale_of(session, incoming.sender, config))


def _inbound(
    session: Session, incoming: Incoming, config: Mapping[str, Any]
) -> InboundMessage | str:
    """The engine's message, or the adapter's own reply when there is nothing for the engine."""

    def inbound(**fields: Any) -> InboundMessage:
        return InboundMessage(CHANNEL, incoming.sender, incoming.message_id, **fields)

    kind = incoming.kind
    if kind == "text":
        content = incoming.content or ""
        previous = _last_replies(session, incoming.sender) if numbered(content) else []
        return inbound(text=answer(content, previous))
    if kind == "voice":
        if incoming.recognition and incoming.recognition.strip():
            return inbound(voice_text=incoming.recognition.strip())
        return _t(session, incoming, config, VOICE_NOT_RECOGNISED)
    if kind == "location":
        lat, lon = incoming.latitude, incoming.longitude
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return _t(session, incoming, config, LOCATION_UNREADABLE)
        label = (incoming.label or "").strip() or None
        return inbound(location=Location(lat, lon, label))
    if kind == "image" and incoming.media_id:
        return inbound(image=f"wechat-media:{incoming.media_id}")
    if kind in _ACKNOWLEDGED or kind == "image":
        return _t(session, incoming, config, MEDIA_RECEIVED)
    return _t(session, incoming, config, UNSUPPORTED)


def _on_event(session: Session, incoming: Incoming, config: Mapping[str, Any]) -> str | None:
    event = incoming.event or ""
    if event == "unsubscribe":
        mark_unreachable(session, CHANNEL, incoming.sender)
        return None
    if event not in _INTERACTIONS:
        return None  # VIEW, LOCATION reports, menu photo/scan pickers, platform notices
    if event == "click":
        text = MENU_KEYS.get((incoming.key or "").strip().upper(), HELP_TEXT)
    else:
        text = HELP_TEXT
    message = InboundMessage(CHANNEL, incoming.sender, incoming.message_id, text=text)
    body = _converse(session, incoming, message, config)
    if event == "click":
        return body
    locale = locale_of(session, incoming.sender, config)
    lines = []
    if event in ("subscribe", "subscribe_scan"):
        lines.append(translate(WELCOME, locale, name=config.get("WECHAT_ACCOUNT_NAME") or ""))
    scene = (incoming.key or "").strip()
    if event in ("subscribe_scan", "scan") and scene:
        lines.append(translate(SCENE, locale, scene=scene))
    return "\n\n".join([" ".join(lines), body or ""]).strip() if lines else body


def _converse(
    session: Session, incoming: Incoming, message: InboundMessage, config: Mapping[str, Any]
) -> str | None:
    replies = handle_message(session, message, config=config)
    mark_reachable(session, CHANNEL, incoming.sender)
    return render(replies) or None


def _last_replies(session: Session, openid: str) -> list[Reply]:
    """The bot's replies to the citizen's last message, if they are the conversation's latest
    messages and recent (what a digit can answer)."""
    conversation = find_conversation(session, CHANNEL, openid)
    if conversation is None or conversation.mode != Mode.BOT:
        return []
    last = session.scalar(
        select(ChatMessage)
        .where(ChatMessage.conversation_id == conversation.id)
        .order_by(ChatMessage.id.desc())
        .limit(1)
    )
    if last is None or last.sender != Sender.BOT or last.reply_to_id is None:
        return []
    if clock.now() - last.created_at > CHOICES_VALID:
        return []
    rows = session.scalars(
        select(ChatMessage)
        .where(ChatMessage.reply_to_id == last.reply_to_id, ChatMessage.sender == Sender.BOT)
        .order_by(ChatMessage.id)
    )
    return [as_reply(row) for row in rows]
