"""The outbox's sender for channel ``telegram``: staff chat replies, status pushes and the survey
(with rating buttons) to a citizen's private chat, over plain HTTP (``bot.telegram.api``; no
aiogram in the worker).

- The survey (``ticket_answered``, ``survey_reminder``: messages with a survey link) carries the
  rating buttons 满意 / 基本满意 / 不满意; a press comes back to the bot as a callback query the
  engine answers like the typed word.
- 403 (the citizen blocked the bot, or deleted their account): the identity is marked unreachable
  (until they write again) and the message is a dead letter; a citizen already marked so is not
  tried. Other 4xx (chat not found, a bad request) are dead letters too, except 401/404 (the
  token: an operator fixes it) and 429 (rate limited: retried after Telegram's ``retry_after``).
- 5xx, timeouts and a Bot API that cannot be reached are retried with the worker's backoff.

:func:`register_senders` is called once by the composition root (``hotline.factory``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.telegram.api import BotApi, BotApiError
from bot.telegram.channel import CHANNEL
from bot.telegram.keyboards import rating_markup
from delivery.senders import (
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    register_sender,
    unregister_sender,
)
from directory.citizens import find_identity, mark_unreachable

log = logging.getLogger(__name__)

MAX_TEXT = 4096
# Wrong or revoked token: the Bot API answers 401 (or 404 for a malformed one); retried until an
# operator fixes the configuration, like WeChat's credential codes.
CREDENTIAL_STATUSES = frozenset({401, 404})


@dataclass
class TelegramSender:
    """The sender the outbox worker calls (one per process, shared by its worker threads)."""

    api: BotApi
    session_factory: Callable[[], Session]

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], session_factory: Callable[[], Session]
    ) -> TelegramSender:
        return cls(api=BotApi.from_config(config), session_factory=session_factory)

    def __call__(self, message: Outgoing) -> None:
        chat_id = message.recipient
        if self._unreachable(chat_id):
            raise PermanentFailure("the citizen blocked the bot")
        text = message.text if len(message.text) <= MAX_TEXT else message.text[: MAX_TEXT - 1] + "…"
        markup = rating_markup(message.locale) if message.extra.get("survey_link") else None
        try:
            self.api.send_message(chat_id, text, reply_markup=markup)
        except BotApiError as error:
            raise self._failure(chat_id, message, error) from None

    def _failure(self, chat_id: str, message: Outgoing, error: BotApiError) -> Exception:
        status = error.status
        if status is None or status >= 500 or status in CREDENTIAL_STATUSES:
            return TemporaryFailure(str(error))
        if status == 429:
            return TemporaryFailure(str(error), retry_after=error.retry_after)
        if status == 403:
            log.info("message %s: %s; the chat is marked unreachable", message.id, error)
            self._mark_unreachable(chat_id)
        return PermanentFailure(str(error))

    def _unreachable(self, chat_id: str) -> bool:
        with self.session_factory() as session, session.begin():
            identity = find_identity(session, CHANNEL, chat_id)
            if identity is None or identity.unreachable_at is None:
                return False
            seen = identity.last_seen_at
            return seen is None or seen <= identity.unreachable_at

    def _mark_unreachable(self, chat_id: str) -> None:
        with self.session_factory() as session, session.begin():
            mark_unreachable(session, CHANNEL, chat_id)


def register_senders(config: Mapping[str, Any], session_factory: Callable[[], Session]) -> bool:
    """Plug the Telegram sender into the outbox when a token is configured; otherwise make sure
    none is left from an earlier app in this process, so that Telegram messages wait, pending.
    Returns whether the sender is registered."""
    if not config.get("TELEGRAM_TOKEN"):
        unregister_sender(CHANNEL)
        return False
    register_sender(CHANNEL, TelegramSender.from_config(config, session_factory))
    return True
