"""Running the bot on aiogram: the Bot (pointed at ``TELEGRAM_API_BASE``), the command menu,
long polling, and the webhook's event loop. Imported only by the Telegram commands and the
webhook view, never at app start (aiogram is slow to import).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.types import BotCommand, BotCommandScopeDefault, Update
from aiogram.utils.token import TokenValidationError, validate_token
from sqlalchemy.orm import Session

from bot.telegram.adapter import COMMAND_DESCRIPTIONS, COMMAND_LANGUAGES, Hotline
from bot.telegram.api import DEFAULT_API_BASE
from bot.telegram.routers import build_dispatcher, build_routers
from core.i18n import translate

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts
WEBHOOK_TIMEOUT_SECONDS = 50.0  # Telegram waits about 60 s, then resends


class ConfigError(Exception):
    """The bot cannot run with this configuration (the message says what to set)."""


def require_token(config: Mapping[str, Any]) -> str:
    token = config.get("TELEGRAM_TOKEN")
    if not token:
        raise ConfigError("set HOTLINE_TELEGRAM_TOKEN (the token @BotFather gave the bot)")
    return str(token)


def make_bot(config: Mapping[str, Any]) -> Bot:
    base = str(config.get("TELEGRAM_API_BASE") or DEFAULT_API_BASE).rstrip("/")
    token = require_token(config)
    try:
        validate_token(token)
    except TokenValidationError:
        raise ConfigError("HOTLINE_TELEGRAM_TOKEN is not a bot token (<bot id>:<secret>)") from None
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))


def command_menus() -> dict[str | None, list[BotCommand]]:
    """The command menu per Telegram language code (None: the default list, in Chinese)."""
    return {
        language: [
            BotCommand(command=name, description=translate(description, locale))
            for name, description in COMMAND_DESCRIPTIONS.items()
        ]
        for language, locale in COMMAND_LANGUAGES.items()
    }


async def set_commands(bot: Bot) -> None:
    for language, commands in command_menus().items():
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)


def webhook_url(config: Mapping[str, Any]) -> str:
    configured = str(config.get("TELEGRAM_WEBHOOK_URL") or "").strip()
    if configured:
        return configured
    return str(config.get("PUBLIC_BASE_URL") or "").rstrip("/") + WEBHOOK_PATH


def webhook_secret(config: Mapping[str, Any]) -> str | None:
    secret = config.get("TELEGRAM_WEBHOOK_SECRET")
    return str(secret) if secret else None


def used_update_types() -> list[str]:
    """The update kinds the routers handle (what Telegram is asked to send)."""
    dispatcher = Dispatcher()
    dispatcher.include_routers(*build_routers())
    return dispatcher.resolve_used_update_types()


def new_dispatcher(
    session_factory: Callable[[], Session], config: Mapping[str, Any]
) -> tuple[Dispatcher, Hotline]:
    hotline = Hotline(session_factory, config)
    return build_dispatcher(hotline), hotline


# -- long polling -------------------------------------------------------------------------------


async def run_polling(
    session_factory: Callable[[], Session],
    config: Mapping[str, Any],
    *,
    bot: Bot | None = None,
    dispatcher: Dispatcher | None = None,
    handle_signals: bool = True,
    polling_timeout: int = 25,
) -> None:
    """Long polling until stopped (SIGINT/SIGTERM, or ``dispatcher.stop_polling()``): the
    command menu is set and any webhook removed first (getUpdates refuses while one is set)."""
    hotline: Hotline | None = None
    if dispatcher is None:
        dispatcher, hotline = new_dispatcher(session_factory, config)
    bot = bot or make_bot(config)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await set_commands(bot)
        await dispatcher.start_polling(
            bot,
            handle_signals=handle_signals,
            polling_timeout=polling_timeout,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
    finally:
        await bot.session.close()
        if hotline is not None:
            hotline.close()


async def set_webhook(config: Mapping[str, Any], *, url: str | None = None) -> str:
    """Register the webhook (with the secret token) and the command menu; returns the URL."""
    secret = webhook_secret(config)
    if secret is None or not SECRET_PATTERN.match(secret):
        raise ConfigError(
            "set HOTLINE_TELEGRAM_WEBHOOK_SECRET (1-256 characters: letters, digits, _ and -)"
        )
    target = url or webhook_url(config)
    if not target.startswith("https://"):
        log.warning("Telegram accepts only https webhooks; %s will be refused", target)
    bot = make_bot(config)
    try:
        await bot.set_webhook(target, secret_token=secret, allowed_updates=used_update_types())
        await set_commands(bot)
    finally:
        await bot.session.close()
    return target


# -- the webhook's event loop -------------------------------------------------------------------


class WebhookRuntime:
    """One event loop in a thread for the webhook view: the requests' threads hand it updates
    (:meth:`feed`) and wait for them to be handled. One per app, made on the first update."""

    def __init__(self, session_factory: Callable[[], Session], config: Mapping[str, Any]) -> None:
        self.dispatcher, self.hotline = new_dispatcher(session_factory, config)
        self.bot = make_bot(config)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="telegram-webhook", daemon=True
        )
        self._thread.start()

    def parse(self, data: Any) -> Update:
        """The update, or ValueError (pydantic's ValidationError is one)."""
        if not isinstance(data, dict):
            raise ValueError("an update is a JSON object")
        return Update.model_validate(data, context={"bot": self.bot})

    def feed(self, update: Update, *, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        """Handle one update; an update still at work after ``timeout`` goes on in the
        background (Telegram would resend it)."""
        future = asyncio.run_coroutine_threadsafe(self._feed(update, timeout), self.loop)
        try:
            future.result(timeout + 5)
        except FutureTimeout:
            log.warning("Telegram update %s still at work", update.update_id)
        except Exception:  # the error handler answered the chat; the webhook still says 200
            log.exception("Telegram update %s failed", update.update_id)

    async def _feed(self, update: Update, timeout: float) -> None:
        result: Any = await self.dispatcher.feed_webhook_update(self.bot, update, _timeout=timeout)
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(self.bot, result)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.bot.session.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
        self.hotline.close()


async def delete_webhook(config: Mapping[str, Any]) -> None:
    bot = make_bot(config)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    finally:
        await bot.session.close()
