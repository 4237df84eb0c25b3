"""The dialog: one function, :func:`handle_message`, for every channel.

States (``Conversation.state``) while the engine answers (mode "bot"):
idle · faq_feedback (an answer was given: did it help?) · suggestions (a numbered did-you-mean
list) · offer (a ticket or a human) · wizard_* (ticket intake) · survey_comment.
In mode "waiting" and "staff" the citizen's messages are for the staff (see handoff.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import faq, intents, status, wizard
from bot.engine.conversations import add_message, open_conversation, replies_to
from bot.engine.handoff import cancel_handoff, queue_position, start_handoff
from bot.engine.hours import is_staffed, staffed_hours_text
from bot.engine.models import (
    QUEUE_LABELS,
    ChatMessage,
    Conversation,
    Handoff,
    HandoffReason,
    HandoffStatus,
    Mode,
    Queue,
    Sender,
)
from bot.engine.turn import Turn
from bot.engine.types import InboundMessage, Reply
from core import clock
from core.errors import DomainError
from core.i18n import N_
from core.inputs import check_text
from tickets.access import CitizenActor
from tickets.models import SATISFACTION_LABELS, Satisfaction, Stage, Survey, Ticket
from tickets.workflow import add_survey_comment, answer_survey

log = logging.getLogger(__name__)

MAX_TEXT = 4000
MISSES_BEFORE_HANDOFF = 2


def handle_message(
    session: Session,
    message: InboundMessage,
    *,
    config: Mapping[str, Any],
    locked: Conversation | None = None,
) -> list[Reply]:
    """Answer one inbound message. Flushes, never commits: the channel's entry point commits.

    The conversation row is locked for the transaction, so two processes handling two messages
    of one conversation take turns; a message id seen before gets the replies it got then.
    ``locked``: the message's conversation, already locked by the caller
    (``locked_conversation``), so it is not read twice. Text with NUL or a lone surrogate is
    refused whole (``core.inputs.BadInput``)."""
    check_text(message.channel, message.user_id, message.message_id, message.text)
    check_text(message.voice_text, message.image, message.locale)
    conversation = locked or open_conversation(
        session, message.channel, message.user_id, locale=message.locale
    )
    assert (conversation.channel, conversation.user_id) == (message.channel, message.user_id)
    if message.locale and message.locale != conversation.locale:
        conversation.locale = message.locale
    earlier = replies_to(session, conversation, message.message_id)
    if earlier is not None:
        log.info("chat %s: repeated message id %s", conversation.id, message.message_id)
        return earlier
    text = (message.text or message.voice_text or "").strip()[:MAX_TEXT]
    inbound = add_message(
        session,
        conversation,
        Sender.CITIZEN,
        _stored_text(message, text),
        external_id=message.message_id,
        data=_attachments(message),
        touch=False,
    )
    turn = Turn(session, conversation, message, config, text)
    _respond(turn)
    _add_replies(session, conversation, turn.replies, reply_to_id=inbound.id)
    # the conversation row written once for the turn: its state, its data and this
    conversation.updated_at = clock.now()
    session.flush()
    return turn.replies


def _add_replies(
    session: Session,
    conversation: Conversation,
    replies: list[Reply],
    *,
    reply_to_id: int | None = None,
) -> None:
    """The bot's replies, inserted together at the next flush; the caller moves updated_at."""
    for reply in replies:
        add_message(
            session,
            conversation,
            Sender.BOT,
            reply.text,
            choices=reply.choices,
            reply_to_id=reply_to_id,
            flush=False,
            touch=False,
        )


def _stored_text(message: InboundMessage, text: str) -> str:
    if text:
        return text
    if message.location is not None:
        label = message.location.label or ""
        return f"📍 {label} ({message.location.latitude:.5f}, {message.location.longitude:.5f})"
    if message.image:
        return "🖼"
    return ""


def _attachments(message: InboundMessage) -> dict[str, Any] | None:
    data: dict[str, Any] = {}
    if message.location is not None:
        data["location"] = {
            "latitude": message.location.latitude,
            "longitude": message.location.longitude,
            "label": message.location.label,
        }
    if message.image:
        data["image"] = message.image
    if message.voice_text:
        data["voice"] = True
    return data or None


