"""Hand-off to staff: the citizen's side (join a queue, leave it) and the staff side (the queue,
pick up, reply, end, convert to a ticket). Staff operations check ``tickets.access`` ("chat").

Every change of a hand-off's state writes one :class:`HandoffEvent` in the same transaction
(flushed, never committed): queued, picked up, ticket registered, ended, cancelled. A refused
change writes none."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from bot.engine.conversations import add_message, messages_after, push_to_citizen
from bot.engine.models import (
    ActorType,
    ChatMessage,
    Conversation,
    Handoff,
    HandoffAction,
    HandoffEvent,
    HandoffOutcome,
    HandoffReason,
    HandoffStatus,
    Mode,
    Queue,
    Sender,
)
from core import clock
from core.errors import Conflict, DomainError, NotFound
from core.i18n import N_, translate
from directory.models import Citizen, StaffUser
from tickets import workflow
from tickets.access import require
from tickets.models import Ticket

MAX_STAFF_REPLY = 2000


class ChatError(DomainError):
    http_status = 409


def _record(
    session: Session,
    handoff: Handoff,
    action: HandoffAction,
    *,
    actor_type: ActorType,
    actor: StaffUser | None = None,
    **data: object,
) -> HandoffEvent:
    """The audit row of one change of ``handoff`` (insert only; see ``HandoffEvent``)."""
    event = HandoffEvent(
        handoff_id=handoff.id,
        conversation_id=handoff.conversation_id,
        at=clock.now(),
        action=action.value,
        actor_type=actor_type.value,
        actor_id=actor.id if actor is not None else None,
        data=data or None,
    )
    session.add(event)
    session.flush()
    return event


# -- citizen side -----------------------------------------------------------------------------


def start_handoff(
    session: Session,
    conversation: Conversation,
    *,
    queue: Queue,
    reason: HandoffReason,
    topic: str | None,
) -> Handoff:
    """Put the conversation in a staff queue (the engine checked staffed hours)."""
    handoff = Handoff(
        conversation_id=conversation.id,
        queue=queue.value,
        status=HandoffStatus.WAITING.value,
        reason=reason.value,
        topic=(topic or "")[:200] or None,
        handed_off_at=clock.now(),
    )
    session.add(handoff)
    session.flush()
    # The citizen asked for a person; after repeated misses the engine decided.
    _record(
        session,
        handoff,
        HandoffAction.QUEUED,
        actor_type=ActorType.CITIZEN if reason == HandoffReason.ASKED else ActorType.SYSTEM,
        queue=handoff.queue,
        reason=handoff.reason,
    )
    conversation.mode = Mode.WAITING.value
    conversation.state = "idle"
    conversation.handoff_id = handoff.id
    conversation.misses = 0
    return handoff


def queue_position(session: Session, handoff: Handoff) -> int:
    """1 for the first in line."""
    ahead = session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(
            Handoff.status == HandoffStatus.WAITING.value,
            Handoff.queue == handoff.queue,
            Handoff.handed_off_at < handoff.handed_off_at,
        )
    )
    return int(ahead or 0) + 1


def _back_to_bot(conversation: Conversation) -> None:
    conversation.mode = Mode.BOT.value
    conversation.state = "idle"
    conversation.data = {}
    conversation.handoff_id = None
    conversation.misses = 0


def cancel_handoff(session: Session, conversation: Conversation) -> None:
    """The citizen leaves the queue before anyone picked the chat up."""
    handoff = session.get(Handoff, conversation.handoff_id) if conversation.handoff_id else None
    if handoff is not None and handoff.status == HandoffStatus.WAITING:
        handoff.status = HandoffStatus.ENDED.value
        handoff.ended_at = clock.now()
        handoff.outcome = HandoffOutcome.CANCELLED.value
        _record(
            session,
            handoff,
            HandoffAction.CANCELLED,
            actor_type=ActorType.CITIZEN,
            outcome=handoff.outcome,
        )
    _back_to_bot(conversation)
    session.flush()


# -- staff side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedChat:
    handoff: Handoff
    conversation: Conversation
    wait_seconds: float
    last_text: str | None


def list_waiting_chats(
    session: Session, *, actor: StaffUser, queue: str | None = None, limit: int = 100
) -> list[QueuedChat]:
    """Waiting hand-offs, the longest wait first (indexed on status, queue, handed_off_at)."""
    require(actor, "chat")
    query = (
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.status == HandoffStatus.WAITING.value)
        .order_by(Handoff.handed_off_at, Handoff.id)
        .limit(limit)
    )
    if queue:
        query = query.where(Handoff.queue == queue)
    rows = session.execute(query).all()
    now = clock.now()
    last = _last_citizen_texts(session, [c.id for _h, c in rows])
    return [
        QueuedChat(h, c, max((now - h.handed_off_at).total_seconds(), 0.0), last.get(c.id))
        for h, c in rows
    ]


def list_my_chats(session: Session, *, actor: StaffUser) -> list[QueuedChat]:
    require(actor, "chat")
    rows = session.execute(
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.status == HandoffStatus.ACTIVE.value, Handoff.picked_up_by_id == actor.id)
        .order_by(Handoff.picked_up_at)
    ).all()
    last = _last_citizen_texts(session, [c.id for _h, c in rows])
    return [QueuedChat(h, c, h.wait_seconds or 0.0, last.get(c.id)) for h, c in rows]


def _last_citizen_texts(session: Session, conversation_ids: list[int]) -> dict[int, str]:
    """The latest citizen message of each conversation, in one query."""
    if not conversation_ids:
        return {}
    latest = (
        select(ChatMessage.conversation_id, func.max(ChatMessage.id).label("last_id"))
        .where(
            ChatMessage.conversation_id.in_(conversation_ids),
            ChatMessage.sender == Sender.CITIZEN.value,
        )
        .group_by(ChatMessage.conversation_id)
        .subquery()
    )
    message = aliased(ChatMessage)
    rows = session.execute(
        select(message.conversation_id, message.text).join(latest, latest.c.last_id == message.id)
    ).all()
    return {cid: text for cid, text in rows}


def get_handoff(session: Session, handoff_id: int, *, actor: StaffUser) -> Handoff:
    require(actor, "chat")
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound(N_("This chat does not exist."))
    return handoff


def pick_up_chat(session: Session, handoff_id: int, *, actor: StaffUser) -> Handoff:
    """Take a waiting chat. One conditional UPDATE decides: when two staff click at once, one
    wins and the other gets a clear message (the row lock on PostgreSQL, the write lock on
    SQLite make the second UPDATE see the first one's result)."""
    handoff = get_handoff(session, handoff_id, actor=actor)
    now = clock.now()
    wait = max((now - handoff.handed_off_at).total_seconds(), 0.0)
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.WAITING.value)
        .values(
            status=HandoffStatus.ACTIVE.value,
            picked_up_at=now,
            picked_up_by_id=actor.id,
            wait_seconds=wait,
        )
        .execution_options(synchronize_session=False)
    )
    won = getattr(result, "rowcount", 0)  # a CursorResult for an UPDATE
    session.refresh(handoff)
    if not won:
        if handoff.status == HandoffStatus.ACTIVE and handoff.picked_up_by is not None:
            if handoff.picked_up_by_id == actor.id:
                return handoff
            raise ChatError(
                N_("%(name)s has already picked up this chat."),
                name=handoff.picked_up_by.display_name,
            )
        raise ChatError(N_("This chat has ended; the citizen is no longer waiting."))
    conversation = session.get(Conversation, handoff.conversation_id, with_for_update=True)
    assert conversation is not None
    _record(
        session,
        handoff,
        HandoffAction.PICKED_UP,
        actor_type=ActorType.STAFF,
        actor=actor,
        queue=handoff.queue,
        wait_seconds=wait,
    )
    conversation.mode = Mode.STAFF.value
    notice = add_message(
        session,
        conversation,
        Sender.BOT,
        translate(
            N_("%(name)s from the hotline has joined the chat. How can we help you?"),
            conversation.locale,
            name=actor.display_name,
        ),
    )
    push_to_citizen(session, conversation, notice, template="chat_notice")
    return handoff


