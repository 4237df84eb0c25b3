"""Telegram adapter (aiogram). Imported only by the Telegram commands: aiogram is slow to import."""
