"""``flask --app app telegram ...``: run the bot.

``telegram poll`` (the default way to run it) long-polls the Bot API until Ctrl-C;
``telegram set-webhook`` registers ``/telegram/webhook`` with its secret token instead (the app
then receives the updates); ``telegram delete-webhook`` goes back to polling. Each sets the
command menu in Chinese (the default) and English. aiogram is imported inside the commands only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import click
from flask import Flask

from core.web import database

_T = TypeVar("_T")


def run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run``, also when this thread already runs an event loop (a host that embeds the
    CLI, or a test session with Playwright's sync API): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=run, name="telegram-cli")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def register_cli(app: Flask) -> None:
    @app.cli.group("telegram")
    def telegram_group() -> None:
        """The Telegram bot: long polling or the webhook."""

    @telegram_group.command("poll")
    @click.option("--timeout", default=25, show_default=True, help="Long-polling wait, seconds.")
    def poll(timeout: int) -> None:
        """Run the bot with long polling (getUpdates) until interrupted."""
        from bot.telegram import runtime

        try:
            bot = runtime.make_bot(app.config)
        except runtime.ConfigError as error:
            raise click.ClickException(str(error)) from None
        logging.basicConfig(level=logging.INFO)
        click.echo("Telegram bot: long polling (Ctrl-C to stop)")
        session_factory = database(app).session
        run_coroutine(
            runtime.run_polling(session_factory, app.config, bot=bot, polling_timeout=timeout)
        )

    @telegram_group.command("set-webhook")
    @click.option(
        "--url",
        default=None,
        help="Default: HOTLINE_TELEGRAM_WEBHOOK_URL, else "
        "HOTLINE_PUBLIC_BASE_URL + /telegram/webhook.",
    )
    def set_webhook(url: str | None) -> None:
        """Register the webhook (with the secret token) and the command menu."""
        from aiogram.exceptions import TelegramAPIError

        from bot.telegram import runtime

        try:
            runtime.require_token(app.config)
            target = run_coroutine(runtime.set_webhook(app.config, url=url))
        except runtime.ConfigError as error:
            raise click.ClickException(str(error)) from None
        except TelegramAPIError as error:
            raise click.ClickException(f"Telegram refused the webhook: {error}") from None
        click.echo(f"webhook set: {target}")

    @telegram_group.command("delete-webhook")
    def delete_webhook() -> None:
        """Remove the webhook (to run ``telegram poll`` again)."""
        from aiogram.exceptions import TelegramAPIError

        from bot.telegram import runtime

        try:
            runtime.require_token(app.config)
            run_coroutine(runtime.delete_webhook(app.config))
        except runtime.ConfigError as error:
            raise click.ClickException(str(error)) from None
        except TelegramAPIError as error:
            raise click.ClickException(f"Telegram refused: {error}") from None
        click.echo("webhook deleted")
