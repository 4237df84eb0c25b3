"""What the domains may do on a channel, as data the channel's adapter registers.

Neither the ticket domain nor the engine knows a channel by name: an adapter (``portal``,
``wechat``, ``bot.telegram``, …) calls
:func:`register_channel` from its ``register_channels()``, which the composition root
(``hotline.factory.create_app``) calls at start-up, so the registry never depends on which module
happened to be imported first. A channel nobody registered gets :data:`DEFAULT`: it cannot push,
and a citizen who came through it is reached by SMS when they gave a mobile number
(:data:`FALLBACK_CHANNEL`, e.g. a phone call registered by an operator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ChannelCapabilities:
    # The citizen can be sent a message they did not ask for at that moment (through the outbox).
    can_push: bool
    # How long after the citizen's last message a pushed message is allowed (WeChat customer
    # service messages: 48 hours); None when there is no limit.
    reply_window_hours: int | None = None
    # Messages about a ticket are kept on the ticket's own page (the web inbox: the track page and
    # the web chat show them); the recipient is the ticket number.
    ticket_inbox: bool = False


DEFAULT = ChannelCapabilities(can_push=False, reply_window_hours=None)
# How the outbox reaches any citizen with a mobile number on a channel that cannot push.
FALLBACK_CHANNEL = "sms"

_channels: dict[str, ChannelCapabilities] = {}


def register_channel(name: str, capabilities: ChannelCapabilities) -> None:
    """Declare a channel's capabilities. Registering the same again is harmless (``create_app``
    runs more than once in a process); different capabilities under one name are a mistake."""
    known = _channels.get(name)
    if known is not None and known != capabilities:
        raise ValueError(f"channel {name!r} is already registered as {known}")
    _channels[name] = capabilities


def capabilities(name: str) -> ChannelCapabilities:
    """The registered capabilities of a channel, or :data:`DEFAULT` for an unknown one."""
    return _channels.get(name, DEFAULT)


def registered_channels() -> Mapping[str, ChannelCapabilities]:
    """The registry, read-only."""
    return MappingProxyType(_channels)


def ticket_inbox_channels() -> tuple[str, ...]:
    """The channels whose messages about a ticket are read on the ticket's own page."""
    return tuple(name for name, able in _channels.items() if able.ticket_inbox)
