"""Conversations: the channel-agnostic dialog engine (bot.engine) and channel adapters."""
