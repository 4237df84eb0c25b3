"""The bot's routers on aiogram 3: one per feature, built fresh for every dispatcher (a router
attaches to one dispatcher only), the catch-all last. Imported only by the Telegram commands and
the webhook view (aiogram is slow to import).

Every handler reads aiogram's objects into an :class:`~bot.telegram.adapter.Incoming` and hands
it to :class:`Conversations`, which runs the engine in the thread pool (never on the event loop),
one transaction per update, one update of a chat at a time and in order, and sends the replies
(the engine's choices as inline keyboards). Every update is answered: callback queries always
(``answerCallbackQuery``), an error with a polite message; an update id seen before in this
process is not handled again (:class:`SeenUpdates`), and the engine itself answers a message id
it has seen with its first replies without acting twice.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ErrorEvent, InlineKeyboardMarkup, Message, Update

from bot.engine import Location, Reply
from bot.telegram import adapter, keyboards
from bot.telegram.adapter import Hotline, Incoming
from core.i18n import translate

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096  # Telegram's limit for one text message
SEEN_UPDATES = 10_000
_T = TypeVar("_T")


class Conversations:
    """The bridge between the event loop and the engine (put in the dispatcher as ``talk``)."""

    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def chat(self, chat_id: str) -> asyncio.Lock:
        """A chat's updates take turns, in arrival order, engine work and replies alike (so
        that the answers of two quick messages never interleave)."""
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_id] = lock
        return lock

    async def run(self, work: Callable[..., _T], *args: Any) -> _T:
        """``work(*args)`` in the thread pool, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.hotline.executor, work, *args)

    async def text(self, message_id: str, chat_id: str, language_code: str | None) -> str:
        try:
            return await self.run(self.hotline.text, message_id, chat_id, language_code)
        except Exception:
            log.exception("Telegram chat %s: cannot translate a message", chat_id)
            return translate(message_id, adapter.locale_for(language_code))

    async def converse(self, bot: Bot, incoming: Incoming) -> None:
        """The engine's answer to one update (one transaction), sent to the chat."""
        async with self.chat(incoming.chat_id):
            try:
                replies = await self.run(self.hotline.handle, incoming)
            except Exception:
                log.exception("Telegram update %s failed", incoming.message_id)
                text = await self.text(adapter.SORRY, incoming.chat_id, incoming.language_code)
                replies = [Reply(text)]
            await send_replies(bot, incoming.chat_id, replies)

    async def say(self, bot: Bot, chat_id: str, message_id: str, language_code: str | None) -> None:
        """One of the adapter's own messages, in the citizen's language."""
        async with self.chat(chat_id):
            text = await self.text(message_id, chat_id, language_code)
            await bot.send_message(chat_id=chat_id, text=text)


async def send_replies(bot: Bot, chat_id: str, replies: Sequence[Reply]) -> None:
    """Each reply as a message; its choices as an inline keyboard under it."""
    for reply in replies:
        text = reply.text.strip()
        if not text:
            continue
        parts = [text[i : i + MAX_MESSAGE] for i in range(0, len(text), MAX_MESSAGE)]
        markup = keyboards.choice_markup(reply.choices)
        for n, part in enumerate(parts, start=1):
            keyboard = (
                InlineKeyboardMarkup.model_validate(markup) if markup and n == len(parts) else None
            )
            await bot.send_message(chat_id=chat_id, text=part, reply_markup=keyboard)


