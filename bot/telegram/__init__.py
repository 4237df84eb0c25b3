"""Telegram adapter (aiogram). aiogram is slow to import: only the Telegram commands import it;
``bot.telegram.channel`` (the channel's capabilities, registered by ``create_app``) never does."""