# -- the dialog -------------------------------------------------------------------------------


def _respond(turn: Turn) -> None:
    conversation = turn.conversation
    if conversation.mode != Mode.BOT:
        _with_staff(turn)
        return
    state = conversation.state
    if state == "survey_comment":
        _on_survey_comment(turn)
        if not intents.is_human(turn.text):
            return
    if intents.is_cancel(turn.text):
        if state != "idle" and state != "survey_comment":
            turn.set_state("idle")
            turn.say(N_("Cancelled. Nothing was submitted."), *_menu(turn))
        else:
            turn.set_state("idle")
            _help(turn)
        return
    if intents.is_human(turn.text):
        _hand_off(turn, reason=HandoffReason.ASKED)
        return
    if state.startswith("wizard_"):
        wizard.step(turn)
        return
    if not turn.text and turn.message.location is None and not turn.message.image:
        _help(turn)
        return
    if state == "faq_feedback" and _on_feedback(turn):
        return
    if state == "suggestions" and _on_suggestion(turn):
        return
    if state == "offer" and _on_offer(turn):
        return
    _idle(turn)


def _menu(turn: Turn) -> list[Any]:
    return [
        turn.choice("提交工单", N_("Submit a ticket")),
        turn.choice("我的工单", N_("My tickets")),
        turn.choice("人工", N_("Talk to a person")),
    ]


def _help(turn: Turn) -> None:
    turn.set_state("idle")
    turn.say(
        N_(
            "Hello, this is the 12345 citizen service hotline. You can:\n"
            "• type a question, e.g. \u201c社保卡丢了怎么补办\u201d\n"
            "• send \u201c提交工单\u201d to submit a consultation, complaint, suggestion, "
            "praise or report\n"
            "• send \u201c查询 ticket number\u201d or \u201c我的工单\u201d to follow your tickets\n"
            "• send \u201c人工\u201d to talk to a person"
        ),
        *_menu(turn),
    )


def _idle(turn: Turn) -> None:
    text = turn.text
    if intents.is_help(text):
        _help(turn)
        return
    if intents.is_my_tickets(text):
        turn.set_state("idle")
        status.show_my_tickets(turn)
        return
    query = intents.status_query(text)
    if query is not None:
        turn.set_state("idle")
        status.show_status(turn, query)
        return
    wanted, kind = intents.new_ticket(text)
    if wanted:
        wizard.start(turn, kind)
        return
    rating = intents.satisfaction(text)
    if rating is not None and _start_survey_answer(turn, rating):
        return
    if not text and turn.message.location is not None:  # kept for the next ticket
        location = turn.message.location
        turn.keep_location(location)
        turn.say(
            N_(
                "Location noted: %(place)s. Send \u201c提交工单\u201d and it will be the place "
                "of your ticket."
            ),
            *_menu(turn),
            place=location.label or f"{location.latitude:.5f}, {location.longitude:.5f}",
        )
        return
    if not text:  # a picture outside the ticket wizard
        turn.say(
            N_("To report a problem at a place, send \u201c提交工单\u201d first."), *_menu(turn)
        )
        return
    _question(turn)


# -- questions and the knowledge base ---------------------------------------------------------


def _feedback_choices(turn: Turn) -> list[Any]:
    return [turn.choice("是", N_("Yes")), turn.choice("否", N_("No"))]


def _answer(turn: Turn, hit: faq.ChatAnswer, others: list[faq.ChatAnswer]) -> None:
    turn.conversation.misses = 0
    turn.say_text(hit.answer)
    turn.say(N_("Did this answer solve your problem?"), *_feedback_choices(turn))
    turn.set_state(
        "faq_feedback",
        suggestions=[s.as_dict() for s in others],
        topic=turn.data.get("topic"),
        topic_dept=hit.department_code,
    )


def _question(turn: Turn) -> None:
    result = faq.search(turn.session, turn.text, channel=turn.conversation.channel)
    topic_dept = result.best or (result.suggestions[0] if result.suggestions else None)
    base = {
        "topic": turn.text[:200],
        "topic_dept": topic_dept.department_code if topic_dept else None,
    }
    turn.conversation.data = {**turn.data, **base}
    if result.best is not None:
        _answer(turn, result.best, result.suggestions)
        return
    if result.suggestions:
        turn.conversation.misses = 0
        _show_suggestions(turn, result.suggestions)
        return
    turn.conversation.misses = (turn.conversation.misses or 0) + 1
    if turn.conversation.misses >= MISSES_BEFORE_HANDOFF:
        turn.say(N_("Sorry, I could not find an answer to that either."))
        _hand_off(turn, reason=HandoffReason.MISSES)
        return
    turn.say(N_("Sorry, I could not find an answer. You can ask in other words, or:"))
    _offer(turn)