def _own_active(handoff: Handoff, actor: StaffUser) -> None:
    if handoff.status != HandoffStatus.ACTIVE:
        raise ChatError(N_("This chat is not active."))
    if handoff.picked_up_by_id != actor.id:
        raise ChatError(N_("Another staff member has this chat."))


def send_staff_reply(
    session: Session, handoff: Handoff, text: str, *, actor: StaffUser
) -> ChatMessage:
    require(actor, "chat")
    _own_active(handoff, actor)
    cleaned = (text or "").strip()
    if not cleaned:
        raise workflow.ValidationError({"text": N_("Write a reply.")})
    if len(cleaned) > MAX_STAFF_REPLY:
        raise workflow.ValidationError({"text": N_("A reply can be at most 2,000 characters.")})
    conversation = session.get(Conversation, handoff.conversation_id)
    assert conversation is not None
    message = add_message(session, conversation, Sender.STAFF, cleaned, staff_id=actor.id)
    push_to_citizen(
        session, conversation, message, template="chat_staff_reply", staff_name=actor.display_name
    )
    return message


def end_chat(session: Session, handoff: Handoff, *, actor: StaffUser) -> Handoff:
    """Staff end a chat they have, or close a waiting one nobody will take (the citizen left)."""
    require(actor, "chat")
    if handoff.status == HandoffStatus.ENDED:
        raise ChatError(N_("This chat has already ended."))
    if handoff.status == HandoffStatus.ACTIVE:
        _own_active(handoff, actor)
    previous = handoff.status
    conversation = session.get(Conversation, handoff.conversation_id, with_for_update=True)
    assert conversation is not None
    handoff.status = HandoffStatus.ENDED.value
    handoff.ended_at = clock.now()
    if previous == HandoffStatus.WAITING:
        outcome = HandoffOutcome.ABANDONED
    elif handoff.ticket_id:
        outcome = HandoffOutcome.CONVERTED
    else:
        outcome = HandoffOutcome.ENDED
    handoff.outcome = outcome.value
    _record(
        session,
        handoff,
        HandoffAction.ENDED,
        actor_type=ActorType.STAFF,
        actor=actor,
        previous_status=previous,
        outcome=outcome.value,
    )
    if conversation.handoff_id == handoff.id:
        _back_to_bot(conversation)
        notice = add_message(
            session,
            conversation,
            Sender.BOT,
            translate(
                N_(
                    "The chat with the hotline staff has ended. Thank you. "
                    "You can type a new question at any time."
                ),
                conversation.locale,
            ),
        )
        push_to_citizen(session, conversation, notice, template="chat_notice")
    session.flush()
    return handoff


