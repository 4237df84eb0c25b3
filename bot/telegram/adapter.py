"""One Telegram update, translated for the conversation engine (no aiogram here: the routers in
``bot.telegram.routers`` read aiogram's objects into an :class:`Incoming`, this module decides
what it means and runs the engine in one transaction). Every rule stays in ``bot.engine``.

- text and the choice buttons: the engine's text (a button sends its choice's value)
- commands: ``/start``, ``/help``, ``/human``, ``/cancel`` are the engine's own words; ``/new`` is
  提交工单, ``/status`` 我的工单 and ``/status <number> [code]`` 查询 <number> [code]
- a shared location (or venue): the engine's location, which joins the ticket being written
- a photo (or an image sent as a file): ``telegram-file:<file_id>``, attached by the engine to
  the ticket being written; the worker's media job downloads it later (``bot.telegram.media``)
- voice, audio, video notes: a polite "only text is understood"; other kinds: "cannot be read"

The conversation is the private chat (``user_id`` = the chat id, which is what the outbox sends
to); the engine's message id is the Telegram message id (``m<id>``, unique in a chat) or the
callback query id (``q<id>``), so a repeated update is answered without being acted on twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.engine import InboundMessage, Location, Reply, handle_message
from bot.engine.conversations import find_conversation
from bot.telegram.channel import CHANNEL
from core.errors import DomainError
from core.i18n import N_, translate
from core.inputs import check_text
from directory.citizens import mark_reachable

log = logging.getLogger(__name__)

PHOTO_SCHEME = "telegram-file"

# The bot's command menu (setMyCommands) and the engine's words for each command.
COMMANDS: dict[str, str] = {
    "start": "/start",
    "help": "/help",
    "new": "提交工单",
    "status": "我的工单",
    "human": "/human",
}
COMMAND_ALIASES: dict[str, str] = {"cancel": "/cancel"}  # understood, not in the menu
COMMAND_DESCRIPTIONS: dict[str, str] = {
    "start": N_("Start: what this bot can do"),
    "help": N_("Help and the menu"),
    "new": N_("Submit a ticket (complaint, suggestion, report...)"),
    "status": N_("My tickets and their progress"),
    "human": N_("Talk to a person"),
}
# setMyCommands per language: the default list (no language code) in Chinese, and English.
COMMAND_LANGUAGES: dict[str | None, str] = {None: "zh_CN", "en": "en"}

ONLY_TEXT = N_(
    "Sorry, only text is understood here: voice and audio messages cannot be listened to. "
    "Please type your message."
)
UNSUPPORTED = N_(
    "Sorry, this kind of message cannot be read here. Please type your question as text, or "
    "send a photo or your location while submitting a ticket."
)
UNKNOWN_COMMAND = N_("Sorry, that command is not known. Send /help to see what this bot can do.")
EDITED = N_("An edited message is not read again. Please send the correction as a new message.")
PRIVATE_ONLY = N_("Please write to this bot in a private chat.")
SORRY = N_("Sorry, something went wrong on our side. Please try again in a moment, or call 12345.")
BUTTON_EXPIRED = N_("This button is no longer valid. Please type your answer.")


@dataclass(frozen=True)
class Incoming:
    """What a Telegram update carries for the engine."""

    chat_id: str
    message_id: str  # the engine's message id: m<message id> or q<callback query id>
    text: str = ""
    location: Location | None = None
    photo: str | None = None  # a file_id
    language_code: str | None = None


def locale_for(language_code: str | None) -> str | None:
    """The hotline locale of a Telegram user's language (None: keep the conversation's)."""
    code = (language_code or "").lower()
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return None


def command_text(command: str, args: str | None) -> str:
    """The engine's text for a bot command (``/status 261207000001 ABC234`` → 查询 …)."""
    name = command.lower()
    rest = (args or "").strip()
    if name == "status" and rest:
        return f"查询 {rest}"
    return COMMANDS.get(name) or COMMAND_ALIASES.get(name) or f"/{name}"


def inbound(incoming: Incoming) -> InboundMessage:
    image = f"{PHOTO_SCHEME}:{incoming.photo}" if incoming.photo else None
    return InboundMessage(
        CHANNEL,
        incoming.chat_id,
        incoming.message_id,
        text=incoming.text,
        location=incoming.location,
        image=image,
        locale=locale_for(incoming.language_code),
    )


def converse(session: Session, incoming: Incoming, *, config: Mapping[str, Any]) -> list[Reply]:
    """The engine's replies to one update. Flushes; the caller commits."""
    check_text(incoming.chat_id, incoming.message_id, incoming.text, incoming.photo)
    check_text(incoming.language_code, incoming.location.label if incoming.location else None)
    replies = handle_message(session, inbound(incoming), config=config)
    mark_reachable(session, CHANNEL, incoming.chat_id)
    return replies


def locale_of(
    session: Session, chat_id: str, config: Mapping[str, Any], language_code: str | None = None
) -> str:
    conversation = find_conversation(session, CHANNEL, chat_id)
    if conversation is not None and conversation.locale:
        return conversation.locale
    return locale_for(language_code) or str(config.get("DEFAULT_LOCALE") or "zh_CN")


class Hotline:
    """The engine's side of the bot: a session factory, the configuration and the thread pool
    the engine's database work runs in (never on the event loop). One per dispatcher."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        config: Mapping[str, Any],
        *,
        threads: int | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.config = config
        self.executor = ThreadPoolExecutor(
            max_workers=threads or int(config.get("TELEGRAM_THREADS") or 4),
            thread_name_prefix="telegram-engine",
        )

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    def handle(self, incoming: Incoming) -> list[Reply]:
        """One update, one transaction: the engine's replies, committed; a refusal of the domain
        (e.g. text with NUL) is answered with its message and changes nothing."""
        with self.session_factory() as session:
            try:
                replies = converse(session, incoming, config=self.config)
                session.commit()
                return replies
            except DomainError as error:
                session.rollback()
                log.info("Telegram update %s refused: %s", incoming.message_id, error)
                locale = self._locale(session, incoming.chat_id, incoming.language_code)
                return [Reply(error.translated(locale))]
            except BaseException:
                session.rollback()
                raise

    def text(self, message: str, chat_id: str, language_code: str | None = None) -> str:
        """An adapter message in the citizen's language (the default if even that fails)."""
        with self.session_factory() as session:
            return translate(message, self._locale(session, chat_id, language_code))

    def _locale(self, session: Session, chat_id: str, language_code: str | None) -> str:
        try:
            return locale_of(session, chat_id, self.config, language_code)
        except Exception:
            session.rollback()
            log.exception("Telegram chat %s: cannot read the locale", chat_id)
            return str(self.config.get("DEFAULT_LOCALE") or "zh_CN")