def _show_suggestions(turn: Turn, suggestions: list[faq.ChatAnswer]) -> None:
    lines = [turn.t(N_("Did you mean one of these? Reply with its number:"))]
    lines += [f"{i}. {s.question}" for i, s in enumerate(suggestions, start=1)]
    choices = [turn.choice(str(i), None) for i in range(1, len(suggestions) + 1)]
    choices.append(turn.choice("都不是", N_("None of these")))
    turn.say_text("\n".join(lines), *choices)
    turn.set_state(
        "suggestions",
        suggestions=[s.as_dict() for s in suggestions],
        topic=turn.data.get("topic"),
        topic_dept=turn.data.get("topic_dept"),
    )


def _on_feedback(turn: Turn) -> bool:
    if intents.is_yes(turn.text):
        turn.set_state("idle")
        turn.say(N_("Glad it helped. Anything else? Just type your question."))
        return True
    if intents.is_no(turn.text):
        suggestions = [faq.ChatAnswer.from_dict(s) for s in turn.data.get("suggestions") or []]
        if suggestions:
            _show_suggestions(turn, suggestions)
        else:
            turn.say(N_("Sorry about that."))
            _offer(turn)
        return True
    return False


def _on_suggestion(turn: Turn) -> bool:
    suggestions = [faq.ChatAnswer.from_dict(s) for s in turn.data.get("suggestions") or []]
    picked = intents.number_choice(turn.text, len(suggestions))
    if picked is not None:
        hit = suggestions[picked]
        _answer(turn, hit, [])
        return True
    if intents.is_no(turn.text) or intents.command_key(turn.text) in {"都不是", "none"}:
        _offer(turn)
        return True
    return False


def _offer(turn: Turn) -> None:
    turn.set_state("offer", topic=turn.data.get("topic"), topic_dept=turn.data.get("topic_dept"))
    turn.say(
        N_(
            "Would you like to submit a ticket, or talk to a person?\n1 Submit a ticket\n2 Talk to a person"
        ),
        turn.choice("提交工单", N_("Submit a ticket")),
        turn.choice("人工", N_("Talk to a person")),
    )


def _on_offer(turn: Turn) -> bool:
    key = intents.command_key(turn.text)
    if key == "1":
        wizard.start(turn)
        return True
    if key == "2":
        _hand_off(turn, reason=HandoffReason.ASKED)
        return True
    return False


# -- hand-off -----------------------------------------------------------------------------------


def _hand_off(turn: Turn, *, reason: HandoffReason) -> None:
    data = turn.data
    if not is_staffed(clock.now(), turn.config):
        turn.set_state("offer", topic=data.get("topic"), topic_dept=data.get("topic_dept"))
        turn.conversation.misses = 0
        turn.say(
            N_(
                "Our chat staff work %(hours)s; it is outside those hours now. You can submit "
                "a ticket instead and we will handle it as soon as possible, or call 12345."
            ),
            turn.choice("提交工单", N_("Submit a ticket")),
            turn.choice("取消", N_("Cancel")),
            hours=staffed_hours_text(turn.config),
        )
        return
    topic = data.get("topic") or ""
    queue = faq.queue_for(turn.session, topic, data.get("topic_dept"))
    handoff = start_handoff(
        turn.session, turn.conversation, queue=queue, reason=reason, topic=topic or None
    )
    turn.conversation.data = {}
    log.info("chat %s: handed off to the %s queue (%s)", turn.conversation.id, queue, reason)
    turn.say(
        N_(
            "Connecting you to the %(queue)s queue. You are number %(position)s in line; a staff "
            "member will be with you shortly. Send \u201c取消\u201d to stop waiting."
        ),
        queue=turn.t(QUEUE_LABELS[Queue(queue)]),
        position=queue_position(turn.session, handoff),
    )


