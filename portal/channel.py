"""The web portal's channel as the domains see it: it cannot push (the web chat polls), and the
hotline's messages about a ticket are kept on the ticket's own page (the web inbox)."""

from __future__ import annotations

from delivery.channels import ChannelCapabilities, register_channel

CHANNEL = "web"
CAPABILITIES = ChannelCapabilities(can_push=False, ticket_inbox=True)


def register_channels() -> None:
    register_channel(CHANNEL, CAPABILITIES)
