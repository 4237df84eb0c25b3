"""The Telegram channel as the engine sees it: what it can do, registered at start-up (light: no
aiogram here, the composition root imports this module)."""

from __future__ import annotations

from delivery.channels import ChannelCapabilities, register_channel

CHANNEL = "telegram"
# A bot may message a user who started it at any time.
CAPABILITIES = ChannelCapabilities(can_push=True, reply_window_hours=None)


def register_channels() -> None:
    register_channel(CHANNEL, CAPABILITIES)
