"""``POST /telegram/webhook``: the bot's webhook (``flask --app app telegram set-webhook``
registers it with Telegram).

Off (404) unless both ``TELEGRAM_TOKEN`` and ``TELEGRAM_WEBHOOK_SECRET`` are set. Telegram sends
the secret in ``X-Telegram-Bot-Api-Secret-Token``; a request without it (or with another) gets
403 and is never read further. A body over 256 KB gets 413, one that is not an update 400.
Anything else is handled (the same routers as long polling, on an event loop of its own that this
view hands the update to) and answered 200, even when handling failed: the citizen was told
politely, and a non-2xx answer would only make Telegram resend it.

aiogram is imported here lazily, on the first update, never at app start.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from core.web import database, limiter

log = logging.getLogger(__name__)

bp = Blueprint("telegram", __name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024
EXTENSION = "telegram_webhook"
_lock = threading.Lock()


def _empty(status: int) -> Response:
    return Response("", status=status, mimetype="text/plain")


def _runtime() -> Any:
    """The app's webhook runtime, made on the first update."""
    from bot.telegram.runtime import WebhookRuntime

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _lock:
        runtime = app.extensions.get(EXTENSION)
        if runtime is None:
            runtime = WebhookRuntime(database(app).session, app.config)
            app.extensions[EXTENSION] = runtime
    return runtime


def close_runtime(app: Any) -> None:
    """Stop the app's webhook runtime, if it was started (tests; a clean shutdown)."""
    with _lock:
        runtime = app.extensions.pop(EXTENSION, None)
    if runtime is not None:
        runtime.close()


@bp.post("/webhook")
@limiter.exempt
def webhook() -> Response:
    config = current_app.config
    expected = config.get("TELEGRAM_WEBHOOK_SECRET")
    if not (config.get("TELEGRAM_TOKEN") and expected):
        abort(404)
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode("utf-8"), str(expected).encode("utf-8")):
        log.warning("Telegram webhook refused: wrong or missing secret token")
        return _empty(403)
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _empty(413)
    raw = request.get_data(cache=True)  # the input policy may have read it already
    if len(raw) > MAX_BODY:
        return _empty(413)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return _empty(400)
    try:
        runtime = _runtime()
    except Exception:  # a token aiogram refuses: the operator must fix the configuration
        log.exception("Telegram webhook cannot start")
        return _empty(503)
    try:
        update = runtime.parse(data)
    except ValueError as error:
        log.warning("Telegram webhook: not an update: %s", str(error)[:200])
        return _empty(400)
    runtime.feed(update)
    return _empty(200)
