"""Staff console: the chat queue (waiting hand-offs with their wait and queue, 专席/综合), pick up,
reply with or without a canned reply, end, and convert a chat into a ticket."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from bot.engine import handoff as chats
from bot.engine.models import QUEUE_LABELS, ChatMessage, Handoff, Queue
from core.errors import DomainError, ValidationError
from core.i18n import N_
from core.inputs import optional_id
from core.web import db_session
from portal.staff.auth import current_staff, require_action
from portal.staff.blueprint import bp
from portal.staff.nav import register_nav
from tickets.access import can
from tickets.canned import list_canned_replies
from tickets.models import KIND_LABELS, Kind
from tickets.workflow import TicketDraft

register_nav("staff.chat_queue", N_("Chats"), "chat", 40)

LONG_WAIT_SECONDS = 25  # the service target for the average wait (平均排队时间)


def _canned() -> list[Any]:
    return list_canned_replies(db_session(), scope="chat")


def _wait_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _queued_json(item: chats.QueuedChat) -> dict[str, Any]:
    return {
        "id": item.handoff.id,
        "queue": item.handoff.queue,
        "queue_label": gettext(QUEUE_LABELS[Queue(item.handoff.queue)]),
        "channel": item.conversation.channel,
        "topic": item.handoff.topic or "",
        "last_text": item.last_text or "",
        "wait_seconds": int(item.wait_seconds),
        "wait": _wait_text(item.wait_seconds),
        "long": item.wait_seconds > LONG_WAIT_SECONDS,
        "url": url_for("staff.chat_view", handoff_id=item.handoff.id),
    }


def _queue_filter() -> str | None:
    queue = request.args.get("queue") or None
    return queue if queue in {q.value for q in Queue} else None


@bp.get("/chat/")
def chat_queue() -> Any:
    staff = require_action("chat")
    session = db_session()
    queue = _queue_filter()
    return render_template(
        "staff/chat/queue.html",
        waiting=[
            _queued_json(i) for i in chats.list_waiting_chats(session, actor=staff, queue=queue)
        ],
        mine=[_queued_json(i) for i in chats.list_my_chats(session, actor=staff)],
        queue=queue,
        queue_labels=QUEUE_LABELS,
    )


@bp.get("/api/chat/queue")
def chat_queue_json() -> Any:
    staff = require_action("chat")
    session = db_session()
    waiting = chats.list_waiting_chats(session, actor=staff, queue=_queue_filter())
    mine = chats.list_my_chats(session, actor=staff)
    return jsonify(
        {"waiting": [_queued_json(i) for i in waiting], "mine": [_queued_json(i) for i in mine]}
    )


@bp.post("/chat/<int:handoff_id>/pick-up")
def chat_pick_up(handoff_id: int) -> Any:
    staff = require_action("chat")
    try:
        chats.pick_up_chat(db_session(), handoff_id, actor=staff)
    except chats.ChatError as error:
        flash(gettext(error.message, **error.params), "error")
        return redirect(url_for("staff.chat_queue"))
    return redirect(url_for("staff.chat_view", handoff_id=handoff_id))


def _message_json(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "text": message.text,
        "staff_name": message.staff.display_name if message.staff else None,
    }


@bp.get("/chat/<int:handoff_id>")
def chat_view(handoff_id: int) -> Any:
    staff = require_action("chat")
    session = db_session()
    handoff = chats.get_handoff(session, handoff_id, actor=staff)
    messages = chats.transcript(session, handoff)
    return render_template(
        "staff/chat/view.html",
        handoff=handoff,
        conversation=handoff.conversation,
        messages=[_message_json(m) for m in messages],
        last_id=messages[-1].id if messages else 0,
        mine=handoff.status == "active" and handoff.picked_up_by_id == staff.id,
        canned=_canned(),
        queue_labels=QUEUE_LABELS,
        wait=_wait_text(handoff.wait_seconds) if handoff.wait_seconds is not None else None,
        can_convert=can(staff, "submit"),
        error=None,
        text="",
    )


@bp.get("/api/chat/<int:handoff_id>/messages")
def chat_messages_json(handoff_id: int) -> Any:
    staff = require_action("chat")
    session = db_session()
    handoff = chats.get_handoff(session, handoff_id, actor=staff)
    after = optional_id(request.args.get("after")) or 0
    messages = chats.transcript(session, handoff, after_id=after)
    return jsonify({"status": handoff.status, "messages": [_message_json(m) for m in messages]})


@bp.post("/chat/<int:handoff_id>/reply")
def chat_reply(handoff_id: int) -> Any:
    staff = require_action("chat")
    session = db_session()
    handoff = chats.get_handoff(session, handoff_id, actor=staff)
    text = request.form.get("text", "").strip()
    canned_id = optional_id(request.form.get("canned_id"))
    if not text and canned_id is not None:
        text = next((c.body for c in _canned() if c.id == canned_id), "")
    try:
        chats.send_staff_reply(session, handoff, text, actor=staff)
    except ValidationError as error:
        flash(gettext(next(iter(error.fields.values()))), "error")
    except chats.ChatError as error:
        flash(gettext(error.message, **error.params), "error")
    return redirect(url_for("staff.chat_view", handoff_id=handoff_id) + "#reply")


@bp.post("/chat/<int:handoff_id>/end")
def chat_end(handoff_id: int) -> Any:
    staff = require_action("chat")
    session = db_session()
    handoff = chats.get_handoff(session, handoff_id, actor=staff)
    try:
        chats.end_chat(session, handoff, actor=staff)
    except chats.ChatError as error:
        flash(gettext(error.message, **error.params), "error")
        return redirect(url_for("staff.chat_view", handoff_id=handoff_id))
    flash(gettext("The chat has ended."), "success")
    return redirect(url_for("staff.chat_queue"))


@bp.route("/chat/<int:handoff_id>/ticket", methods=["GET", "POST"])
def chat_convert(handoff_id: int) -> Any:
    staff = require_action("chat")
    session = db_session()
    handoff: Handoff = chats.get_handoff(session, handoff_id, actor=staff)
    prefill = chats.prefill_ticket(session, handoff)
    form = {
        "kind": prefill.kind,
        "description": prefill.description,
        "address": prefill.address or "",
        "phone": prefill.phone or "",
        "anonymous": False,
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {
            "kind": request.form.get("kind", ""),
            "description": request.form.get("description", ""),
            "address": request.form.get("address", ""),
            "phone": request.form.get("phone", ""),
            "anonymous": request.form.get("anonymous") == "on",
        }
        draft = TicketDraft(
            kind=str(form["kind"]),
            description=str(form["description"]),
            address=str(form["address"]),
            phone=str(form["phone"]),
            anonymous=bool(form["anonymous"]),
            latitude=prefill.latitude,
            longitude=prefill.longitude,
        )
        try:
            ticket = chats.convert_chat_to_ticket(session, handoff, draft, actor=staff)
        except ValidationError as error:
            errors = {k: gettext(v) for k, v in error.fields.items()}
            status = 422
        except DomainError as error:
            flash(gettext(error.message, **error.params), "error")
            return redirect(url_for("staff.chat_view", handoff_id=handoff_id))
        else:
            flash(
                gettext(
                    "Ticket %(number)s has been registered from the chat.", number=ticket.number
                ),
                "success",
            )
            return redirect(url_for("staff.chat_view", handoff_id=handoff_id))
    return (
        render_template(
            "staff/chat/convert.html",
            handoff=handoff,
            form=form,
            errors=errors,
            kinds=[(k.value, KIND_LABELS[k]) for k in Kind],
            staff=current_staff(),
        ),
        status,
    )
