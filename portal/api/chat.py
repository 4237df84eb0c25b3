"""The web chat's JSON endpoints (citizen side): start, send, poll.

The API blueprint is CSRF-exempt, so these endpoints protect themselves: the citizen is known only
by a signed chat cookie (SameSite=Strict, HttpOnly) that :func:`start` issues, writes must be JSON
(a cross-site form cannot send that without a CORS preflight, which this app never grants), and
each endpoint is rate-limited per chat (or per address before one exists).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, g, jsonify, request
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.engine import InboundMessage, Location, handle_message, start_conversation
from bot.engine.conversations import find_conversation, locked_conversation, messages_after
from bot.engine.models import ChatMessage, Conversation, Handoff
from core.inputs import optional_id
from core.web import current_locale, db_session, limiter
from portal.api.blueprint import bp

CHANNEL = "web"
COOKIE = "hotline_chat"
COOKIE_MAX_AGE = 7 * 24 * 3600
MAX_TEXT = 2000
MAX_CLIENT_ID = 100


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="webchat")


def _chat_token() -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        return str(_serializer().loads(raw, max_age=COOKIE_MAX_AGE))
    except BadSignature:
        return None


def _user_id(token: str) -> str:
    return f"webchat:{token}"


def _rate_key() -> str:
    return _chat_token() or request.remote_addr or "unknown"


class ChatRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@bp.errorhandler(ChatRequestError)
def _chat_error(error: ChatRequestError) -> Any:
    return jsonify({"error": error.message}), error.status


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ChatRequestError(415, gettext("Send the message as JSON."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ChatRequestError(400, gettext("The message could not be read."))
    return body


def _conversation(*, lock: bool = False) -> Conversation:
    """The chat of the cookie's token; ``lock``: locked for the transaction (a turn)."""
    token = _chat_token()
    find = locked_conversation if lock else find_conversation
    conversation = find(db_session(), CHANNEL, _user_id(token)) if token else None
    if conversation is None:
        raise ChatRequestError(401, gettext("The chat has expired. Please reload the page."))
    return conversation


def _after() -> int:
    raw = request.args.get("after") if request.method == "GET" else g.get("chat_after")
    after = optional_id(raw) if raw not in (None, "") else 0
    if after is None:
        raise ChatRequestError(400, gettext("The message could not be read."))
    return after


def _message_json(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "text": message.text,
        "choices": message.choices or [],
        "staff_name": message.staff.display_name if message.staff_id and message.staff else None,
        "at": message.created_at.isoformat(),
    }


def _state(conversation: Conversation, after: int) -> dict[str, Any]:
    session = db_session()
    messages = messages_after(session, conversation.id, after, limit=200)
    handoff = session.get(Handoff, conversation.handoff_id) if conversation.handoff_id else None
    return {
        "mode": conversation.mode,
        "queue": handoff.queue if handoff else None,
        "messages": [_message_json(m) for m in messages],
    }


@bp.post("/chat/start")
@limiter.limit("20 per minute", key_func=_rate_key)
def chat_start() -> Any:
    _json_body()
    existing = _chat_token()
    fresh = existing is None
    token = existing or secrets.token_urlsafe(24)
    conversation = start_conversation(
        db_session(),
        CHANNEL,
        _user_id(token),
        config=current_app.config,
        locale=current_locale(),
    )
    response = jsonify(_state(conversation, 0))
    if fresh:
        response.set_cookie(
            COOKIE,
            _serializer().dumps(token),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
            path="/",
        )
    return response


def _location(raw: Any) -> Location | None:
    if raw is None:
        return None
    try:
        latitude, longitude = float(raw["latitude"]), float(raw["longitude"])
    except (TypeError, KeyError, ValueError):
        raise ChatRequestError(400, gettext("The location could not be read.")) from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ChatRequestError(400, gettext("The location could not be read."))
    label = raw.get("label")
    return Location(latitude, longitude, str(label)[:300] if label else None)


@bp.post("/chat/send")
@limiter.limit("30 per minute", key_func=_rate_key)
def chat_send() -> Any:
    body = _json_body()
    conversation = _conversation(lock=True)
    text = body.get("text", "")
    client_id = body.get("client_id")
    if not isinstance(text, str) or not isinstance(client_id, str) or not client_id:
        raise ChatRequestError(400, gettext("The message could not be read."))
    if len(text) > MAX_TEXT:
        raise ChatRequestError(400, gettext("A message can be at most 2,000 characters."))
    if len(client_id) > MAX_CLIENT_ID:
        raise ChatRequestError(400, gettext("The message could not be read."))
    location = _location(body.get("location"))
    if not text.strip() and location is None:
        raise ChatRequestError(400, gettext("Write a message first."))
    g.chat_after = body.get("after", 0)
    after = _after()  # refused before anything is handled or stored
    handle_message(
        db_session(),
        InboundMessage(
            channel=CHANNEL,
            user_id=conversation.user_id,
            message_id=client_id,
            text=text,
            location=location,
            locale=current_locale(),
        ),
        config=current_app.config,
        locked=conversation,
    )
    return jsonify(_state(conversation, after))


@bp.get("/chat/poll")
@limiter.limit("90 per minute", key_func=_rate_key)
def chat_poll() -> Any:
    conversation = _conversation()
    return jsonify(_state(conversation, _after()))