def transcript(session: Session, handoff: Handoff, *, after_id: int = 0) -> list[ChatMessage]:
    """The conversation's recent history for the staff screen (the bot part included, so staff
    see what the citizen already asked)."""
    return messages_after(session, handoff.conversation_id, after_id, limit=300)


@dataclass
class TicketPrefill:
    kind: str
    description: str
    address: str | None
    phone: str | None
    latitude: float | None
    longitude: float | None


def prefill_ticket(session: Session, handoff: Handoff) -> TicketPrefill:
    """What the chat already says: the citizen's messages since shortly before the hand-off."""
    conversation = session.get(Conversation, handoff.conversation_id)
    assert conversation is not None
    since = handoff.handed_off_at - dt.timedelta(minutes=30)
    rows = session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.conversation_id == conversation.id,
            ChatMessage.sender == Sender.CITIZEN.value,
            ChatMessage.created_at >= since,
        )
        .order_by(ChatMessage.id)
        .limit(50)
    ).all()
    lines: list[str] = []
    latitude = longitude = None
    address = None
    for row in rows:
        location = (row.data or {}).get("location")
        if location:
            latitude, longitude = location.get("latitude"), location.get("longitude")
            address = location.get("label") or address
            continue
        if row.text and row.text not in lines:
            lines.append(row.text)
    if handoff.topic and handoff.topic not in lines:
        lines.insert(0, handoff.topic)
    citizen = session.get(Citizen, conversation.citizen_id) if conversation.citizen_id else None
    return TicketPrefill(
        kind="consultation",
        description="\n".join(lines)[: workflow.MAX_DESCRIPTION],
        address=address,
        phone=citizen.phone if citizen else None,
        latitude=latitude,
        longitude=longitude,
    )


def convert_chat_to_ticket(
    session: Session, handoff: Handoff, draft: workflow.TicketDraft, *, actor: StaffUser
) -> Ticket:
    """Register a ticket for the citizen from the chat; the citizen is told its number."""
    require(actor, "chat")
    if handoff.ticket_id is not None:
        raise Conflict(N_("A ticket has already been registered from this chat."))
    _own_active(handoff, actor)
    conversation = session.get(Conversation, handoff.conversation_id)
    assert conversation is not None
    citizen = session.get(Citizen, conversation.citizen_id) if conversation.citizen_id else None
    ticket = workflow.submit_ticket(
        session,
        draft,
        actor=actor,
        channel=conversation.channel,
        citizen=citizen,
        idempotency_key=f"chat-handoff:{handoff.id}",
    )
    handoff.ticket_id = ticket.id
    _record(
        session,
        handoff,
        HandoffAction.TICKET_REGISTERED,
        actor_type=ActorType.STAFF,
        actor=actor,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
    )
    notice = add_message(
        session,
        conversation,
        Sender.BOT,
        translate(
            N_(
                "Your request has been registered as ticket %(number)s (query code %(code)s). "
                "Send \u201c查询 %(number)s\u201d to follow it."
            ),
            conversation.locale,
            number=ticket.number,
            code=ticket.query_code,
        ),
    )
    push_to_citizen(session, conversation, notice, template="chat_notice")
    return ticket
