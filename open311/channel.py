"""The Open311 channel as the domains see it: a system or app files the request on the citizen's
behalf and reads its status by polling (GET requests), so the hotline cannot push to it; a
citizen who gave a mobile number is reached by SMS (``delivery.channels.FALLBACK_CHANNEL``)."""

from __future__ import annotations

from delivery.channels import ChannelCapabilities, register_channel

CHANNEL = "open311"
CAPABILITIES = ChannelCapabilities(can_push=False, reply_window_hours=None)


def register_channels() -> None:
    register_channel(CHANNEL, CAPABILITIES)
