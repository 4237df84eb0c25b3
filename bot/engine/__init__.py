"""The channel-agnostic dialog engine: ``handle_message(session, InboundMessage(...), config=...)``
returns the replies; channels (web chat, WeChat, Telegram) only translate."""

from bot.engine.dialog import handle_message, start_conversation
from bot.engine.types import Choice, InboundMessage, Location, Reply

__all__ = ["Choice", "InboundMessage", "Location", "Reply", "handle_message", "start_conversation"]