class SeenUpdates(BaseMiddleware):
    """An update id handled (or being handled) in this process is not handled again: a webhook
    resend while the first delivery is still at work, or after it was answered."""

    def __init__(self, size: int = SEEN_UPDATES) -> None:
        self.size = size
        self._seen: OrderedDict[int, None] = OrderedDict()

    async def __call__(
        self,
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        event: Any,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        update_id = event.update_id
        if update_id in self._seen:
            log.info("Telegram update %s repeated: not handled again", update_id)
            return None
        self._seen[update_id] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        try:
            return await handler(event, data)
        except BaseException:
            self._seen.pop(update_id, None)  # not handled: a resend may try again
            raise


# -- reading aiogram's objects ------------------------------------------------------------------


def _incoming(message: Message, text: str | None = None, **fields: Any) -> Incoming:
    user = message.from_user
    return Incoming(
        chat_id=str(message.chat.id),
        message_id=f"m{message.message_id}",
        text=(message.text or message.caption or "") if text is None else text,
        language_code=user.language_code if user else None,
        **fields,
    )


def _query_incoming(query: CallbackQuery, text: str) -> Incoming:
    return Incoming(
        chat_id=_query_chat(query),
        message_id=f"q{query.id}",
        text=text,
        language_code=query.from_user.language_code,
    )


def _query_chat(query: CallbackQuery) -> str:
    # The buttons are in the private chat, whose id is the user's id.
    message = query.message
    return str(message.chat.id) if message is not None else str(query.from_user.id)


async def _answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Every callback query is answered (the button stops spinning), first thing."""
    try:
        await query.answer(text=text)
    except Exception as error:  # too old, or the network: the update is still handled
        log.warning("Telegram callback query %s not answered: %s", query.id, error)


def _photo(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id  # the largest size
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return document.file_id
    return None


def _location(message: Message) -> Location | None:
    if message.venue is not None:
        venue = message.venue
        label = " ".join(part for part in (venue.title, venue.address) if part).strip()
        return Location(venue.location.latitude, venue.location.longitude, label or None)
    if message.location is not None:
        return Location(message.location.latitude, message.location.longitude)
    return None


# -- the routers --------------------------------------------------------------------------------


def _private_only() -> Router:
    router = Router(name="private-only")

    @router.message(F.chat.type != "private")
    async def elsewhere(message: Message, bot: Bot, talk: Conversations) -> None:
        user = message.from_user
        await talk.say(
            bot, str(message.chat.id), adapter.PRIVATE_ONLY, user.language_code if user else None
        )

    return router


def _start_help() -> Router:
    router = Router(name="start-help")

    @router.message(Command("start", "help", ignore_case=True))
    async def start_help(
        message: Message, bot: Bot, talk: Conversations, command: CommandObject
    ) -> None:
        text = adapter.command_text(command.command, None)  # a /start payload is not used
        await talk.converse(bot, _incoming(message, text))

    return router


def _questions() -> Router:
    router = Router(name="questions")

    @router.message(F.text, ~F.text.startswith("/"))
    async def question(message: Message, bot: Bot, talk: Conversations) -> None:
        await talk.converse(bot, _incoming(message))

    return router


def _intake() -> Router:
    router = Router(name="intake")

    @router.message(Command("new", ignore_case=True))
    async def new_ticket(message: Message, bot: Bot, talk: Conversations) -> None:
        await talk.converse(bot, _incoming(message, adapter.command_text("new", None)))

    @router.message(F.venue | F.location)
    async def location(message: Message, bot: Bot, talk: Conversations) -> None:
        await talk.converse(bot, _incoming(message, "", location=_location(message)))

    @router.message(F.photo | F.document.mime_type.startswith("image/"))
    async def photo(message: Message, bot: Bot, talk: Conversations) -> None:
        await talk.converse(bot, _incoming(message, photo=_photo(message)))

    return router


def _status() -> Router:
    router = Router(name="status")

    @router.message(Command("status", ignore_case=True))
    async def status(
        message: Message, bot: Bot, talk: Conversations, command: CommandObject
    ) -> None:
        await talk.converse(bot, _incoming(message, adapter.command_text("status", command.args)))

    return router


def _survey() -> Router:
    router = Router(name="survey")

    @router.callback_query(F.data.startswith(keyboards.RATING))
    async def rating(query: CallbackQuery, bot: Bot, talk: Conversations) -> None:
        await _answer_query(query)
        word = keyboards.rating_word(query.data)
        chat_id = _query_chat(query)
        if word is None:
            await talk.say(bot, chat_id, adapter.BUTTON_EXPIRED, query.from_user.language_code)
            return
        await talk.converse(bot, _query_incoming(query, word))

    return router


def _handoff() -> Router:
    router = Router(name="handoff")

    @router.message(Command("human", "cancel", ignore_case=True))
    async def human(
        message: Message, bot: Bot, talk: Conversations, command: CommandObject
    ) -> None:
        await talk.converse(bot, _incoming(message, adapter.command_text(command.command, None)))

    return router


def _choices() -> Router:
    router = Router(name="choices")

    @router.callback_query(F.data.startswith(keyboards.CHOICE))
    async def choice(query: CallbackQuery, bot: Bot, talk: Conversations) -> None:
        await _answer_query(query)
        value = keyboards.choice_value(query.data)
        if value is None:
            await talk.say(
                bot, _query_chat(query), adapter.BUTTON_EXPIRED, query.from_user.language_code
            )
            return
        await talk.converse(bot, _query_incoming(query, value))

    return router


def _voice() -> Router:
    router = Router(name="voice")

    @router.message(F.voice | F.audio | F.video_note)
    async def voice(message: Message, bot: Bot, talk: Conversations) -> None:
        user = message.from_user
        await talk.say(
            bot, str(message.chat.id), adapter.ONLY_TEXT, user.language_code if user else None
        )

    return router


def _catch_all() -> Router:
    router = Router(name="catch-all")

    @router.message()
    async def anything(message: Message, bot: Bot, talk: Conversations) -> None:
        user = message.from_user
        text = message.text or ""
        reply = adapter.UNKNOWN_COMMAND if text.startswith("/") else adapter.UNSUPPORTED
        await talk.say(bot, str(message.chat.id), reply, user.language_code if user else None)

    @router.edited_message(F.chat.type == "private")
    async def edited(message: Message, bot: Bot, talk: Conversations) -> None:
        user = message.from_user
        await talk.say(
            bot, str(message.chat.id), adapter.EDITED, user.language_code if user else None
        )

    @router.callback_query()
    async def other_button(query: CallbackQuery, talk: Conversations) -> None:
        text = await talk.text(
            adapter.BUTTON_EXPIRED, _query_chat(query), query.from_user.language_code
        )
        await _answer_query(query, text)

    return router


FEATURES: tuple[Callable[[], Router], ...] = (
    _private_only,
    _start_help,
    _status,
    _intake,
    _handoff,
    _survey,
    _choices,
    _questions,
    _voice,
    _catch_all,  # last
)


def build_routers() -> list[Router]:
    """Fresh routers, in the order they are tried (a router attaches to one dispatcher)."""
    return [feature() for feature in FEATURES]


async def _on_error(event: ErrorEvent, bot: Bot, talk: Conversations) -> bool:
    """Anything a handler did not catch (a reply that could not be sent, a bug): logged, and
    the chat told politely if it can be; the bot goes on."""
    update = event.update
    log.error("Telegram update %s failed", update.update_id, exc_info=event.exception)
    message = update.message or update.edited_message
    query = update.callback_query
    try:
        if message is not None:
            user = message.from_user
            code = user.language_code if user else None
            await talk.say(bot, str(message.chat.id), adapter.SORRY, code)
        elif query is not None:
            await talk.say(bot, _query_chat(query), adapter.SORRY, query.from_user.language_code)
    except Exception as error:
        log.warning(
            "Telegram update %s: the apology could not be sent: %s", update.update_id, error
        )
    return True


def build_dispatcher(hotline: Hotline) -> Dispatcher:
    """A dispatcher with the hotline's routers, the repeated-update guard and the error
    handler; handlers get the :class:`Conversations` as ``talk``."""
    dispatcher = Dispatcher(name="hotline")
    dispatcher["talk"] = Conversations(hotline)
    dispatcher.update.outer_middleware(SeenUpdates())
    dispatcher.errors.register(_on_error)
    dispatcher.include_routers(*build_routers())
    return dispatcher
