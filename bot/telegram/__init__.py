"""Telegram adapter (aiogram 3). aiogram is slow to import: only the Telegram commands
(``bot.telegram.cli``) and the webhook view (``bot.telegram.webhook``, lazily) import it, through
``routers`` and ``runtime``; what ``create_app`` imports (``channel``, ``sender``, ``media``,
``webhook``, ``cli``) never does, and the outbox worker talks to the Bot API over plain HTTP."""