def _with_staff(turn: Turn) -> None:
    conversation = turn.conversation
    handoff = (
        turn.session.get(Handoff, conversation.handoff_id) if conversation.handoff_id else None
    )
    if (
        handoff is None or handoff.status == HandoffStatus.ENDED
    ):  # ended elsewhere; continue with the bot
        conversation.mode = Mode.BOT.value
        conversation.handoff_id = None
        conversation.state = "idle"
        _respond(turn)
        return
    if conversation.mode == Mode.WAITING:
        if intents.is_cancel(turn.text):
            cancel_handoff(turn.session, conversation)
            turn.say(N_("You have left the queue."), *_menu(turn))
            return
        turn.say(
            N_(
                "Your message has been kept for the staff member who picks up the chat. "
                "You are number %(position)s in line."
            ),
            position=queue_position(turn.session, handoff),
        )
    # With a staff member: the message is theirs; the engine stays quiet.


# -- callback survey (回访) -----------------------------------------------------------------------


def _open_survey_ticket(turn: Turn) -> Ticket | None:
    if turn.conversation.citizen_id is None:
        return None
    return turn.session.scalar(
        select(Ticket)
        .join(Survey, Survey.ticket_id == Ticket.id)
        .where(
            Ticket.citizen_id == turn.conversation.citizen_id,
            Ticket.stage == Stage.CALLBACK.value,
            Survey.answered_at.is_(None),
        )
        .order_by(Survey.sent_at.desc(), Survey.id.desc())
        .limit(1)
    )


def _start_survey_answer(turn: Turn, rating: Satisfaction) -> bool:
    ticket = _open_survey_ticket(turn)
    if ticket is None:
        return False
    # The rating is recorded now; the comment, if any, is added to it afterwards.
    try:
        answer_survey(
            turn.session,
            ticket,
            actor=CitizenActor(turn.conversation.citizen_id, turn.conversation.channel),
            satisfaction=rating.value,
        )
    except DomainError as error:
        turn.say_text(turn.t(error.message, **error.params))
        return True
    turn.set_state("survey_comment", ticket_id=ticket.id, satisfaction=rating.value)
    turn.say(
        N_(
            "Thank you: \u201c%(rating)s\u201d for ticket %(number)s. Would you like to add a "
            "comment? Type it, or send \u201c跳过\u201d."
        ),
        turn.choice("跳过", N_("Skip")),
        rating=turn.t(SATISFACTION_LABELS[rating]),
        number=ticket.number,
    )
    return True


def _on_survey_comment(turn: Turn) -> None:
    data = turn.data
    turn.set_state("idle")
    ticket = turn.session.get(Ticket, data.get("ticket_id"))
    if ticket is None:
        return
    text = turn.text.strip()
    no_comment = (
        not text
        or intents.is_skip(text)
        or intents.is_cancel(text)
        or intents.is_human(text)
        or intents.is_no(text)
    )
    if not no_comment:
        try:
            add_survey_comment(
                turn.session,
                ticket,
                actor=CitizenActor(turn.conversation.citizen_id, turn.conversation.channel),
                comment=text,
            )
        except DomainError as error:
            turn.say_text(turn.t(error.message, **error.params))
            return
    turn.say(
        N_("Your evaluation of ticket %(number)s has been recorded. Thank you."),
        number=ticket.number,
    )


def start_conversation(
    session: Session,
    channel: str,
    user_id: str,
    *,
    config: Mapping[str, Any],
    locale: str | None = None,
) -> Conversation:
    """Open (or resume) a conversation; a new one starts with the welcome and the menu, so a
    channel that opens a chat window (the web) has something to show."""
    conversation = open_conversation(session, channel, user_id, locale=locale)
    if locale and locale != conversation.locale:
        conversation.locale = locale
    has_messages = session.scalar(
        select(ChatMessage.id).where(ChatMessage.conversation_id == conversation.id).limit(1)
    )
    if has_messages is None:
        turn = Turn(
            session,
            conversation,
            InboundMessage(channel, user_id, "", ""),
            config,
            "",
        )
        _help(turn)
        # the welcome of a conversation without messages: no news, updated_at stays
        _add_replies(session, conversation, turn.replies)
    session.flush()
    return conversation
