"""``GET/POST /wechat``: the official account's server URL (服务器配置).

GET is WeChat's server verification (echo ``echostr`` when the signature holds). POST is one
message or event: signature and clock first, then the body's size and the XML screen, then
decryption, parsing, the engine, one commit, and the passive reply in the mode the message came
in (or, when the answer took too long for WeChat's 5 seconds, a customer-service message the
worker sends). A refused request gets a 4xx and is never processed; nothing here answers 500 (WeChat would
tell the citizen "该公众号暂时无法提供服务"): an unexpected error becomes a polite reply.
Off (404) unless ``WECHAT_TOKEN`` is configured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from core import clock
from core.errors import DomainError
from core.i18n import translate
from core.web import db_session, limiter
from wechat import adapter
from wechat.protocol import (
    MAX_BODY,
    SUCCESS,
    ConfigError,
    ProtocolError,
    Settings,
    check_plain_signature,
    check_request,
    open_body,
    parse,
    passive_reply,
    screen_xml,
)

log = logging.getLogger(__name__)

bp = Blueprint("wechat", __name__)

# WeChat waits 5 seconds for the passive reply, then resends (three times at most). An answer
# that took longer than this is not given passively: the worker sends it as a customer-service
# message instead, once, and the resends are answered with "success".
PASSIVE_REPLY_SECONDS = 4.0


def _settings() -> Settings:
    try:
        settings = Settings.from_config(current_app.config)
    except ConfigError as error:
        log.error("WeChat channel misconfigured, answering 404: %s", error)
        abort(404)
    if settings is None:
        abort(404)
    return settings


def _text(body: str, status: int = 200, mimetype: str = "text/plain") -> Response:
    return Response(body, status=status, mimetype=mimetype)


@bp.route("", methods=["GET", "POST"], strict_slashes=False)
@limiter.exempt
def endpoint() -> Any:
    settings = _settings()
    try:
        if request.method == "GET":
            check_plain_signature(settings, request.args)
            echo = request.args.get("echostr")
            if not echo:
                raise ProtocolError(400, "no echostr")
            return _text(echo)
        return _receive(settings)
    except ProtocolError as error:
        log.warning("WeChat request refused (%s): %s", error.status, error.reason)
        return _text(error.reason, error.status)


def _body() -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ProtocolError(413, "body too large")
    data = request.stream.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise ProtocolError(413, "body too large")
    return bytes(data)


def _locale(openid: str) -> str:
    """The citizen's language for an error reply (the default if even that cannot be read)."""
    config = current_app.config
    try:
        return adapter.locale_of(db_session(), openid, config)
    except Exception:
        db_session().rollback()
        return str(config.get("DEFAULT_LOCALE") or "zh_CN")


def _passive_budget(config: Mapping[str, Any]) -> float:
    """Seconds an answer may take and still be a passive reply: WeChat waits 5, then resends."""
    return float(config.get("WECHAT_PASSIVE_REPLY_SECONDS", PASSIVE_REPLY_SECONDS))


def _receive(settings: Settings) -> Response:
    now = clock.now()
    args = request.args
    check_request(settings, args, now)
    text = screen_xml(_body())
    xml, encrypted = open_body(settings, text, args)
    incoming = parse(xml)
    config = current_app.config
    session = db_session()
    started = time.monotonic()
    try:
        reply = adapter.handle(session, incoming, config=config)
        if reply and adapter.answered_late(session, incoming):
            reply = None  # a resend of a message whose answer is already on its way
        elif reply and time.monotonic() - started > _passive_budget(config):
            adapter.queue_late_reply(session, incoming, reply, locale=_locale(incoming.sender))
            reply = None
        session.commit()
    except DomainError as error:
        session.rollback()
        log.info("WeChat message %s refused: %s", incoming.message_id, error)
        reply = error.translated(_locale(incoming.sender))
    except Exception:
        session.rollback()
        if config.get("TESTING") and config.get("PROPAGATE_UNEXPECTED", True):
            raise
        log.exception("WeChat message %s failed", incoming.message_id)
        reply = translate(adapter.SORRY, _locale(incoming.sender))
    if not reply:
        return _text(SUCCESS)
    body = passive_reply(
        settings,
        incoming,
        reply,
        encrypted=encrypted,
        nonce=args.get("nonce") or "",
        now=clock.now(),
    )
    return _text(body, mimetype="application/xml")
